"""The model instructor validates each answer against: the schema's Extraction, plus the checks
(evidence in the article, values it supports) as a validator that re-asks while re-asks are left,
and the schema the model sees."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any

import instructor
from pydantic import BaseModel, model_validator

from llmx.core.counts import NUMBER_BOUND, out_of_range, shown_number
from llmx.core.verify import ArticleFacts
from llmx.extraction import instructor_patch as _instructor
from llmx.extraction.record_checks import RecordChecks
from llmx.inputs.schemas import SchemaSpec

# Check state for the article being validated. A ContextVar, not instructor's `context=`:
# instructor renders every message as a Jinja template when given a context, which would
# execute template syntax found inside article text. Each article runs in its own task, so
# each sees its own value.
_STATE: contextvars.ContextVar[ArticleState] = contextvars.ContextVar("llmx_article_state")


@dataclass
class ArticleState:
    facts: ArticleFacts
    reasks_left: int
    verify_reasks_left: int = 0  # of those, how many may be spent on values the article does not support
    grounding_reasks: int = 0
    verification_reasks: int = 0
    truncated: int = 0  # answers cut off at max_tokens whose whole records were kept (extraction.salvage)
    origins: list[Any] = field(
        default_factory=list
    )  # extraction.confidence.Origin: each parsed record's token probabilities


_instructor.install()


class _SharedSchema(dict[str, Any]):
    """The JSON schema sent with every request: one object, never mutated. instructor deep-copies
    each request's kwargs to isolate retries; copying this ~5,000-node schema every time was a
    tenth of the replay time, so it copies to itself."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _SharedSchema:
        return self


def checked_response_model(schema: SchemaSpec, checks: RecordChecks, strict: bool = False) -> type[BaseModel]:
    """The schema's Extraction, plus a validator that re-asks while re-asks are left when evidence
    is not in the article or a value is not supported by it, and the strict JSON schema (no llmx
    keys) as the schema the model sees.

    The class is built under the schema's own name: pydantic writes the class name into every
    validation error ("1 validation error for Extraction"), instructor sends that text in the
    re-ask, and the re-ask is part of a recorded request, so an internal name would leak into
    cassette keys."""
    sent_schema = _SharedSchema(schema.json_schema(strict))
    list_field = schema.list_field

    def model_json_schema(cls: type[BaseModel], *args: Any, **kwargs: Any) -> dict[str, Any]:
        return sent_schema

    def numbers_in_range(self: Any) -> Any:
        """A count of 10**20 is no count: re-asked, then the article fails naming the field (it
        would overflow an int64 column of the Parquet export, and a float in scoring)."""
        for number, record in enumerate(getattr(self, list_field), start=1):
            for name, value in record.model_dump(mode="json").items():
                wrong = out_of_range(value)
                if wrong is not None:
                    raise ValueError(
                        f"record {number}, field {name}: {shown_number(wrong)} is out of range "
                        f"(a number is at most {NUMBER_BOUND:,}); give the number the article states, or null"
                    )
        return self

    def values_are_supported(self: Any) -> Any:
        state = _STATE.get(None)
        if state is None or state.reasks_left <= 0:
            return self
        records = [record.model_dump(mode="json") for record in getattr(self, list_field)]
        problems = checks.problems(records, state.facts, values=state.verify_reasks_left > 0)
        if problems.message:
            state.reasks_left -= 1
            state.verify_reasks_left -= problems.unsupported
            state.grounding_reasks += problems.ungrounded
            state.verification_reasks += problems.unsupported
            raise ValueError(problems.message)
        return self

    namespace = {
        "__module__": schema.response_model.__module__,
        "__qualname__": schema.response_model.__qualname__,
        "model_json_schema": classmethod(model_json_schema),
        "_numbers_in_range": model_validator(mode="after")(numbers_in_range),
        "_values_are_supported": model_validator(mode="after")(values_are_supported),
    }
    # Subclassing instructor's OpenAISchema up front stops instructor from building a new
    # wrapper class on every request.
    bases = (schema.response_model, instructor.OpenAISchema)
    return type(schema.response_model.__name__, bases, namespace)


def validating(state: ArticleState) -> None:
    """The article state the next validation in this task sees."""
    _STATE.set(state)
