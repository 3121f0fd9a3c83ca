"""Adaptive concurrency: how many requests may be in flight, learnt from the server's 429s.

**Slow start.** A run starts with :data:`INITIAL_WINDOW` requests in flight (or fewer when the
concurrency is lower), and every answer adds one more, so the window doubles each round trip
until it reaches the configured ``concurrency`` or the first 429 (as TCP's slow start). That
429 halves the window (it doubled past what fits in the last round trip; 0.8 of it would still
be far above), and cuts it further to the answers of that round trip when they are counted:
what the server just showed it takes. A run started at concurrency
32 against a server that takes 2 at once sends 8, not 32, before it hears a 429; a server with
room reaches 32 in two round trips. The initial window is also all
that reaches a server that cannot work (a wrong URL or key) before its error stops the run.

**Then AIMD** (additive increase, multiplicative decrease, as TCP does): every answer widens the
window by ``0.1 / window`` (one more request every ten round trips); a 429 cuts it to 0.8 of
itself. A 429 for a request sent before the last cut is an echo of the same overload and trims
only 7%: so a burst of 429s falls to the server's capacity within one round trip, while one
stray 429 in steady state costs one slot, not half the window. A cut always gives back at least
one whole slot: at a few slots, 0.8 of the limit can leave the window where it was (3.9 to 3.1
is still 3), and the window that drew the 429 would draw the next. Near the last cut (within
10% of it, or from one slot under the window that drew it) the increase is ``patience`` (8)
times slower: the level that just drew a 429 is probed again rarely, not every few round trips
(at 20 requests/s and 100 ms answers the window that fits is 2, and probing 3 every second was
most of the 429s). The window never exceeds the
configured ``concurrency`` nor drops below 1. The constants were tuned on bench/rate_limit.py
(token buckets of 20 and 40 requests/s, 100 ms answers) and bench/live.py (a 200 ms stub that
takes everything): see bench/NOTES.md.

A ``Retry-After`` on a 429 pauses every new request until then: the server said when it will
take more, and whoever asks earlier only spends a request to hear another 429. When the pause
ends one request goes first and the window reopens with its answer (every request told "in
50 ms" would otherwise meet the one token the server has then). In slow start, the slot an
answer frees and the one it adds are used 20 ms later, so 429s that arrived with it are read
first (a few round trips at the start of a run pay 20 ms each for it).

:class:`Aimd` is the arithmetic alone (no clock, no asyncio); :class:`RateController` adds the
waiting, with the clock and the sleep injectable so its tests need no real time. It is wired
into :class:`llmx.model.retry.RetryPolicy`, so it gates every HTTP attempt, retries included.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

INITIAL_WINDOW = 8  # requests in flight before the first answer
SLOW_START_LAG = 0.02  # seconds before the slots slow start adds are used (see RateController.release)
SLOW_START_GROWTH = 1.0  # slots each answer adds in slow start: the window doubles each round trip


@dataclass
class Aimd:
    ceiling: int
    floor: int = 1
    initial: int = INITIAL_WINDOW
    growth: float = SLOW_START_GROWTH  # slots added per answer in slow start
    increase: float = 0.1  # slots added per window of answers, after slow start
    decrease: float = 0.8  # on a 429 for a request sent under the current window
    slow_start_decrease: float = 0.5  # on the 429 that ends slow start: the window doubled past what fits
    echo_decrease: float = 0.93  # on a 429 for one sent before the last cut
    patience: float = 8.0  # how much slower the increase is near the window of the last cut
    limit: float = field(init=False)
    generation: int = 0  # bumped at each cut; a 429 from an older generation does not cut again
    slow_start: bool = field(init=False)
    last_cut: float = field(init=False, default=0.0)  # the limit a 429 last cut from (0: none yet)

    def __post_init__(self) -> None:
        self.limit = float(max(self.floor, min(self.ceiling, self.initial)))
        self.slow_start = self.limit < self.ceiling

    @property
    def window(self) -> int:
        return max(self.floor, int(self.limit))

    @property
    def failed_window(self) -> int:
        """The window in force at the last cut (the one that drew the 429)."""
        return max(self.floor, int(self.last_cut))

    def succeeded(self) -> None:
        if self.slow_start:  # ``growth`` more per answer: x(1 + growth) each round trip
            self.limit = min(float(self.ceiling), self.limit + self.growth)
            self.slow_start = self.limit < self.ceiling
            return
        step = self.increase / self.limit
        if self.last_cut and min(0.9 * self.last_cut, self.failed_window - 1) <= self.limit <= 1.1 * self.last_cut:
            step /= self.patience
        self.limit = min(float(self.ceiling), self.limit + step)

    def throttled(self, sent_in: int, answered: float | None = None) -> bool:
        """A 429 for a request sent in generation ``sent_in``; True when it was a new cut (not an
        echo). ``answered``: how many requests the server answered in the last round trip; the
        429 that ends slow start cuts to it (the window doubled past what the server takes, and
        0.8 of the doubled window would still be far above it)."""
        ending_slow_start, self.slow_start = self.slow_start, False
        if sent_in < self.generation:
            self.limit = max(float(self.floor), self.limit * self.echo_decrease)
            return False
        self.last_cut = self.limit
        self.limit *= self.slow_start_decrease if ending_slow_start else self.decrease
        if ending_slow_start and answered is not None:
            self.limit = min(self.limit, answered)
        # At a few slots 0.8 of the limit can leave the window where it was (3.9 -> 3.1): a cut
        # always gives back at least one whole slot.
        self.limit = max(float(self.floor), min(self.limit, self.failed_window - 1.0))
        self.generation += 1
        return True


@dataclass(frozen=True)
class Ticket:
    """One admitted request: when it was admitted, and under which generation of the window."""

    generation: int
    admitted_at: float = 0.0


@dataclass
class RateStats:
    admitted: int = 0
    succeeded: int = 0
    throttled: int = 0
    cuts: int = 0
    lowest_window: int = 0


class RateController:
    """At most ``window`` requests in flight, none before a pause asked by ``Retry-After`` ends.

    Waiters are served first come, first served: a released slot is handed to the oldest waiter
    directly, so a newcomer cannot jump the queue. Used from one event loop at a time."""

    def __init__(
        self,
        ceiling: int,
        max_pause: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        initial: int = INITIAL_WINDOW,
    ) -> None:
        self.aimd = Aimd(ceiling, initial=initial)
        self.max_pause = max_pause
        self.clock = clock
        self.sleep = sleep
        self.in_flight = 0
        self.resume_at = 0.0
        self.stats = RateStats(lowest_window=self.aimd.window)
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._answers: deque[float] = deque()  # when recent answers came (the last few seconds)
        self._latency: float | None = None  # a moving average of an answer's round trip
        self._paused = False  # a Retry-After pause was asked and no request sent since has been answered
        self._paused_at = 0.0
        self._held = 0  # slots slow start added less than SLOW_START_LAG ago: not used yet

    @property
    def window(self) -> int:
        return self.aimd.window

    @property
    def _open(self) -> int:
        """Slots open now: after a Retry-After pause, one request goes first and the window
        reopens with its answer (all those told "after 50 ms" would otherwise meet one token)."""
        return 1 if self._paused else max(self.aimd.floor, self.aimd.window - self._held)

    async def acquire(self) -> Ticket:
        if self.in_flight < self._open and not self._waiters:
            self.in_flight += 1
        else:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter  # _wake counts us in before it wakes us
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._give_back()  # woken and cancelled at once: pass the slot on
                elif waiter in self._waiters:
                    self._waiters.remove(waiter)
                raise
        # A pause holds the slot: nobody sends before it ends anyway. The generation is read after
        # it, when the request really goes out.
        while (pause := self.resume_at - self.clock()) > 0:
            try:
                await self.sleep(pause)
            except asyncio.CancelledError:
                self._give_back()
                raise
        self.stats.admitted += 1
        return Ticket(self.aimd.generation, self.clock())

    def release(
        self, ticket: Ticket, throttled: bool = False, retry_after: float | None = None, ok: bool = True
    ) -> None:
        """The request is over: a 429 (``throttled``, maybe with ``Retry-After``), an answer
        (``ok``), or another failure (neither: it says nothing about the rate)."""
        self.in_flight -= 1
        now = self.clock()
        if throttled:
            self.stats.throttled += 1
            if self.aimd.throttled(ticket.generation, self._answered_within(now)):
                self.stats.cuts += 1
            self._held = 0  # slow start is over: what it added is gone with the cut
            self.stats.lowest_window = min(self.stats.lowest_window, self.aimd.window)
            if retry_after is not None:
                self.resume_at = max(self.resume_at, self.clock() + min(retry_after, self.max_pause))
                self._paused, self._paused_at = True, now
        elif ok:
            self.stats.succeeded += 1
            if ticket.admitted_at >= self._paused_at:  # an answer to a request sent before the pause says nothing
                self._paused = False
            before, growing = self.aimd.window, self.aimd.slow_start
            self.aimd.succeeded()
            took = max(now - ticket.admitted_at, 0.0)
            self._latency = took if self._latency is None else 0.8 * self._latency + 0.2 * took
            self._answers.append(now)
            if growing:
                # In slow start the answer's slot and the one it adds go out a moment later: 429s
                # that arrived with this answer are read first, and end slow start before the next
                # round is sent into the same overload. They are held as a count, so answers
                # arriving together do not free each other's.
                held = self.aimd.window - before + 1
                self._held += held
                asyncio.get_running_loop().call_later(SLOW_START_LAG, self._unhold, held)
        self._wake()

    def _unhold(self, slots: int) -> None:
        self._held = max(0, self._held - slots)
        self._wake()

    def _answered_within(self, now: float) -> float | None:
        """Answers in the last round trip: the concurrency the server just sustained."""
        if self._latency is None:
            return None
        while self._answers and self._answers[0] < now - max(self._latency, 1e-3) * 4:
            self._answers.popleft()
        return float(sum(1 for t in self._answers if t >= now - self._latency))

    def _give_back(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        window = self._open
        while self._waiters and self.in_flight < window:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a cancelled waiter is skipped
                self.in_flight += 1
                waiter.set_result(None)
