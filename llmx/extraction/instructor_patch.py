"""Where llmx adapts instructor (pinned at 1.17.0) to running thousands of articles.

instructor re-checks the response model for async validators on every request, four times,
by walking every member of every class in its MRO: about 1.4 ms per request, more than all of
llmx's own replay work. A class's members do not change after it is built, so the answer is
memoised per class.

Why a private function is wrapped: instructor's public surface (``patch``/``from_openai``,
its hooks ``completion:kwargs``/``parse:error``..., its modes) has no way to skip or cache that
check: the hooks observe a request, a mode only changes how the schema is sent and parsed.
The fix belongs upstream (docs/instructor-upstream.md: memoise ``reject_async_validators``
per model class). Until it lands, the wrap is made only on the pinned version
(:data:`PATCHED_VERSION`) and only where the known attribute exists: any other instructor is
left exactly as it is (slower, never wrong), and a test says when the pin moves.
"""

from __future__ import annotations

import functools
import logging
import weakref
from collections.abc import Callable
from typing import Any

import instructor

from llmx.core.modes import OUTPUT_MODES

PATCHED_VERSION = "1.17.0"  # the instructor whose private layout the wrap was written against
_checked: weakref.WeakSet[type] = weakref.WeakSet()


def _memoised(check: Callable[[Any], None]) -> Callable[[Any], None]:
    @functools.wraps(check)
    def reject_once_per_class(response_model: Any) -> None:
        if isinstance(response_model, type) and response_model in _checked:
            return
        check(response_model)  # raises for a model with async validators: then nothing is cached
        if isinstance(response_model, type):
            _checked.add(response_model)

    reject_once_per_class.__llmx_memoised__ = True  # type: ignore[attr-defined]
    return reject_once_per_class


def install() -> None:
    _quiet_instructor_logs()
    if instructor.__version__ != PATCHED_VERSION:
        return
    import instructor.v2.core.patch as _patch
    import instructor.v2.validation.async_validators as _validators

    for module in (_validators, _patch):
        current = getattr(module, "reject_async_validators", None)
        if current is not None and not getattr(current, "__llmx_memoised__", False):
            module.reject_async_validators = _memoised(current)  # type: ignore[attr-defined]


def _quiet_instructor_logs() -> None:
    # instructor logs every failed call at ERROR ("API call failed on attempt 1: ..."); with no
    # logging configured Python prints that to stderr. llmx reports each failure itself, once,
    # per article (and a --batch round "fails" every request it defers), so the echo is noise.
    instructor_logger = logging.getLogger("instructor")
    if not instructor_logger.handlers:
        instructor_logger.addHandler(logging.NullHandler())


def instructor_mode(name: str) -> Any:
    return getattr(instructor.Mode, OUTPUT_MODES[name][0])
