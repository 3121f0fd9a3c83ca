"""The reference scorer: the readable, one-pair definitions of field agreement and similarity.

llmx scores with :mod:`llmx.core.similarity`, which computes the same for all pairs at once;
tests keep the two in agreement. This copy lives in tests because only tests call it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rapidfuzz import fuzz

from llmx.core.fields import QUOTE_OVERLAP, FieldSpec
from llmx.core.normalize import Aliases, normalize
from llmx.core.scoring import EVIDENCE_WEIGHT
from llmx.core.similarity import fields_only

Record = Mapping[str, Any]


def field_equal(spec: FieldSpec, predicted: Any, gold: Any, aliases: Aliases) -> bool:
    """Do two non-null values agree under the field's declared comparison?"""
    if spec.match == "number":
        try:
            return abs(float(predicted) - float(gold)) <= spec.tolerance
        except (TypeError, ValueError):
            return False
    if spec.match == "date":
        # Gold states the precision the article allows; a prediction must agree to that precision.
        return str(predicted).strip().startswith(str(gold).strip())
    if spec.match == "exact":
        return normalize(str(predicted)) == normalize(str(gold))
    a, b = str(predicted), str(gold)
    if spec.match == "alias" and aliases.canonical(a) == aliases.canonical(b):
        return True
    return fuzz.token_set_ratio(normalize(a), normalize(b)) >= spec.threshold


def _field_similarity(spec: FieldSpec, predicted: Any, gold: Any, aliases: Aliases) -> float | None:
    if predicted is None and gold is None:
        return None  # agreement on "not reported" says nothing about identity
    if predicted is None or gold is None:
        return 0.0
    if field_equal(spec, predicted, gold, aliases):
        return 1.0
    if spec.match in ("fuzzy", "alias"):
        return fuzz.token_set_ratio(normalize(str(predicted)), normalize(str(gold))) / 100.0
    return 0.0


def similarity(
    predicted: Record, gold: Record, specs: Mapping[str, FieldSpec], aliases: Aliases, evidence_field: str | None = None
) -> float:
    """How alike two records are, 0-1: the mean agreement over the fields either side fills, and,
    when both quote evidence, half of it is how much the quotes overlap. The quote is the
    incident's anchor (like ACE's trigger): the same sentence with wrong fields is the same
    incident with field errors, not a miss plus an invention.

    Two records are the same incident only when their quotes overlap or they agree on an
    identity field (a place or an actor); otherwise the similarity is 0."""
    scored = {name: spec for name, spec in specs.items() if spec.match != "ignore" and name in gold}
    scores = [
        score
        for name, spec in scored.items()
        if (score := _field_similarity(spec, predicted.get(name), gold.get(name), aliases)) is not None
    ]
    identity = [n for n, s in scored.items() if s.identity]
    same = any(
        predicted.get(n) is not None
        and gold.get(n) is not None
        and field_equal(scored[n], predicted[n], gold[n], aliases)
        for n in identity
    )
    both_quote = bool(evidence_field and predicted.get(evidence_field) and gold.get(evidence_field))
    if both_quote:
        same = same or fuzz.partial_ratio(predicted[evidence_field], gold[evidence_field]) >= QUOTE_OVERLAP  # type: ignore[index]
    gated = bool(any(s.identity for s in specs.values() if s.match != "ignore") or evidence_field)
    anchored_p = any(predicted.get(n) is not None for n in identity) or bool(
        evidence_field and predicted.get(evidence_field)
    )
    anchored_g = any(gold.get(n) is not None for n in identity) or bool(evidence_field and gold.get(evidence_field))
    same = same or not (anchored_p or anchored_g)
    # nothing filled on either side: only identical records are the same incident
    identical = 1.0 if fields_only(predicted) == fields_only(gold) else 0.0
    fields = sum(scores) / len(scores) if scores else identical
    if gated and not same:
        return 0.0
    if both_quote:
        overlap = fuzz.token_set_ratio(predicted[evidence_field], gold[evidence_field]) / 100.0  # type: ignore[index]
        return EVIDENCE_WEIGHT * overlap + (1 - EVIDENCE_WEIGHT) * fields
    return fields
