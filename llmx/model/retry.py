"""The one retry policy for transient model-server errors, built from tenacity.

Transient: 429 (honouring ``Retry-After``), 5xx, timeouts, dropped or refused connections.
Everything else (400, 401, invalid output, a redirect loop, a TLS or HTTP mismatch:
:mod:`llmx.model.transport_errors`) fails at once: retrying cannot fix it. Validation failures are
not retried here; instructor re-asks the model for those.

With a :class:`~llmx.model.rate_control.RateController`, every attempt first takes a slot in its
window and gives it back with what happened (an answer, a 429 and its ``Retry-After``, or
another failure), through tenacity's ``before`` hook and its retry decision, which tenacity
calls once per attempt whatever the outcome. A retry waits for its back-off holding no slot.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass, field
from typing import Any

import openai
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

from llmx.model.rate_control import RateController, Ticket
from llmx.model.transport_errors import retryable


def is_transient(error: BaseException) -> bool:
    if isinstance(error, openai.APIStatusError):
        return error.status_code == 429 or error.status_code >= 500
    # a redirect loop, a TLS or HTTP mismatch meet the same answer again: not retried
    return isinstance(error, openai.APIConnectionError) and retryable(error)


def retry_after_seconds(error: BaseException | None) -> float | None:
    """Seconds the server asked us to wait, from ``Retry-After`` (seconds or an HTTP date)."""
    response = getattr(error, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # garbage ("soon"): the usual back-off, not a crash
    return max(0.0, parsed.timestamp() - time.time()) if parsed else None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    initial_wait: float = 0.5
    max_wait: float = 60.0
    rate: RateController | None = field(default=None, compare=False)  # adaptive concurrency, if any

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = retry_after_seconds(error)
        if asked is not None:
            return min(asked, self.max_wait)
        return float(wait_random_exponential(multiplier=self.initial_wait, max=self.max_wait)(state))

    def retrying(self) -> AsyncRetrying:
        gated: dict[str, Any] = {"retry": retry_if_exception(is_transient)}
        if self.rate is not None:
            gate = _Gate(self.rate)  # one per request: it holds that request's slot
            gated = {"retry": gate.settle, "before": gate.admit}
        return AsyncRetrying(stop=stop_after_attempt(self.max_attempts), wait=self._wait, reraise=True, **gated)


class _Gate:
    def __init__(self, rate: RateController) -> None:
        self.rate = rate
        self.ticket: Ticket | None = None

    async def admit(self, state: RetryCallState) -> None:
        self.ticket = await self.rate.acquire()

    def settle(self, state: RetryCallState) -> bool:
        """Give the slot back with the attempt's outcome; retry what is transient."""
        error = state.outcome.exception() if state.outcome else None
        if self.ticket is not None:
            ticket, self.ticket = self.ticket, None
            throttled = isinstance(error, openai.APIStatusError) and error.status_code == 429
            asked = retry_after_seconds(error) if throttled else None
            self.rate.release(ticket, throttled=throttled, retry_after=asked, ok=error is None)
        return error is not None and is_transient(error)
