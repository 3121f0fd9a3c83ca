"""Similarity of every (predicted, gold) pair inside every article, computed for all articles at once.

The scalar rules live in :func:`llmx.scoring.field_equal` and :func:`llmx.scoring.similarity`;
this module computes the same answers as flat vectors, one entry per within-article pair, because
scoring 100k incidents pair by pair in Python is 10x too slow. Tests keep the two in agreement.

How: each field's values become integer codes over a *sorted* vocabulary (so codes, and the
canonical record order derived from them, do not depend on input order). Exact and number
fields compare codes or floats over all pairs in one numpy operation; date, fuzzy and alias
fields are scored once per *distinct* value pair (``rapidfuzz.process.cpdist``) and broadcast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz
from rapidfuzz.process import cpdist

from llmx.normalize import Aliases, normalize
from llmx.schemas import FieldSpec

Record = Mapping[str, Any]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Block:
    """One article's pairs: ``pairs[start:start + len(pred) * len(gold)]``, row-major."""

    article_id: str
    pred: Ints  # global record indices, in canonical order
    gold: Ints
    start: int


@dataclass(frozen=True)
class PairTable:
    blocks: list[Block]
    pred_index: Ints  # per pair: global index of the predicted record
    gold_index: Ints
    similarity: Floats  # per pair
    equal: dict[str, Bools]  # per field, per pair: both filled and equal under the field's rule
    pred_null: dict[str, Bools]  # per field, per predicted record
    gold_null: dict[str, Bools]


def fields_only(record: Record) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("optional", "note")}


def _codes(pred_keys: list[str | None], gold_keys: list[str | None]) -> tuple[Ints, Ints, list[str]]:
    """Integer codes over the sorted vocabulary of both sides; -1 for null."""
    vocabulary = sorted({k for k in pred_keys if k is not None} | {k for k in gold_keys if k is not None})
    index = {value: code for code, value in enumerate(vocabulary)}

    def encode(keys: list[str | None]) -> Ints:
        return np.fromiter((-1 if k is None else index[k] for k in keys), dtype=np.int64, count=len(keys))

    return encode(pred_keys), encode(gold_keys), vocabulary


def _per_distinct_pair(
    p: Ints, g: Ints, vocabulary: list[str], score: Callable[[list[str], list[str]], Floats]
) -> Floats:
    """Score each distinct (p, g) code pair once, then broadcast back to every pair."""
    if len(p) == 0:
        return np.zeros(0)
    width = max(len(vocabulary), 1)
    distinct, inverse = np.unique(p * width + g, return_inverse=True)
    left = [vocabulary[c] for c in (distinct // width).tolist()]
    right = [vocabulary[c] for c in (distinct % width).tolist()]
    return np.asarray(score(left, right), dtype=np.float64)[inverse.reshape(-1)]


def _token_set_ratio(left: list[str], right: list[str]) -> Floats:
    return np.asarray(cpdist(left, right, scorer=fuzz.token_set_ratio, dtype=np.float64, workers=-1))


def _date_prefix(left: list[str], right: list[str]) -> Floats:
    return np.array([a.startswith(b) for a, b in zip(left, right, strict=True)], dtype=np.float64)


def _key(spec: FieldSpec, value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() if spec.match == "date" else normalize(str(value))


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")  # filled but not a number: equal to nothing


@dataclass(frozen=True)
class _Coded:
    spec: FieldSpec
    pred: Ints  # per predicted record: code, -1 for null
    gold: Ints
    vocabulary: list[str]


def _encode(spec: FieldSpec, pred: Sequence[Record], gold: Sequence[Record]) -> _Coded:
    name = spec.name
    cp, cg, vocabulary = _codes([_key(spec, r.get(name)) for r in pred], [_key(spec, r.get(name)) for r in gold])
    return _Coded(spec, cp, cg, vocabulary)


def _compare(
    coded: _Coded, pred: Sequence[Record], gold: Sequence[Record], pi: Ints, gj: Ints, aliases: Aliases
) -> tuple[Bools, Floats]:
    """(equal, similarity) for every pair; similarity is NaN where both are null."""
    spec, name = coded.spec, coded.spec.name
    pred_null, gold_null = coded.pred < 0, coded.gold < 0
    filled = ~pred_null[pi] & ~gold_null[gj]
    p, g = coded.pred[pi][filled], coded.gold[gj][filled]
    equal = np.zeros(len(pi), dtype=bool)
    similarity = np.zeros(len(pi))
    if spec.match == "number":
        fp = np.array([_as_float(r.get(name)) for r in pred])
        fg = np.array([_as_float(r.get(name)) for r in gold])
        equal[filled] = np.abs(fp[pi][filled] - fg[gj][filled]) <= spec.tolerance
    elif spec.match == "exact":
        equal[filled] = p == g
    elif spec.match == "date":
        equal[filled] = _per_distinct_pair(p, g, coded.vocabulary, _date_prefix) > 0
    else:  # fuzzy / alias
        ratio = _per_distinct_pair(p, g, coded.vocabulary, _token_set_ratio)
        same = ratio >= spec.threshold
        if spec.match == "alias":
            canon = np.array([aliases.table.get(v, v) for v in coded.vocabulary] or [""], dtype=object)
            same |= canon[p] == canon[g]
        equal[filled] = same
        similarity[filled] = ratio / 100.0
    similarity[equal] = 1.0
    similarity[pred_null[pi] & gold_null[gj]] = np.nan  # agreeing on "not reported" says nothing
    return equal, similarity


def pair_table(
    articles: Mapping[str, tuple[Sequence[Record], Sequence[Record]]],
    specs: Mapping[str, FieldSpec],
    aliases: Aliases,
    evidence_field: str | None = None,
    evidence_weight: float = 0.5,
) -> tuple[PairTable, list[Record], list[Record]]:
    """All within-article pairs of ``{article id: (predicted, gold)}``, with per-pair similarity."""
    pred: list[Record] = [r for p, _ in articles.values() for r in p]
    gold: list[Record] = [r for _, g in articles.values() for r in g]
    coded = [_encode(spec, pred, gold) for spec in specs.values() if spec.match != "ignore"]
    evidence: _Coded | None = None
    if evidence_field:
        evidence = _Coded(
            FieldSpec(evidence_field, "fuzzy"),
            *_codes([r.get(evidence_field) or None for r in pred], [r.get(evidence_field) or None for r in gold]),
        )
    # Codes give each record a canonical position that does not depend on the input order.
    sort_keys = [(c.pred, c.gold) for c in [*coded, *([evidence] if evidence else [])]]
    owners_p = np.repeat(np.arange(len(articles)), [len(p) for p, _ in articles.values()])
    owners_g = np.repeat(np.arange(len(articles)), [len(g) for _, g in articles.values()])
    order_p = np.lexsort([k[0] for k in reversed(sort_keys)] + [owners_p]) if pred else np.zeros(0, np.int64)
    order_g = np.lexsort([k[1] for k in reversed(sort_keys)] + [owners_g]) if gold else np.zeros(0, np.int64)
    blocks, pi_parts, gj_parts, start, at_p, at_g = [], [], [], 0, 0, 0
    for article_id, (p_records, g_records) in articles.items():
        rows, cols = order_p[at_p : at_p + len(p_records)], order_g[at_g : at_g + len(g_records)]
        at_p, at_g = at_p + len(p_records), at_g + len(g_records)
        blocks.append(Block(article_id, rows, cols, start))
        pi_parts.append(np.repeat(rows, len(cols)))
        gj_parts.append(np.tile(cols, len(rows)))
        start += len(rows) * len(cols)
    pi = np.concatenate(pi_parts) if pi_parts else np.zeros(0, np.int64)
    gj = np.concatenate(gj_parts) if gj_parts else np.zeros(0, np.int64)
    equal, pred_null, gold_null, layers = {}, {}, {}, []
    for c in coded:
        equal[c.spec.name], layer = _compare(c, pred, gold, pi, gj, aliases)
        pred_null[c.spec.name], gold_null[c.spec.name] = c.pred < 0, c.gold < 0
        layers.append(layer)
    stack = np.vstack(layers) if layers else np.full((1, len(pi)), np.nan)
    counted = (~np.isnan(stack)).sum(axis=0)
    similarity = np.divide(np.nansum(stack, axis=0), counted, out=np.zeros(len(pi)), where=counted > 0)
    for k in np.nonzero(counted == 0)[0].tolist():  # nothing filled either side: only identical records match
        similarity[k] = 1.0 if fields_only(pred[pi[k]]) == fields_only(gold[gj[k]]) else 0.0
    if evidence is not None:  # the quote anchors the incident: it is half the similarity when both have one
        both = (evidence.pred[pi] >= 0) & (evidence.gold[gj] >= 0)
        overlap = (
            _per_distinct_pair(evidence.pred[pi][both], evidence.gold[gj][both], evidence.vocabulary, _token_set_ratio)
            / 100.0
        )
        similarity[both] = evidence_weight * overlap + (1 - evidence_weight) * similarity[both]
    return PairTable(blocks, pi, gj, similarity, equal, pred_null, gold_null), pred, gold
