"""One field of every (predicted, gold) pair, as :mod:`llmx.core.similarity` compares them: values
as integer codes over a *sorted* vocabulary (so the codes, and the canonical record order that
is derived from them, do not depend on input order); exact and number fields compared as codes or floats
over all pairs in one numpy operation; date, fuzzy and alias fields scored once per *distinct*
value pair (``rapidfuzz.process.cpdist``) and broadcast. Pure: no I/O."""

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

from llmx.core.fields import FieldSpec
from llmx.core.normalize import Aliases, normalize

Record = Mapping[str, Any]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Floats = NDArray[np.float64]


def columns(records: Sequence[Record], names: list[str]) -> dict[str, list[Any]]:
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


def hashable(values: list[Any]) -> list[Any]:
    try:
        set(values)
        return values
    except TypeError:  # lists or dicts in a custom schema: compare their JSON text
        return [
            v if v is None or isinstance(v, (str, int, float, bool)) else json.dumps(v, sort_keys=True) for v in values
        ]


def codes(pred: list[Any], gold: list[Any], key: Callable[[Any], str]) -> tuple[Ints, Ints, list[str]]:
    """Integer codes over the sorted vocabulary of ``key(value)`` on both sides; -1 for null.

    Work is per *distinct* value: records repeat values (places, groups, weapons) heavily. Values
    are told apart by type as well, since True == 1 == 1.0 in a set."""
    pred, gold = hashable(pred), hashable(gold)
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


def per_distinct_pair(
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


def token_set_ratio(left: list[str], right: list[str]) -> Floats:
    return np.asarray(cpdist(left, right, scorer=fuzz.token_set_ratio, dtype=np.float64, workers=-1))


def partial_ratio(left: list[str], right: list[str]) -> Floats:
    return np.asarray(cpdist(left, right, scorer=fuzz.partial_ratio, dtype=np.float64, workers=-1))


def date_prefix(left: list[str], right: list[str]) -> Floats:
    return np.array([a.startswith(b) for a, b in zip(left, right, strict=True)], dtype=np.float64)


def key_function(spec: FieldSpec) -> Callable[[Any], str]:
    if spec.match == "date":
        return lambda value: str(value).strip()
    return lambda value: normalize(str(value))


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")  # filled but not a number: equal to nothing


@dataclass(frozen=True)
class Coded:
    spec: FieldSpec
    pred: Ints  # per predicted record: code, -1 for null
    gold: Ints
    vocabulary: list[str]
    pred_float: Floats | None = None  # number fields only
    gold_float: Floats | None = None


def encode(spec: FieldSpec, pred_values: list[Any], gold_values: list[Any]) -> Coded:
    cp, cg, vocabulary = codes(pred_values, gold_values, key_function(spec))
    if spec.match != "number":
        return Coded(spec, cp, cg, vocabulary)
    as_float = {v: _number(v) for v in {*hashable(pred_values), *hashable(gold_values)} - {None}}
    as_float[None] = float("nan")
    fp = np.fromiter(map(as_float.__getitem__, hashable(pred_values)), dtype=np.float64, count=len(pred_values))
    fg = np.fromiter(map(as_float.__getitem__, hashable(gold_values)), dtype=np.float64, count=len(gold_values))
    return Coded(spec, cp, cg, vocabulary, fp, fg)


def compare_field(coded: Coded, pi: Ints, gj: Ints, aliases: Aliases) -> tuple[Bools, Floats]:
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
        equal[filled] = per_distinct_pair(p, g, coded.vocabulary, date_prefix) > 0
    else:  # fuzzy / alias
        ratio = per_distinct_pair(p, g, coded.vocabulary, token_set_ratio)
        same = ratio >= spec.threshold
        if spec.match == "alias":
            canon = np.array([aliases.canonical(v) for v in coded.vocabulary] or [""], dtype=object)
            same |= canon[p] == canon[g]
        equal[filled] = same
        similarity[filled] = ratio / 100.0
    similarity[equal] = 1.0
    similarity[pred_null[pi] & gold_null[gj]] = np.nan  # agreeing on "not reported" says nothing
    return equal, similarity
