"""Fuse reports into events: blocking, match weights, clusters that refuse chains. Pure: no I/O.

Reports are the records of a run, across its articles. Candidate pairs come from blocking, never
all pairs: each report has keys (the informative words of its places, "harir" for "Harir air
base"; its normalised actors; the names and numbers of its own sentence), and is paired with
the reports that share a key and whose days are within ``days + slack`` (one sweep with
``searchsorted`` over the (report, key) entries sorted by key and first day), so a report that
names no place or no date of its own is still compared with its plausible partners. A key held
by more than ``BLOCK_CAP`` reports around a report's days is dropped there (a country's main
actor on a busy day tells nothing apart), which keeps the pairs linear in the reports. A pair
sharing several keys is made once (one sort of the pair codes). The country is not a block: the
model names the wrong one too often ("Kurdistan", "unknown"); it is weighed like every other
field.

Each candidate pair gets its comparison levels and vetoes (:mod:`llmx.core.event_compare`) a
chunk at a time; the levels are kept as one pattern number per pair, so memory stays flat and
the weights (:mod:`llmx.core.event_weights`: from gold, by EM, or the defaults) are looked up per
pattern once they are known.

Pairs at or above the rule's ``threshold`` are merged heaviest first, and two groups merge only
when every report of one is compatible with every report of the other: a candidate pair, not
vetoed, weighing at least ``keep_apart`` (complete linkage). An event never chains two reports
that are apart ("A ~ B ~ C" with A and C two explicit days apart), and never holds two records of
one article (the extraction already merged what an article repeats). The pairs that made each
merge are kept: they are the event's explanation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from llmx.core.collector import collector_paused
from llmx.core.event_compare import ReportColumns
from llmx.core.event_rules import EventRule
from llmx.core.event_weights import (
    LEVELS,
    Weights,
    defaults,
    expectation_maximisation,
    explain,
    from_labels,
)
from llmx.core.fields import FieldSpec
from llmx.core.normalize import Aliases

Record = Mapping[str, Any]
Ints = NDArray[np.int64]
CHUNK_PAIRS = 500_000  # candidate pairs compared at once: bounds the working memory
BLOCK_CAP = 40  # reports one blocking key may hold around a report: more, and it tells nothing apart
EM_MIN_PAIRS = 200  # fewer candidate pairs than this teach EM nothing: keep the defaults


@dataclass
class Link:
    """Two reports (positions in the records given) whose pair joined their groups into one event."""

    left: int
    right: int
    weight: float


@dataclass
class Fusion:
    """Which event each report is in (events numbered in order of their first report), the pairs
    that joined them, and the counts that show the blocking at work."""

    labels: Ints
    candidate_pairs: int
    compatible_pairs: int
    links: list[Link] = field(default_factory=list)
    weights: Weights | None = None
    columns: ReportColumns | None = None

    @property
    def events(self) -> int:
        return int(self.labels.max()) + 1 if len(self.labels) else 0

    def explain(self, left: int, right: int) -> dict[str, Any]:
        """Why two reports are (or are not) one event: each field's level and bits, the total,
        and the veto if any; a pair blocking never compared says so."""
        assert self.columns is not None and self.weights is not None
        levels, veto = self.columns.compare(np.asarray([left]), np.asarray([right]))
        weight = float(self.weights.score(levels)[0])
        keys = self.columns.keys()[[left, right]]
        c, window = self.columns, self.columns.rule.window
        near = max(c.lo[right] - c.hi[left], c.lo[left] - c.hi[right]) <= window.days + window.slack
        compared = bool(np.isin(keys[0][keys[0] >= 0], keys[1]).any() and c.timed[[left, right]].all() and near)
        fields = explain(self.weights, levels[0])
        return {"weight": round(weight, 2), "vetoed": bool(veto[0]), "compared": compared, "fields": fields}


def _entries(columns: ReportColumns, cap: int) -> tuple[Ints, Ints, Ints]:
    """The (report, key) entries blocking sweeps, sorted by key then first day, without the
    entries of a key too crowded around them to tell reports apart: (report, sweep position of its
    first day, sweep position of the last day a partner may start)."""
    keys = columns.keys()
    owner, slot = np.nonzero((keys >= 0) & columns.timed[:, None])
    if not len(owner):
        return owner, owner, owner
    key = keys[owner, slot]
    lo, hi = columns.lo[owner], columns.hi[owner]
    reach = columns.rule.window.days + columns.rule.window.slack
    base, stride = int(lo.min()), int(hi.max() - lo.min()) + 2 * reach + 2  # windows never cross keys
    first = key * stride + (lo - base + reach)  # one number orders by key, then first day
    order = np.argsort(first, kind="stable")
    owner, first = owner[order], first[order]
    last = first + (hi - lo)[order] + reach
    crowd = np.searchsorted(first, last, side="right") - np.searchsorted(first, first - reach, side="left")
    keep = crowd <= cap
    return owner[keep], first[keep], last[keep]


def candidates(columns: ReportColumns, articles: Ints, chunk: int, cap: int = BLOCK_CAP) -> Iterator[tuple[Ints, Ints]]:
    """Chunks of (left, right) candidate pairs, each pair once (left < right, in order), never two
    records of one article. Two reports are candidates when they share a blocking key
    (:meth:`ReportColumns.keys`) and their days are within ``days + slack``: one sweep over the
    entries sorted by key and first day pairs each with the following entries of its key that
    start within reach (``searchsorted``). A key that holds more than ``cap`` reports within reach
    of one (a country's main actor, the number 2) is dropped there: it would compare everything
    with everything and tells nothing apart; the places and rarer words of those reports still
    block them. So the pairs grow with the reports, not with their square."""
    n = len(articles)
    owner, first, last = _entries(columns, cap)
    count = np.maximum(np.searchsorted(first, last, side="right") - np.arange(1, len(owner) + 1), 0)
    total = np.cumsum(count)
    found: list[Ints] = []
    start = 0
    while start < len(owner):
        before = int(total[start - 1]) if start else 0
        stop = max(start + 1, int(np.searchsorted(total, before + chunk, side="right")))
        c = count[start:stop]
        if int(c.sum()):
            row = np.repeat(np.arange(start, stop, dtype=np.int64), c)
            other = row + 1 + np.arange(int(c.sum()), dtype=np.int64) - np.repeat(np.cumsum(c) - c, c)
            a, b = owner[row], owner[other]
            keep = articles[a] != articles[b]
            found.append(np.minimum(a, b)[keep] * n + np.maximum(a, b)[keep])
        start = stop
    codes = np.concatenate(found) if found else np.zeros(0, np.int64)
    del found
    codes.sort()  # in place; then a pair found under several keys is kept once
    codes = codes[np.concatenate([[True], codes[1:] != codes[:-1]])] if len(codes) else codes
    for at in range(0, len(codes), chunk):
        part = codes[at : at + chunk]
        yield part // n, part % n


def _encode(levels: NDArray[np.int8]) -> Ints:
    return (levels.astype(np.int64) * (LEVELS ** np.arange(levels.shape[1], dtype=np.int64))).sum(axis=1)


def _decode(codes: Ints, width: int) -> NDArray[np.int8]:
    return ((codes[:, None] // (LEVELS ** np.arange(width, dtype=np.int64))) % LEVELS).astype(np.int8)


def gold_weights(
    records: Sequence[Record],
    articles: Sequence[str],
    published: Sequence[dt.date | None],
    events: Sequence[str | None],
    rule: EventRule,
    specs: Mapping[str, FieldSpec],
    aliases: Aliases,
) -> Weights | None:
    """m and u from gold records and their ``event`` names (None: no candidate pair of one event)."""
    columns = ReportColumns(records, published, rule, specs, aliases)
    codes = {a: i for i, a in enumerate(dict.fromkeys(articles))}
    article_ids = np.asarray([codes[a] for a in articles], np.int64)
    names = np.asarray([e or f"\0{i}" for i, e in enumerate(events)], dtype=object)
    parts = []
    for a, b in candidates(columns, article_ids, CHUNK_PAIRS):
        levels, veto = columns.compare(a, b)  # a vetoed pair is apart whatever it weighs: it teaches nothing
        parts.append((levels[~veto], (names[a] == names[b])[~veto]))
    if not parts or not any(match.any() for _, match in parts):
        return None
    levels = np.concatenate([p[0] for p in parts])
    return from_labels(columns.comparisons, levels, np.concatenate([p[1] for p in parts]).astype(bool))


@collector_paused()
def fuse(
    records: Sequence[Record],
    articles: Sequence[str],
    published: Sequence[dt.date | None],
    rule: EventRule,
    specs: Mapping[str, FieldSpec],
    aliases: Aliases,
    chunk: int = CHUNK_PAIRS,
    weights: Weights | None = None,
    threshold: float | None = None,
) -> Fusion:
    """Label every report with its event. ``records[i]`` came from article ``articles[i]``,
    published on ``published[i]`` (or None); give records in a canonical order (by article id,
    then position) so event numbers do not depend on how they were read. ``weights``: m and u
    known beforehand (from gold); else by EM (``estimate: em`` or ``gold`` without gold) or the
    defaults. ``threshold`` overrides the rule's."""
    columns = ReportColumns(records, published, rule, specs, aliases)
    n = len(records)
    codes: dict[str, int] = {}
    article_ids = np.fromiter((codes.setdefault(a, len(codes)) for a in articles), np.int64, count=n)
    lefts, rights, patterns = [], [], []
    total = 0
    for left, right in candidates(columns, article_ids, chunk):
        total += len(left)
        levels, veto = columns.compare(left, right)
        keep = ~veto
        lefts.append(left[keep].astype(np.int32))
        rights.append(right[keep].astype(np.int32))
        patterns.append(_encode(levels[keep]))
    left = np.concatenate(lefts).astype(np.int64) if lefts else np.zeros(0, np.int64)
    right = np.concatenate(rights).astype(np.int64) if rights else np.zeros(0, np.int64)
    code = np.concatenate(patterns) if patterns else np.zeros(0, np.int64)
    del lefts, rights, patterns
    distinct, inverse, counts = np.unique(code, return_inverse=True, return_counts=True)
    distinct_levels = _decode(distinct, len(columns.comparisons))
    if weights is None:
        if rule.link.estimate != "fixed" and counts.sum() >= EM_MIN_PAIRS:
            start = defaults(columns.comparisons)
            weights = expectation_maximisation(start, distinct_levels, counts.astype(np.float64))
        else:
            weights = defaults(columns.comparisons)
    weight = weights.score(distinct_levels)[inverse.reshape(-1)] if len(code) else np.zeros(0)
    link = rule.link
    cut = link.threshold if threshold is None else threshold
    apart = min(link.keep_apart, cut)
    compatible = weight >= apart
    keys = np.sort(left[compatible] * n + right[compatible])
    joining = np.nonzero(weight >= cut)[0]
    joining = joining[np.lexsort((right[joining], left[joining], -weight[joining]))]
    labels, links = _cluster(n, left[joining], right[joining], weight[joining], keys)
    return Fusion(labels, total, int(compatible.sum()), links, weights, columns)


def _cluster(n: int, left: Ints, right: Ints, weight: NDArray[np.float64], compatible: Ints) -> tuple[Ints, list[Link]]:
    """Complete-linkage merging of the joining pairs, in the order given; labels by first report."""
    root = list(range(n))
    allowed = set(compatible.tolist())
    members: dict[int, list[int]] = {}
    links: list[Link] = []
    for a, b, w in zip(left.tolist(), right.tolist(), weight.tolist(), strict=True):
        ra, rb = root[a], root[b]
        if ra == rb:
            continue
        ma, mb = members.get(ra, [ra]), members.get(rb, [rb])
        if (len(ma) > 1 or len(mb) > 1) and not all(
            (x * n + y if x < y else y * n + x) in allowed for x in ma for y in mb
        ):
            continue
        if len(ma) < len(mb):
            ra, rb, ma, mb = rb, ra, mb, ma
        for report in mb:
            root[report] = ra
        ma.extend(mb)
        members[ra] = ma
        members.pop(rb, None)
        links.append(Link(a, b, round(w, 2)))
    roots = np.asarray(root, dtype=np.int64)
    _, first, inverse = np.unique(roots, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.reshape(-1)], links
