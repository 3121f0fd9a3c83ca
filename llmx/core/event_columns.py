"""The reports as fusion reads them: a day span per date, and each name field as integer codes with
its equality rule (alias table, fuzzy threshold), fuzzy scores memoised per distinct pair of names
of one block. Pure: no I/O. Used by :mod:`llmx.core.fusion`."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz
from rapidfuzz.process import cpdist

from llmx.core.fields import FieldSpec
from llmx.core.normalize import Aliases, normalize

Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]


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


MEMO_LIMIT = 64_000_000  # name pairs (per field, summed over blocks) a memo table may hold: 64 MB


@dataclass
class Column:
    """One field as integer codes over its distinct normalised values, with its equality rule.

    Fuzzy equality of two names is computed once per distinct pair and kept in a memo table
    indexed by the pair's position among its block's names, so each chunk of pairs looks it up in
    one numpy gather (a block with more distinct names than the table can hold uses a dict)."""

    codes: Ints  # per report; -1 for null
    vocabulary: list[str]
    canonical: Ints  # per code: the code of its alias-canonical form (itself if none)
    threshold: float | None  # token_set_ratio at or above which two names are the same; None: exact

    def __post_init__(self) -> None:
        self._known: dict[int, bool] = {}
        self._memo: tuple[Ints, Ints, Ints, NDArray[np.uint8]] | None = None

    def index(self, block: Ints) -> None:
        """Number each report's name within its block: the key of a pair of names of one block."""
        if self.threshold is None:
            return
        filled = self.codes >= 0
        span = len(self.vocabulary) + 1
        distinct, inverse = np.unique(block[filled] * span + self.codes[filled], return_inverse=True)
        owner = distinct // span
        first = np.searchsorted(owner, owner, side="left")
        width = np.bincount(owner)[owner] if len(owner) else np.zeros(0, np.int64)
        block_start = np.concatenate([[0], np.cumsum(np.bincount(owner) ** 2)])
        if block_start[-1] > MEMO_LIMIT:
            return
        local, widths, offsets = (np.full(len(self.codes), -1, np.int64) for _ in range(3))
        inverse = inverse.reshape(-1)
        local[filled] = (np.arange(len(distinct)) - first)[inverse]
        widths[filled] = width[inverse]
        offsets[filled] = block_start[owner][inverse]
        self._memo = (local, widths, offsets, np.zeros(int(block_start[-1]), np.uint8))  # 0 unknown, 1 no, 2 yes

    def equal(self, i: Ints, j: Ints) -> Bools:
        """Equality of the filled names of reports ``i`` and ``j`` (same block), pair by pair."""
        a, b = self.codes[i], self.codes[j]
        same = (a == b) | (self.canonical[a] == self.canonical[b])
        if self.threshold is None or same.all():
            return same
        todo = np.nonzero(~same)[0]
        if self._memo is None:
            same[todo] = self._equal_by_dict(a[todo], b[todo])
            return same
        local, widths, offsets, memo = self._memo
        li, lj = local[i[todo]], local[j[todo]]
        keys = offsets[i[todo]] + np.minimum(li, lj) * widths[i[todo]] + np.maximum(li, lj)
        unknown = np.nonzero(memo[keys] == 0)[0]
        if len(unknown):
            new, first = np.unique(keys[unknown], return_index=True)
            left = [self.vocabulary[c] for c in a[todo][unknown][first].tolist()]
            right = [self.vocabulary[c] for c in b[todo][unknown][first].tolist()]
            scores = np.asarray(
                cpdist(left, right, scorer=fuzz.token_set_ratio, score_cutoff=self.threshold, workers=-1)
            )
            memo[new] = 1 + (scores >= self.threshold)
        same[todo] = memo[keys] == 2
        return same

    def _equal_by_dict(self, a: Ints, b: Ints) -> Bools:
        width = len(self.vocabulary)
        keys = np.minimum(a, b) * width + np.maximum(a, b)
        distinct, inverse = np.unique(keys, return_inverse=True)
        missing = [int(k) for k in distinct.tolist() if k not in self._known]
        if missing:
            left = [self.vocabulary[k // width] for k in missing]
            right = [self.vocabulary[k % width] for k in missing]
            scores = cpdist(left, right, scorer=fuzz.token_set_ratio, score_cutoff=self.threshold, workers=-1)
            self._known.update(zip(missing, (np.asarray(scores) >= self.threshold).tolist(), strict=True))
        verdict = np.fromiter((self._known[int(k)] for k in distinct.tolist()), dtype=bool, count=len(distinct))
        return verdict[inverse.reshape(-1)]


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
