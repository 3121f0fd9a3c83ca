"""Similarity of every (predicted, gold) pair inside every article, computed for all articles at once.

Two records can only be the same incident when their evidence quotes overlap, or when they
agree on a place or an actor (fields declared ``identity``); agreement on generic fields such as
date, weapon or "intercepted" is not enough. A pair that fails this gate has similarity 0
(two records that fill no identity field and quote nothing are not gated: nothing anchors them).
A field absent from a gold record was not annotated: it takes no part in that record's pairs.

This module computes the scalar rules (tests/reference_scoring.py) as flat vectors, one entry
per within-article pair: pair by pair in Python, 100k incidents score 10x too slowly.

How: each field is coded and compared over all pairs at once (:mod:`llmx.core.similarity_fields`);
this module builds the within-article pairs, gates them and averages the fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from llmx.core.fields import QUOTE_OVERLAP, FieldSpec
from llmx.core.normalize import Aliases
from llmx.core.similarity_fields import (
    Coded,
    codes,
    columns,
    compare_field,
    encode,
    partial_ratio,
    per_distinct_pair,
    token_set_ratio,
)

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


def _canonical_orders(
    articles: Mapping[str, tuple[Sequence[Record], Sequence[Record]]], keys: list[tuple[Ints, Ints]]
) -> tuple[Ints, Ints]:
    """Records in a canonical order (by article, then their fields' codes) that does not depend on
    the input order: predicted, then gold."""
    owners_p = np.repeat(np.arange(len(articles)), [len(p) for p, _ in articles.values()])
    owners_g = np.repeat(np.arange(len(articles)), [len(g) for _, g in articles.values()])
    order_p = np.lexsort([k[0] for k in reversed(keys)] + [owners_p]) if len(owners_p) else np.zeros(0, np.int64)
    order_g = np.lexsort([k[1] for k in reversed(keys)] + [owners_g]) if len(owners_g) else np.zeros(0, np.int64)
    return order_p, order_g


def _within_article_pairs(
    articles: Mapping[str, tuple[Sequence[Record], Sequence[Record]]], order_p: Ints, order_g: Ints
) -> tuple[Ints, Ints, list[Block]]:
    """Every within-article pair, built for all articles at once: pair t of article a is (row
    t // G_a, column t % G_a) of that article's P_a x G_a block."""
    sizes_p = np.array([len(p) for p, _ in articles.values()], dtype=np.int64)
    sizes_g = np.array([len(g) for _, g in articles.values()], dtype=np.int64)
    first_p, first_g = np.cumsum(sizes_p) - sizes_p, np.cumsum(sizes_g) - sizes_g
    block_sizes = sizes_p * sizes_g
    starts = np.cumsum(block_sizes) - block_sizes
    local = np.arange(int(block_sizes.sum()), dtype=np.int64) - np.repeat(starts, block_sizes)
    width = np.maximum(np.repeat(sizes_g, block_sizes), 1)
    pi = order_p[np.repeat(first_p, block_sizes) + local // width]
    gj = order_g[np.repeat(first_g, block_sizes) + local % width]
    columns_ = (first_p.tolist(), sizes_p.tolist(), first_g.tolist(), sizes_g.tolist(), starts.tolist())
    rows = zip(articles, *columns_, strict=True)
    blocks = [Block(a, order_p[fp : fp + np_], order_g[fg : fg + ng], start) for a, fp, np_, fg, ng, start in rows]
    return pi, gj, blocks


@dataclass
class _Layers:
    """Per field: equality per pair, nulls per record, annotation per gold record; and the stack
    of per-pair similarities (NaN where the field says nothing)."""

    equal: dict[str, Bools]
    pred_null: dict[str, Bools]
    gold_null: dict[str, Bools]
    annotated: dict[str, Bools]
    stack: Floats


def _layers(coded: list[Coded], pi: Ints, gj: Ints, gold: list[Record], aliases: Aliases) -> _Layers:
    equal, pred_null, gold_null, annotated, layers = {}, {}, {}, {}, []
    for c in coded:
        name = c.spec.name
        equal[name], layer = compare_field(c, pi, gj, aliases)
        pred_null[name], gold_null[name] = c.pred < 0, c.gold < 0
        annotated[name] = np.fromiter((name in r for r in gold), dtype=bool, count=len(gold))
        unannotated = ~annotated[name][gj]
        equal[name] &= ~unannotated
        layer[unannotated] = np.nan
        layers.append(layer)
    stack = np.vstack(layers) if layers else np.full((1, len(pi)), np.nan)
    return _Layers(equal, pred_null, gold_null, annotated, stack)


def _mean_similarity(stack: Floats, pi: Ints, gj: Ints, pred: list[Record], gold: list[Record]) -> Floats:
    """The mean over the fields either side filled; with none filled, only identical records match."""
    counted = (~np.isnan(stack)).sum(axis=0)
    similarity = np.divide(np.nansum(stack, axis=0), counted, out=np.zeros(len(pi)), where=counted > 0)
    for k in np.nonzero(counted == 0)[0].tolist():
        similarity[k] = 1.0 if fields_only(pred[pi[k]]) == fields_only(gold[gj[k]]) else 0.0
    return similarity


def _same_incident(
    layers: _Layers, identity: list[str], evidence: Coded | None, pi: Ints, gj: Ints, sizes: tuple[int, int]
) -> Bools:
    """The gate before evidence: a shared identity field, or nothing to tell the records apart by
    (no place, no actor and no quote on either side)."""
    same = np.zeros(len(pi), dtype=bool)
    anchored_p, anchored_g = np.zeros(sizes[0], dtype=bool), np.zeros(sizes[1], dtype=bool)
    for name in identity:
        same |= layers.equal[name]
        anchored_p |= ~layers.pred_null[name]
        anchored_g |= ~layers.gold_null[name] & layers.annotated[name]
    if evidence is not None:
        anchored_p |= evidence.pred >= 0
        anchored_g |= evidence.gold >= 0
    return np.asarray(same | (~anchored_p[pi] & ~anchored_g[gj]), bool)


def _weigh_quotes(evidence: Coded, pi: Ints, gj: Ints, similarity: Floats, same_incident: Bools, weight: float) -> None:
    """The quote anchors the incident: it is ``weight`` of the similarity when both have one, and
    two overlapping passages are one incident (both arrays updated in place)."""
    both = (evidence.pred[pi] >= 0) & (evidence.gold[gj] >= 0)
    p_quotes, g_quotes = evidence.pred[pi][both], evidence.gold[gj][both]
    overlap = per_distinct_pair(p_quotes, g_quotes, evidence.vocabulary, token_set_ratio) / 100.0
    similarity[both] = weight * overlap + (1 - weight) * similarity[both]
    passage = per_distinct_pair(p_quotes, g_quotes, evidence.vocabulary, partial_ratio) >= QUOTE_OVERLAP
    same_incident[np.nonzero(both)[0][passage]] = True


def _encode_all(
    pred: list[Record], gold: list[Record], specs: Mapping[str, FieldSpec], evidence_field: str | None
) -> tuple[list[FieldSpec], list[Coded], Coded | None]:
    """The scored fields, each coded on both sides, and the evidence quotes coded (if any)."""
    scored = [spec for spec in specs.values() if spec.match != "ignore"]
    names = [spec.name for spec in scored] + ([evidence_field] if evidence_field else [])
    pred_columns, gold_columns = columns(pred, names), columns(gold, names)
    coded = [encode(spec, pred_columns[spec.name], gold_columns[spec.name]) for spec in scored]
    if not evidence_field:
        return scored, coded, None
    # compared as written, like similarity(); an empty quote is no quote
    quotes_p = [q or None for q in pred_columns[evidence_field]]
    quotes_g = [q or None for q in gold_columns[evidence_field]]
    return scored, coded, Coded(FieldSpec(evidence_field, "fuzzy"), *codes(quotes_p, quotes_g, str))


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
    scored, coded, evidence = _encode_all(pred, gold, specs, evidence_field)
    sort_keys = [(c.pred, c.gold) for c in [*coded, *([evidence] if evidence else [])]]
    pi, gj, blocks = _within_article_pairs(articles, *_canonical_orders(articles, sort_keys))
    layers = _layers(coded, pi, gj, gold, aliases)
    similarity = _mean_similarity(layers.stack, pi, gj, pred, gold)
    identity = [spec.name for spec in scored if spec.identity]
    same_incident = _same_incident(layers, identity, evidence, pi, gj, (len(pred), len(gold)))
    if evidence is not None:
        _weigh_quotes(evidence, pi, gj, similarity, same_incident, evidence_weight)
    if identity or evidence is not None:  # a schema that declares neither keeps plain similarity
        similarity[~same_incident] = 0.0
    table = PairTable(blocks, pi, gj, similarity, layers.equal, layers.pred_null, layers.gold_null, layers.annotated)
    return table, pred, gold
