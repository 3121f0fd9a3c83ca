"""The complete records of an answer cut off at ``max_tokens``.

A small model sometimes repeats its last record until the answer hits ``max_tokens`` (seen on
real articles: the same attack listed again and again). Under a JSON grammar the answer is then
a valid JSON *prefix*: every record before the cut is whole. Failing the article would throw
them away; they are kept instead (each validated on its own against the record model, the one
cut in half left out), the repeats are removed as duplicates by the checks, and the result says
how many answers were cut (``provenance.truncated``).
"""

from __future__ import annotations

import typing
from typing import Any

import jiter
from instructor.core.exceptions import IncompleteOutputException
from pydantic import BaseModel, ValidationError

from llmx.errors import error_chain


def cut_answer(error: BaseException) -> Any | None:
    """The completion of the answer cut off at max_tokens behind ``error`` (instructor may wrap
    it), or None when the error is something else."""
    cut = next((seen for seen in error_chain(error) if isinstance(seen, IncompleteOutputException)), None)
    return cut.last_completion if cut is not None else None


def salvaged_records(completion: Any, response_model: type[BaseModel], list_field: str) -> list[BaseModel]:
    """The whole records of a cut answer, each valid on its own; [] when none can be read."""
    content = _content(completion)
    if not content:
        return []
    try:
        data = jiter.from_json(content.encode(), partial_mode="on")
    except ValueError:
        return []
    items = data.get(list_field) if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    record_model = _item_model(response_model, list_field)
    kept = []
    for item in items:
        try:
            kept.append(record_model.model_validate(item))
        except ValidationError:
            continue  # the record cut in half (or a malformed one): left out
    return kept


def salvaged(error: BaseException, response_model: type[BaseModel], list_field: str) -> list[BaseModel]:
    """The whole records of the answer cut off behind ``error``; re-raises ``error`` when it is
    something else, or when no record of the cut answer is whole."""
    completion = cut_answer(error)
    records = salvaged_records(completion, response_model, list_field) if completion is not None else []
    if not records:
        raise error
    return records


def _content(completion: Any) -> str | None:
    choices = getattr(completion, "choices", None) or []
    if not choices:
        return None
    message = choices[0].message
    calls = getattr(message, "tool_calls", None) or []
    if calls:  # tools mode: the answer is the first call's arguments
        return str(calls[0].function.arguments)
    return message.content


def _item_model(response_model: type[BaseModel], list_field: str) -> type[BaseModel]:
    annotation = response_model.model_fields[list_field].annotation
    (item,) = typing.get_args(annotation) or (annotation,)
    return typing.cast(type[BaseModel], item)
