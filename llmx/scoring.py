"""Score predicted records against gold, the way event-extraction research does. Pure: no I/O.

Per article, every predicted record is compared with every gold record; the pairs are matched
one-to-one with the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``) on
similarity, and a pair below ``min_similarity`` is no match. Unmatched predictions are false
positives, unmatched gold false negatives; a match with an ``optional`` gold record counts as
neither. Field scores are computed on matched pairs: a value where gold has null is a false
positive, a null where gold has a value a false negative, a wrong value both.

Records are sorted canonically before matching, so the result never depends on their order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel
from rapidfuzz import fuzz
from scipy.optimize import linear_sum_assignment

from llmx.normalize import Aliases, normalize
from llmx.schemas import FieldSpec

Record = Mapping[str, Any]
MIN_SIMILARITY = 0.5
OPTIONAL_PENALTY = 0.01  # between equally similar gold records, prefer a required one


class PRF(BaseModel):
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else (1.0 if self.fn == 0 else 0.0)

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else (1.0 if self.fp == 0 else 0.0)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, other: PRF) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    def summary(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


class Pair(BaseModel):
    predicted: dict[str, Any]
    gold: dict[str, Any]
    similarity: float
    optional: bool
    differing: list[str]


class ArticleScore(BaseModel):
    article_id: str
    incidents: PRF = PRF()
    fields: dict[str, PRF] = {}
    matched: list[Pair] = []
    missed: list[dict[str, Any]] = []
    spurious: list[dict[str, Any]] = []
    failed: str | None = None


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
    """Mean agreement over the fields that either side fills, evidence overlap included."""
    scores = [
        score
        for name, spec in specs.items()
        if spec.match != "ignore"
        if (score := _field_similarity(spec, predicted.get(name), gold.get(name), aliases)) is not None
    ]
    if evidence_field and predicted.get(evidence_field) and gold.get(evidence_field):
        scores.append(fuzz.token_set_ratio(predicted[evidence_field], gold[evidence_field]) / 100.0)
    if not scores:  # nothing filled on either side: only identical records are the same incident
        return 1.0 if _fields_only(predicted) == _fields_only(gold) else 0.0
    return sum(scores) / len(scores)


def _fields_only(record: Record) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("optional", "note")}


def _canonical_order(records: Sequence[Record]) -> list[Record]:
    return sorted(records, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def score_article(
    article_id: str,
    predicted: Sequence[Record],
    gold: Sequence[Record],
    specs: Mapping[str, FieldSpec],
    aliases: Aliases,
    evidence_field: str | None = None,
    min_similarity: float = MIN_SIMILARITY,
) -> ArticleScore:
    predicted, gold = _canonical_order(predicted), _canonical_order(gold)
    result = ArticleScore(article_id=article_id, fields={n: PRF() for n, s in specs.items() if s.match != "ignore"})
    matched_pred: set[int] = set()
    matched_gold: set[int] = set()
    if predicted and gold:
        sim = np.array([[similarity(p, g, specs, aliases, evidence_field) for g in gold] for p in predicted])
        penalty = np.array([OPTIONAL_PENALTY if g.get("optional") else 0.0 for g in gold])
        rows, cols = linear_sum_assignment(sim - penalty, maximize=True)
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            if sim[i, j] < min_similarity:
                continue
            matched_pred.add(i)
            matched_gold.add(j)
            optional = bool(gold[j].get("optional"))
            differing = _score_fields(predicted[i], gold[j], specs, aliases, result.fields if not optional else None)
            result.matched.append(
                Pair(
                    predicted=dict(predicted[i]),
                    gold=dict(gold[j]),
                    similarity=round(float(sim[i, j]), 4),
                    optional=optional,
                    differing=differing,
                )
            )
            if not optional:
                result.incidents.tp += 1
    result.spurious = [dict(p) for i, p in enumerate(predicted) if i not in matched_pred]
    result.missed = [dict(g) for j, g in enumerate(gold) if j not in matched_gold and not g.get("optional")]
    result.incidents.fp = len(result.spurious)
    result.incidents.fn = len(result.missed)
    return result


def _score_fields(
    predicted: Record, gold: Record, specs: Mapping[str, FieldSpec], aliases: Aliases, counts: dict[str, PRF] | None
) -> list[str]:
    differing = []
    for name, spec in specs.items():
        if spec.match == "ignore":
            continue
        p, g = predicted.get(name), gold.get(name)
        if p is None and g is None:
            continue
        same = p is not None and g is not None and field_equal(spec, p, g, aliases)
        if not same:
            differing.append(name)
        if counts is None:
            continue
        tally = counts[name]
        if same:
            tally.tp += 1
        else:
            tally.fp += p is not None
            tally.fn += g is not None
    return differing


class Score(BaseModel):
    incidents: PRF = PRF()
    fields: dict[str, PRF] = {}
    articles: dict[str, ArticleScore] = {}

    @property
    def field_macro_f1(self) -> float:
        used = [prf for prf in self.fields.values() if prf.tp + prf.fp + prf.fn]
        return sum(prf.f1 for prf in used) / len(used) if used else 1.0


def score_run(
    predictions: Mapping[str, Sequence[Record] | None],
    gold: Mapping[str, Sequence[Record]],
    specs: Mapping[str, FieldSpec],
    aliases: Aliases,
    evidence_field: str | None = None,
    min_similarity: float = MIN_SIMILARITY,
    failures: Mapping[str, str] | None = None,
) -> Score:
    """Micro-averaged score over the articles that have gold. A failed article predicts nothing."""
    total = Score(fields={n: PRF() for n, s in specs.items() if s.match != "ignore"})
    for article_id in sorted(gold):
        predicted = predictions.get(article_id) or []
        article = score_article(article_id, predicted, gold[article_id], specs, aliases, evidence_field, min_similarity)
        article.failed = (failures or {}).get(article_id)
        total.incidents.add(article.incidents)
        for name, prf in article.fields.items():
            total.fields[name].add(prf)
        total.articles[article_id] = article
    return total
