"""The live-request switch: whether this process may send HTTP requests to a model at all.

Every request to a model server passes :func:`check_allowed` first: chat completions
(:class:`llmx.model.server.ModelServer`) and the Batch API calls (:mod:`llmx.batch.api`) alike.
The test suite switches it off, and a test that means to reach a stub or the local model opts
in with :func:`override_allow_model_requests` (pydantic-ai's ``ALLOW_MODEL_REQUESTS`` habit).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from llmx.errors import LiveRequestBlocked

ALLOW_MODEL_REQUESTS = True


def check_allowed(what: str) -> None:
    """Raise :class:`LiveRequestBlocked` when model requests are switched off in this process."""
    if not ALLOW_MODEL_REQUESTS:
        raise LiveRequestBlocked(f"{what}: model requests are switched off in this process")


@contextmanager
def override_allow_model_requests(allow: bool) -> Iterator[None]:
    """Allow (or forbid) model requests inside the block, and restore the setting after it."""
    global ALLOW_MODEL_REQUESTS
    before, ALLOW_MODEL_REQUESTS = ALLOW_MODEL_REQUESTS, allow
    try:
        yield
    finally:
        ALLOW_MODEL_REQUESTS = before
