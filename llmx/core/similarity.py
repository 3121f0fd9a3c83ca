"""Similarity of every (predicted, gold) pair inside every article, computed for all articles at once.

Two records can only be the same incident when their evidence quotes overlap, or when they
agree on a place or an actor (fields declared ``identity``); agreement on generic fields such as
date, weapon or "intercepted" is not enough. A pair that fails this gate has similarity 0
(two records that fill no identity field and quote nothing are not gated: nothing anchors them).
A field absent from a gold record was not annotated: it takes no part in that record's pairs.

This module computes the scalar rules (tests/reference_scoring.py) as flat vectors, one entry
per within-article pair: pair by pair in Python, 100k incidents score 10x too slowly.

How: each field's values become integer codes over a *sorted* vocabulary (so codes, and the
canonical record order derived from them, do not depend on input order). Exact and number
fields compare codes or floats over all pairs in one numpy operation; date, fuzzy and alias
fields are scored once per *distinct* value pair (``rapidfuzz.process.cpdist``) and broadcast.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz
from rapidfuzz.process import cpdist

from llmx.core.fields import QUOTE_OVERLAP, FieldSpec
from llmx.core.normalize import Aliases, normalize

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
    gold_annotated: dict[str, Bools]  # per field, per gold record: the annotator wrote the field


def fields_only(record: Record) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("optional", "note", "event")}


def _columns(records: Sequence[Record], names: list[str]) -> dict[str, list[Any]]:
    """Field values as columns, read with one C-level itemgetter call per record."""
    if not records or not names:
        return {name: [None] * len(records) for name in names}
    getter = itemgetter(*names)
    try:
        rows = list(map(getter, records))
    except KeyError:  # a record without some field: fall back to .get
        rows = [tuple(r.get(n) for n in names) if len(names) > 1 else r.get(names[0]) for r in records]
    if len(names) == 1:
        return {names[0]: list(rows)}
    return {name: list(column) for name, column in zip(names, zip(*rows, strict=True), strict=True)}


def _hashable(values: list[Any]) -> list[Any]:
    try:
        set(values)
        return values
    except TypeError:  # lists or dicts in a custom schema: compare their JSON text
        return [
            v if v is None or isinstance(v, (str, int, float, bool)) else json.dumps(v, sort_keys=True) for v in values
        ]


def _codes(pred: list[Any], gold: list[Any], key: Callable[[Any], str]) -> tuple[Ints, Ints, list[str]]:
    """Integer codes over the sorted vocabulary of ``key(value)`` on both sides; -1 for null.

    Work is per *distinct* value: records repeat values (places, groups, weapons) heavily. Values
    are told apart by type as well, since True == 1 == 1.0 in a set."""
    pred, gold = _hashable(pred), _hashable(gold)
    kinds = (set(map(type, pred)) | set(map(type, gold))) - {type(None)}
    if len(kinds) > 1:  # tell True from 1 from 1.0 only when a column mixes them
        pred, gold = list(zip(map(type, pred), pred, strict=True)), list(zip(map(type, gold), gold, strict=True))
        null: Any = (type(None), None)
        key_of = {tv: key(tv[1]) for tv in (set(pred) | set(gold)) - {null}}
    else:
        null = None
        key_of = {v: key(v) for v in (set(pred) | set(gold)) - {None}}
    vocabulary = sorted(set(key_of.values()))
    index = {k: code for code, k in enumerate(vocabulary)}
    code_of = {v: index[k] for v, k in key_of.items()}
    code_of[null] = -1

    def encode(values: list[Any]) -> Ints:
        return np.fromiter(map(code_of.__getitem__, values), dtype=np.int64, count=len(values))

    return encode(pred), encode(gold), vocabulary


def _per_distinct_pair(
    p: Ints,
    g: Ints,
    vocabulary: list[str],
    score: Callable[[list[str], list[str]], Floats],
    full_matrix_limit: int = 250_000,
) -> Floats:
    """Score each distinct (p, g) code pair once, then broadcast back to every pair.

    A small vocabulary (places, groups, dates) is scored as a full vocabulary x vocabulary
    matrix and gathered; a large one (evidence quotes) only on the pairs that occur."""
    if len(p) == 0:
        return np.zeros(0)
    width = max(len(vocabulary), 1)
    if width * width <= full_matrix_limit:
        left = [a for a in vocabulary for _ in vocabulary]
        right = vocabulary * width
        return np.asarray(score(left, right), dtype=np.float64).reshape(width, width)[p, g]
    distinct, inverse = np.unique(p * width + g, return_inverse=True)
    left = [vocabulary[c] for c in (distinct // width).tolist()]
    right = [vocabulary[c] for c in (distinct % width).tolist()]
    return np.asarray(score(left, right), dtype=np.float64)[inverse.reshape(-1)]


def _token_set_ratio(left: list[str], right: list[str]) -> Floats:
    return np.asarray(cpdist(left, right, scorer=fuzz.token_set_ratio, dtype=np.float64, workers=-1))


def _partial_ratio(left: list[str], right: list[str]) -> Floats:
    return np.asarray(cpdist(left, right, scorer=fuzz.partial_ratio, dtype=np.float64, workers=-1))


def _date_prefix(left: list[str], right: list[str]) -> Floats:
    return np.array([a.startswith(b) for a, b in zip(left, right, strict=True)], dtype=np.float64)


def _key_function(spec: FieldSpec) -> Callable[[Any], str]:
    if spec.match == "date":
        return lambda value: str(value).strip()
    return lambda value: normalize(str(value))


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
    pred_float: Floats | None = None  # number fields only
    gold_float: Floats | None = None


def _encode(spec: FieldSpec, pred_values: list[Any], gold_values: list[Any]) -> _Coded:
    cp, cg, vocabulary = _codes(pred_values, gold_values, _key_function(spec))
    if spec.match != "number":
        return _Coded(spec, cp, cg, vocabulary)
    as_float = {v: _as_float(v) for v in {*_hashable(pred_values), *_hashable(gold_values)} - {None}}
    as_float[None] = float("nan")
    fp = np.fromiter(map(as_float.__getitem__, _hashable(pred_values)), dtype=np.float64, count=len(pred_values))
    fg = np.fromiter(map(as_float.__getitem__, _hashable(gold_values)), dtype=np.float64, count=len(gold_values))
    return _Coded(spec, cp, cg, vocabulary, fp, fg)


def _compare(coded: _Coded, pi: Ints, gj: Ints, aliases: Aliases) -> tuple[Bools, Floats]:
    """(equal, similarity) for every pair; similarity is NaN where both are null."""

    spec = coded.spec
    pred_null, gold_null = coded.pred < 0, coded.gold < 0
    filled = ~pred_null[pi] & ~gold_null[gj]
    p, g = coded.pred[pi][filled], coded.gold[gj][filled]
    equal = np.zeros(len(pi), dtype=bool)
    similarity = np.zeros(len(pi))
    if spec.match == "number":
        assert coded.pred_float is not None and coded.gold_float is not None
        equal[filled] = np.abs(coded.pred_float[pi][filled] - coded.gold_float[gj][filled]) <= spec.tolerance
    elif spec.match == "exact":
        equal[filled] = p == g
    elif spec.match == "date":
        equal[filled] = _per_distinct_pair(p, g, coded.vocabulary, _date_prefix) > 0
    else:  # fuzzy / alias
        ratio = _per_distinct_pair(p, g, coded.vocabulary, _token_set_ratio)
        same = ratio >= spec.threshold
        if spec.match == "alias":
            canon = np.array([aliases.canonical(v) for v in coded.vocabulary] or [""], dtype=object)
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
    scored = [spec for spec in specs.values() if spec.match != "ignore"]
    names = [spec.name for spec in scored] + ([evidence_field] if evidence_field else [])
    pred_columns, gold_columns = _columns(pred, names), _columns(gold, names)
    coded = [_encode(spec, pred_columns[spec.name], gold_columns[spec.name]) for spec in scored]
    evidence: _Coded | None = None
    if evidence_field:  # compared as written, like similarity(); an empty quote is no quote
        quotes_p = [q or None for q in pred_columns[evidence_field]]
        quotes_g = [q or None for q in gold_columns[evidence_field]]
        evidence = _Coded(FieldSpec(evidence_field, "fuzzy"), *_codes(quotes_p, quotes_g, str))
    # Codes give each record a canonical position that does not depend on the input order.
    sort_keys = [(c.pred, c.gold) for c in [*coded, *([evidence] if evidence else [])]]
    owners_p = np.repeat(np.arange(len(articles)), [len(p) for p, _ in articles.values()])
    owners_g = np.repeat(np.arange(len(articles)), [len(g) for _, g in articles.values()])
    order_p = np.lexsort([k[0] for k in reversed(sort_keys)] + [owners_p]) if pred else np.zeros(0, np.int64)
    order_g = np.lexsort([k[1] for k in reversed(sort_keys)] + [owners_g]) if gold else np.zeros(0, np.int64)
    # Every within-article pair, built for all articles at once: pair t of article a is
    # (row t // G_a, column t % G_a) of that article's P_a x G_a block.
    sizes_p = np.array([len(p) for p, _ in articles.values()], dtype=np.int64)
    sizes_g = np.array([len(g) for _, g in articles.values()], dtype=np.int64)
    first_p, first_g = np.cumsum(sizes_p) - sizes_p, np.cumsum(sizes_g) - sizes_g
    block_sizes = sizes_p * sizes_g
    starts = np.cumsum(block_sizes) - block_sizes
    local = np.arange(int(block_sizes.sum()), dtype=np.int64) - np.repeat(starts, block_sizes)
    width = np.repeat(sizes_g, block_sizes)
    pi = order_p[np.repeat(first_p, block_sizes) + local // np.maximum(width, 1)]
    gj = order_g[np.repeat(first_g, block_sizes) + local % np.maximum(width, 1)]
    blocks = [
        Block(article_id, order_p[fp : fp + np_], order_g[fg : fg + ng], start)
        for article_id, fp, np_, fg, ng, start in zip(
            articles,
            first_p.tolist(),
            sizes_p.tolist(),
            first_g.tolist(),
            sizes_g.tolist(),
            starts.tolist(),
            strict=True,
        )
    ]
    equal, pred_null, gold_null, annotated, layers = {}, {}, {}, {}, []
    for c in coded:
        name = c.spec.name
        equal[name], layer = _compare(c, pi, gj, aliases)
        pred_null[name], gold_null[name] = c.pred < 0, c.gold < 0
        annotated[name] = np.fromiter((name in r for r in gold), dtype=bool, count=len(gold))
        unannotated = ~annotated[name][gj]
        equal[name] &= ~unannotated
        layer[unannotated] = np.nan
        layers.append(layer)
    stack = np.vstack(layers) if layers else np.full((1, len(pi)), np.nan)
    counted = (~np.isnan(stack)).sum(axis=0)
    similarity = np.divide(np.nansum(stack, axis=0), counted, out=np.zeros(len(pi)), where=counted > 0)
    for k in np.nonzero(counted == 0)[0].tolist():  # nothing filled either side: only identical records match
        similarity[k] = 1.0 if fields_only(pred[pi[k]]) == fields_only(gold[gj[k]]) else 0.0
    identity = [spec.name for spec in scored if spec.identity]
    same_incident = np.zeros(len(pi), dtype=bool)
    anchored_p, anchored_g = np.zeros(len(pred), dtype=bool), np.zeros(len(gold), dtype=bool)
    for name in identity:
        same_incident |= equal[name]
        anchored_p |= ~pred_null[name]
        anchored_g |= ~gold_null[name] & annotated[name]
    if evidence is not None:
        anchored_p |= evidence.pred >= 0
        anchored_g |= evidence.gold >= 0
    # Records with no place, no actor and no quote on either side have nothing to tell them apart by.
    same_incident |= ~anchored_p[pi] & ~anchored_g[gj]
    if evidence is not None:  # the quote anchors the incident: it is half the similarity when both have one
        both = (evidence.pred[pi] >= 0) & (evidence.gold[gj] >= 0)
        p_quotes, g_quotes = evidence.pred[pi][both], evidence.gold[gj][both]
        overlap = _per_distinct_pair(p_quotes, g_quotes, evidence.vocabulary, _token_set_ratio) / 100.0
        similarity[both] = evidence_weight * overlap + (1 - evidence_weight) * similarity[both]
        passage = _per_distinct_pair(p_quotes, g_quotes, evidence.vocabulary, _partial_ratio) >= QUOTE_OVERLAP
        same_incident[np.nonzero(both)[0][passage]] = True
    if identity or evidence is not None:  # a schema that declares neither keeps plain similarity
        similarity[~same_incident] = 0.0
    table = PairTable(blocks, pi, gj, similarity, equal, pred_null, gold_null, annotated)
    return table, pred, gold
