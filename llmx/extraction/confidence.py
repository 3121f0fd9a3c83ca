"""A confidence for every value of an article's settled records.

Two steps, so any strategy can use them:

1. :func:`value_confidences` ``(completion, records, list_field)``: for the answer that validated
   (the last completion of a request) and the records parsed from it, in the answer's order, the
   token probability of each value the model wrote. A strategy keeps one :class:`Origin` per
   parsed record (the evidence strategy: one per record of each fill answer).
2. :func:`attach_confidences`: after :meth:`RecordChecks.finish`, each settled record's value is
   traced back to the parsed records it came from (same evidence quote; a fold or merge gathers
   several), and given :func:`llmx.core.confidence.raw_confidence` (agreement by noisy-or; a value
   a check settled is not the model's), then the project's calibration when there is one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmx.core.calibration import Calibration, Value
from llmx.core.confidence import Token, raw_confidence, value_probabilities
from llmx.core.consolidate import evidence_key, same_value
from llmx.inputs.schemas import SchemaSpec
from llmx.runs.results import ExtractedRecord


@dataclass(frozen=True)
class Origin:
    """A record as the model wrote it, and the token probability of each of its values."""

    record: dict[str, Any]
    probabilities: dict[str, float]


def value_confidences(completion: Any, records: Sequence[dict[str, Any]], list_field: str) -> list[dict[str, float]]:
    """Per parsed record, per field: the probability the model gave the value it wrote (empty
    dicts when the answer carries no log-probabilities, or its records do not line up with
    ``records``, e.g. after a validator dropped one)."""
    empty: list[dict[str, float]] = [{} for _ in records]
    choice = completion.choices[0] if completion is not None and getattr(completion, "choices", None) else None
    content = choice.message.content if choice is not None else None
    logprobs = getattr(choice, "logprobs", None)
    tokens = getattr(logprobs, "content", None) if logprobs is not None else None
    if not content or not tokens:
        return empty
    found = value_probabilities([Token(t.token, t.logprob) for t in tokens], content, list_field)
    if found is None or len(found) != len(records):
        return empty
    return found


def origins_of(completion: Any, records: Sequence[dict[str, Any]], list_field: str) -> list[Origin]:
    return [
        Origin(dict(record), probabilities)
        for record, probabilities in zip(records, value_confidences(completion, records, list_field), strict=True)
    ]


def attach_confidences(
    items: Sequence[ExtractedRecord],
    origins: Sequence[Origin],
    schema: SchemaSpec,
    calibration: Calibration | None = None,
) -> None:
    """Set ``confidence_raw`` and ``confidence`` (calibrated when ``calibration``) of each record,
    for each field it holds that scoring compares. Nothing when no answer carried
    log-probabilities."""
    if not any(origin.probabilities for origin in origins):
        return
    fields = [name for name, spec in schema.fields.items() if spec.match != "ignore"]  # what is scored
    evidence_field = schema.evidence_field
    for item in items:
        sources = _sources(item.record, origins, evidence_field)
        settled = {correction.field for correction in item.verification}
        raw: dict[str, float] = {}
        for name in fields:
            if name == evidence_field or name not in item.record:
                continue
            value = item.record[name]
            agreeing = [
                o.probabilities[name] for o in sources if name in o.probabilities and _agree(o.record.get(name), value)
            ]
            raw[name] = raw_confidence(agreeing, name in settled)
        item.confidence_raw = raw
        item.confidence = calibrated(item, calibration)
        item.calibrated = calibration is not None


def calibrated(item: ExtractedRecord, calibration: Calibration | None) -> dict[str, float]:
    """The record's confidences under ``calibration`` (its raw ones when None)."""
    raw = item.confidence_raw or {}
    if calibration is None:
        return dict(raw)
    return {name: calibration.probability(value_of(item, name)) for name in raw}


def value_of(item: ExtractedRecord, name: str, right: bool | None = None) -> Value:
    """A record's value as calibration sees it: raw score, null, settled by a check."""
    return Value(
        field=name,
        raw=(item.confidence_raw or {}).get(name, 0.5),
        null=item.record.get(name) is None,
        settled=any(c.field == name for c in item.verification),
        right=right,
    )


def _agree(a: Any, b: Any) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and same_value(a, b))


def _sources(record: dict[str, Any], origins: Sequence[Origin], evidence_field: str | None) -> list[Origin]:
    """The parsed records a settled one came from: those quoting the same evidence; without an
    evidence field, the one sharing the most values."""
    if evidence_field is not None:
        key = evidence_key(record.get(evidence_field))
        same = [o for o in origins if key is not None and evidence_key(o.record.get(evidence_field)) == key]
        if same:
            return same
    if not origins:
        return []
    best = max(origins, key=lambda o: sum(_agree(o.record.get(n), v) for n, v in record.items()))
    return [best]
