"""The reports as fusion reads them: a day span per date, and each name field as integer codes with
its equality rule (alias table, fuzzy threshold), fuzzy scores memoised per distinct pair of names
of one block. Pure: no I/O. Used by :mod:`llmx.core.fusion`."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz
from rapidfuzz.process import cpdist

from llmx.core.fields import FieldSpec
from llmx.core.normalize import Aliases, normalize

Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]


def columns_of(records: Sequence[Mapping[str, Any]], names: Sequence[str]) -> list[Sequence[Any]]:
    """Fields as columns, read with one C-level ``itemgetter`` call per record."""
    if len(names) < 2:
        return [[r.get(n) for r in records] for n in names]
    try:
        return list(zip(*map(itemgetter(*names), records), strict=True)) or [[] for _ in names]
    except KeyError:  # a record without some field
        return [[r.get(n) for r in records] for n in names]


@functools.lru_cache(maxsize=65536)
def day_span(value: str) -> tuple[int, int, bool] | None:
    """(first day, last day, known to the day) of ``YYYY-MM-DD`` or ``YYYY-MM`` as day ordinals;
    None for anything else (a year alone is no date to fuse on)."""
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value).toordinal()
            return day, day, True
        if len(value) == 7:
            first = dt.date.fromisoformat(value + "-01")
            following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            return first.toordinal(), following.toordinal() - 1, False
    except ValueError:
        return None
    return None


@dataclass
class Column:
    """One field as integer codes over its distinct normalised values, with its equality rule.

    Fuzzy equality of two names is computed once per distinct pair of codes and kept in a sorted
    memo (pair key → verdict), so each chunk of pairs looks the known ones up with one
    ``searchsorted`` and scores only the new ones (``rapidfuzz.process.cpdist``)."""

    codes: Ints  # per report; -1 for null
    vocabulary: list[str]
    canonical: Ints  # per code: the code of its alias-canonical form (itself if none)
    threshold: float | None  # token_set_ratio at or above which two names are the same; None: exact

    def __post_init__(self) -> None:
        self._keys = np.zeros(0, np.int64)  # sorted pair keys already scored
        self._same = np.zeros(0, bool)

    def equal(self, i: Ints, j: Ints) -> Bools:
        """Equality of the filled names of reports ``i`` and ``j``, pair by pair."""
        a, b = self.codes[i], self.codes[j]
        same = (a == b) | (self.canonical[a] == self.canonical[b])
        if self.threshold is None or same.all():
            return same
        todo = np.nonzero(~same)[0]
        width = len(self.vocabulary)
        keys = np.minimum(a[todo], b[todo]) * width + np.maximum(a[todo], b[todo])
        at = self._lookup(keys)
        missing = np.unique(keys[at < 0])
        if len(missing):
            left = [self.vocabulary[k] for k in (missing // width).tolist()]
            right = [self.vocabulary[k] for k in (missing % width).tolist()]
            scores = cpdist(left, right, scorer=fuzz.token_set_ratio, score_cutoff=self.threshold, workers=-1)
            keys_all = np.concatenate([self._keys, missing])
            order = np.argsort(keys_all, kind="stable")
            self._keys = keys_all[order]
            self._same = np.concatenate([self._same, np.asarray(scores) >= self.threshold])[order]
            at = self._lookup(keys)
        same[todo] = self._same[at]
        return same

    def _lookup(self, keys: Ints) -> Ints:
        """Where each pair key sits in the memo; -1 where it has not been scored yet."""
        at = np.searchsorted(self._keys, keys)
        found = at < len(self._keys)
        found[found] = self._keys[at[found]] == keys[found]
        return np.where(found, at, -1)


def column(values: list[Any], spec: FieldSpec | None, aliases: Aliases) -> Column:
    match = spec.match if spec else "exact"
    fuzzy = match in ("alias", "fuzzy")
    try:
        distinct = dict.fromkeys(values)
    except TypeError:  # lists or dicts in a custom schema: compare their text
        values = [v if v is None or isinstance(v, str | int | float | bool) else repr(v) for v in values]
        distinct = dict.fromkeys(values)
    distinct.pop(None, None)
    key = {v: (normalize(str(v)) if fuzzy else str(v)) for v in distinct}
    vocabulary = sorted(set(key.values()))
    index = {k: i for i, k in enumerate(vocabulary)}
    code_of = {v: index[k] for v, k in key.items()}
    code_of[None] = -1
    codes = np.fromiter(map(code_of.__getitem__, values), dtype=np.int64, count=len(values))
    canonical = np.arange(len(vocabulary), dtype=np.int64)
    if match == "alias":
        canon_index: dict[str, int] = {}
        for i, name in enumerate(vocabulary):
            canonical[i] = canon_index.setdefault(aliases.canonical(name), i)
    threshold = spec.threshold if spec and fuzzy else None
    return Column(codes, vocabulary, canonical if len(vocabulary) else np.zeros(1, np.int64), threshold)
