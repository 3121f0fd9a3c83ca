"""The one retry policy for transient model-server errors, built from tenacity.

Transient: 429 (honouring ``Retry-After``), 5xx, timeouts and dropped connections. Everything
else (400, 401, invalid output) fails at once: retrying cannot fix it. Validation failures are
not retried here; instructor re-asks the model for those.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass

import openai
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential


def is_transient(error: BaseException) -> bool:
    if isinstance(error, openai.APIStatusError):
        return error.status_code == 429 or error.status_code >= 500
    return isinstance(error, (openai.APITimeoutError, openai.APIConnectionError))


def retry_after_seconds(error: BaseException | None) -> float | None:
    """Seconds the server asked us to wait, from ``Retry-After`` (seconds or an HTTP date)."""
    response = getattr(error, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    initial_wait: float = 0.5
    max_wait: float = 60.0

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = retry_after_seconds(error)
        if asked is not None:
            return min(asked, self.max_wait)
        return float(wait_random_exponential(multiplier=self.initial_wait, max=self.max_wait)(state))

    def retrying(self) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(is_transient),
            reraise=True,
        )
