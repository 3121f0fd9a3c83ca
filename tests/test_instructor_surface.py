"""llmx wraps one private instructor function (docs/instructor-upstream.md); these tests hold the
conditions it is made under: the pinned version only, and a class checked once."""

from __future__ import annotations

import re

import instructor
from pydantic import BaseModel

from llmx.extraction import instructor_patch
from tests.helpers import ROOT


def test_the_wrap_is_written_for_the_pinned_instructor() -> None:
    pin = re.search(r'"instructor==([^"]+)"', (ROOT / "pyproject.toml").read_text())
    assert pin is not None and pin.group(1) == instructor_patch.PATCHED_VERSION, (
        "the instructor pin moved: check whether reject_async_validators is still private and uncached "
        "(docs/instructor-upstream.md), then update PATCHED_VERSION or drop the wrap"
    )


def test_a_response_model_is_checked_once_and_another_instructor_is_left_alone(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import instructor.v2.validation.async_validators as validators

    seen: list[object] = []
    monkeypatch.setattr(validators, "reject_async_validators", seen.append)
    monkeypatch.setattr(instructor, "__version__", "9.9.9")
    instructor_patch.install()
    assert validators.reject_async_validators == seen.append  # not the pinned version: untouched

    class Model(BaseModel):
        x: int

    monkeypatch.setattr(instructor, "__version__", instructor_patch.PATCHED_VERSION)
    instructor_patch.install()
    for _ in range(3):
        validators.reject_async_validators(Model)
    assert seen == [Model]  # walked once, then remembered
