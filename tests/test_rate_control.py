"""Adaptive concurrency (AIMD) on a fake clock: the window, the queue, Retry-After pauses, and
the wiring into the retry policy against a stub on 127.0.0.1. No test here measures time;
throughput against a rate-limited server is measured by bench/rate_limit.py."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from llmx.inputs.articles import Article
from llmx.model.rate_control import Aimd, RateController
from llmx.model.retry import RetryPolicy
from llmx.model.server import make_client
from llmx.testing.fake_model import Reply, always, schema_answer, sequence
from llmx.testing.stub_server import StubServer
from tests.helpers import make_extractor


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def controller(ceiling: int) -> tuple[RateController, FakeTime]:
    """A controller past slow start (its window opens at the ceiling), on a fake clock."""
    fake = FakeTime()
    return RateController(ceiling, max_pause=30.0, clock=fake.clock, sleep=fake.sleep, initial=ceiling), fake


def test_aimd_cuts_on_a_429_trims_on_its_echoes_and_climbs_back_slowly() -> None:
    aimd = Aimd(ceiling=20, initial=20)
    assert aimd.window == 20
    assert aimd.throttled(sent_in=0) and aimd.limit == pytest.approx(16)
    assert not aimd.throttled(sent_in=0) and aimd.limit == pytest.approx(16 * 0.93)  # an echo: a trim
    before = aimd.limit
    for _ in range(int(before)):  # one window of answers: a tenth of a slot
        aimd.succeeded()
    assert aimd.limit == pytest.approx(before + 0.1, abs=0.01)
    for _ in range(50_000):  # (near the window of the cut the climb is patient)
        aimd.succeeded()
    assert aimd.window == 20  # never above the configured concurrency
    for generation in range(1, 40):
        aimd.throttled(sent_in=generation)
    assert aimd.window == 1  # never below one


def test_slow_start_doubles_each_round_trip_up_to_the_ceiling_and_ends_at_the_first_429() -> None:
    aimd = Aimd(ceiling=64)
    assert aimd.window == 8  # not 64 at once
    for expected in (16, 32, 64):
        for _ in range(aimd.window):  # a round trip of answers: one more slot each
            aimd.succeeded()
        assert aimd.window == expected
    assert not aimd.slow_start
    small = Aimd(ceiling=3)
    assert small.window == 3 and not small.slow_start  # never above the configured concurrency
    cut = Aimd(ceiling=32)
    assert cut.throttled(sent_in=0, answered=3.0) and not cut.slow_start
    assert cut.limit == 3.0  # the 429 that ends slow start cuts to what the server answered
    window = cut.limit
    for _ in range(10):
        cut.succeeded()
    assert cut.limit < window + 1  # additive from there, not doubling


def test_the_window_that_drew_a_429_is_probed_again_slowly() -> None:
    aimd = Aimd(ceiling=32, initial=3)
    aimd.throttled(sent_in=0)  # cut from 3 to 2.4
    answers = 0
    while aimd.limit < 3.0:
        aimd.succeeded()
        answers += 1
    far = Aimd(ceiling=32, initial=3, patience=1.0)
    far.throttled(sent_in=0)
    quick = 0
    while far.limit < 3.0:
        far.succeeded()
        quick += 1
    assert answers > 3 * quick  # near the level that failed, the increase is patient


def test_the_429_that_ends_slow_start_halves_the_window_when_no_answer_is_counted_yet() -> None:
    aimd = Aimd(ceiling=32)  # 8 at once, and a 429 comes back before any answer
    assert aimd.throttled(sent_in=0, answered=None)
    assert aimd.limit == 4.0  # the window doubled (or started) past what fits: half of it
    grown = Aimd(ceiling=64)
    for _ in range(8 + 16):  # two round trips of answers: 8 -> 32
        grown.succeeded()
    assert grown.throttled(sent_in=0, answered=20.0) and grown.limit == 16.0  # half, below what answered


def test_a_cut_gives_back_at_least_one_whole_slot() -> None:
    aimd = Aimd(ceiling=32, initial=32)
    aimd.limit = 3.9  # 0.8 of it is 3.12: the same window of 3
    assert aimd.throttled(sent_in=0)
    assert aimd.window == 2 and aimd.failed_window == 3
    wide = Aimd(ceiling=32, initial=32)
    assert wide.throttled(sent_in=0) and wide.limit == pytest.approx(25.6)  # 0.8 when that is already lower


def test_the_climb_back_to_a_small_window_that_drew_a_429_is_patient() -> None:
    """At 2 slots after 3 drew a 429, the whole climb back to 3 is the probe of the level that
    failed: it is slow (the window within 10% of the cut alone left 2 -> 3.5 at full speed)."""

    def answers_to_climb(patience: float) -> int:
        aimd = Aimd(ceiling=32, initial=32, patience=patience)
        aimd.limit = 3.9
        aimd.throttled(sent_in=0)
        count = 0
        while aimd.window < 3:
            aimd.succeeded()
            count += 1
        return count

    assert answers_to_climb(8.0) > 6 * answers_to_climb(1.0)


def test_a_burst_of_429s_from_a_too_wide_start_falls_near_the_servers_capacity() -> None:
    aimd = Aimd(ceiling=32, initial=32)  # 32 sent at once; the server took 4 and answered 429 to 28
    for _ in range(28):
        aimd.throttled(sent_in=0)
    assert 2 <= aimd.window <= 6


async def _tick() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_requests_beyond_the_window_wait_for_a_slot_first_come_first_served() -> None:
    async def scenario() -> list[str]:
        rate, _ = controller(2)
        first, second = await rate.acquire(), await rate.acquire()
        order: list[str] = []

        async def waiter(name: str) -> None:
            ticket = await rate.acquire()
            order.append(name)
            rate.release(ticket)

        tasks = [asyncio.create_task(waiter(name)) for name in ("c", "d")]
        await _tick()
        assert order == [] and rate.in_flight == 2
        rate.release(first)
        await _tick()
        rate.release(second)
        await asyncio.gather(*tasks)
        assert rate.in_flight == 0
        return order

    assert asyncio.run(scenario()) == ["c", "d"]


def test_a_429_narrows_the_window_and_retry_after_pauses_every_new_request() -> None:
    async def scenario() -> None:
        rate, fake = controller(10)
        tickets = [await rate.acquire() for _ in range(10)]
        rate.release(tickets[0], throttled=True, retry_after=2.5)
        rate.release(tickets[1], throttled=True, retry_after=1.0)  # same burst: an echo, not a cut
        assert rate.window == 7 and rate.stats.cuts == 1 and rate.stats.throttled == 2
        for ticket in tickets[2:]:
            rate.release(ticket, ok=False)
        await rate.acquire()
        assert fake.slept == [2.5]  # waited for the longest Retry-After, once
        assert rate.stats.lowest_window == 7

    asyncio.run(scenario())


def test_retry_after_is_capped_and_other_failures_do_not_move_the_window() -> None:
    async def scenario() -> None:
        rate, fake = controller(4)
        ticket = await rate.acquire()
        rate.release(ticket, ok=False)  # a 500 or a timeout says nothing about the rate
        assert rate.aimd.limit == 4.0 and rate.stats.succeeded == 0
        ticket = await rate.acquire()
        rate.release(ticket, throttled=True, retry_after=3600)
        await rate.acquire()
        assert fake.slept == [30.0]

    asyncio.run(scenario())


def test_a_cancelled_waiter_leaves_no_slot_behind() -> None:
    async def scenario() -> None:
        rate, _ = controller(1)
        held = await rate.acquire()
        task = asyncio.create_task(rate.acquire())
        await _tick()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        rate.release(held)
        assert rate.in_flight == 0
        again = await rate.acquire()
        assert rate.in_flight == 1 and again.generation == 0

    asyncio.run(scenario())


def test_the_retry_policy_reports_each_attempt_to_the_controller(tmp_path: Path, live_requests: None) -> None:
    rate = RateController(8)
    policy = RetryPolicy(max_attempts=3, initial_wait=0.001, max_wait=1.0, rate=rate)
    script = sequence(Reply(fault="status", status=429, retry_after="0"), then=always(schema_answer))
    with StubServer(script=script) as server:
        extractor = make_extractor(tmp_path / "tape", make_client("k", server.base_url, 5), policy=policy)
        result = asyncio.run(extractor.extract(Article(id="a1", text="A drone hit the base. Nobody was hurt.")))
    assert result.status == "ok" and len(server.requests) == 2
    assert (rate.stats.admitted, rate.stats.throttled, rate.stats.succeeded, rate.stats.cuts) == (2, 1, 1, 1)
    assert rate.window == 6 and rate.in_flight == 0  # 8 × 0.8, then a tenth of a slot back


def test_slots_slow_start_adds_wait_even_when_answers_arrive_together() -> None:
    """Three answers in one tick free three slots and slow start adds three on top: all six wait
    SLOW_START_LAG, so a 429 arriving with those answers is read before any is used (each answer
    used to free the slots the one before it had added, and a freed slot went out at once)."""

    async def scenario() -> None:
        rate = RateController(16, initial=4)
        tickets = [await rate.acquire() for _ in range(4)]
        waiting = [asyncio.create_task(rate.acquire()) for _ in range(8)]
        await _tick()
        for ticket in tickets[:3]:
            rate.release(ticket)
        await _tick()
        assert rate.window == 7 and rate.in_flight == 1  # neither the 3 freed nor the 3 added yet
        assert not any(task.done() for task in waiting)
        await asyncio.wait_for(_until(lambda: rate.in_flight == 7), timeout=5)  # the lag is over
        assert sum(task.done() for task in waiting) == 6
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)

    asyncio.run(scenario())


def test_a_429_with_the_answers_ends_slow_start_before_the_added_slots_go_out() -> None:
    async def scenario() -> None:
        rate = RateController(16, initial=8)
        tickets = [await rate.acquire() for _ in range(8)]
        waiting = [asyncio.create_task(rate.acquire()) for _ in range(8)]
        await _tick()
        for ticket in tickets[:4]:  # the server took four at once ...
            rate.release(ticket)
        for ticket in tickets[4:]:  # ... and refused the rest, in the same tick
            rate.release(ticket, throttled=True)
        await asyncio.sleep(0.1)  # past the lag
        assert not rate.aimd.slow_start
        # Neither the 4 slots the answers freed nor the 4 they added went out before the 429s were
        # read: what goes out is the window the server showed it takes (4, trimmed by 3 echoes).
        assert rate.in_flight == rate.window == 3
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)

    asyncio.run(scenario())


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.005)
