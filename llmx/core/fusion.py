"""Fuse reports into events: blocking, the pair gate, complete-linkage clustering. Pure: no I/O.

Reports are the records of a run, across its articles. Candidate pairs come from blocking, never
all pairs: reports are sorted by block (e.g. country), class (weapon class: two classes never
fuse) and first day, and each is paired only with the reports of its block and class that start
before its date window closes (one sweep with ``searchsorted``). Every pair that could be one
event is produced exactly once, and nothing else. Candidates are checked by the rule
(:mod:`llmx.core.event_rules`) in numpy, a chunk at a time, so working memory stays flat
whatever the number of pairs.

Pairs that pass are merged strongest first (union by size), and two groups merge only when
every report of one passes the rule with every report of the other (complete linkage): an event
never chains two reports the rule keeps apart ("A ~ B ~ C" with A and C two days apart), and
never holds two records of one article (the extraction already merged what an article repeats).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from llmx.core.collector import collector_paused
from llmx.core.event_columns import column, day_span
from llmx.core.event_rules import EventRule
from llmx.core.fields import FieldSpec
from llmx.core.normalize import Aliases

Record = Mapping[str, Any]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
CHUNK_PAIRS = 500_000  # candidate pairs checked at once: bounds the working memory


@dataclass
class Fusion:
    """Which event each report is in (events numbered in order of their first report), and the
    counts that show the blocking at work."""

    labels: Ints
    candidate_pairs: int
    compatible_pairs: int

    @property
    def events(self) -> int:
        return int(self.labels.max()) + 1 if len(self.labels) else 0


class _Reports:
    """The reports that can be fused (in a block, with a day), sorted by block and first day, as
    columns; and the rule as vectorised checks over pairs of their positions. Candidate pairs are
    near each other in this order, so the checks read memory almost in sequence."""

    def __init__(
        self,
        records: Sequence[Record],
        articles: Sequence[str],
        published: Sequence[dt.date | None],
        rule: EventRule,
        specs: Mapping[str, FieldSpec],
        aliases: Aliases,
    ) -> None:
        n = len(records)
        window = rule.window
        self.days = window.days
        lo, hi = np.zeros(n, np.int64), np.zeros(n, np.int64)
        timed, dated = np.zeros(n, bool), np.zeros(n, bool)
        for i, (record, day) in enumerate(zip(records, published, strict=True)):
            value = record.get(window.name)
            span = day_span(value) if isinstance(value, str) else None
            if span is not None:
                lo[i], hi[i], dated[i] = span
                timed[i] = True
            elif day is not None:  # undated: within published_days before its publication
                lo[i], hi[i] = day.toordinal() - window.published_days, day.toordinal()
                timed[i] = True
        blocks = [column([r.get(name) for r in records], specs.get(name), aliases) for name in rule.block]
        block_keys = np.stack([b.canonical[np.maximum(b.codes, 0)] * (b.codes >= 0) - (b.codes < 0) for b in blocks])
        _, block = np.unique(block_keys.T, axis=0, return_inverse=True)
        block = block.reshape(-1).astype(np.int64)
        eligible = np.nonzero((block_keys >= 0).all(axis=0) & timed)[0]
        rep, sub, self.copy = self._sub_blocks(records, eligible, block, rule)
        sorted_ = np.lexsort((lo[rep], sub, block[rep]))
        self.order = rep[sorted_]  # position → index in records
        self.copy, self.sub = self.copy[sorted_], sub[sorted_]
        self.block, self.lo, self.hi, self.dated = block[self.order], lo[self.order], hi[self.order], dated[self.order]
        chosen = [records[k] for k in self.order.tolist()]

        def values(name: str) -> list[Any]:
            return [r.get(name) for r in chosen]

        article_codes: dict[str, int] = {}
        named = [articles[k] for k in self.order.tolist()]
        self.article = np.fromiter((article_codes.setdefault(a, len(article_codes)) for a in named), np.int64)
        self.places = [column(values(name), specs.get(name), aliases) for name in rule.places]
        self.actors = [(column(values(r.name), specs.get(r.name), aliases), r.anchor) for r in rule.compatible]
        for col in [*self.places, *(c for c, _ in self.actors)]:
            col.index(self.block)
        self.classes = []
        for r in rule.classed:
            names = sorted(set(r.classes.values()))
            of = {value: names.index(group) for value, group in r.classes.items()}
            self.classes.append(np.fromiter((of.get(str(v), -1) for v in values(r.name)), np.int64))

    @staticmethod
    def _sub_blocks(
        records: Sequence[Record], eligible: Ints, block: Ints, rule: EventRule
    ) -> tuple[Ints, Ints, Bools]:
        """Within a block, reports of different weapon classes never fuse, so each class is a
        sub-block; a report in no class (which agrees with any) goes in a sub-block of its own
        and, as a copy, in every class sub-block of its block (copies never pair with copies)."""
        if not rule.classed:
            return eligible, np.zeros(len(eligible), np.int64), np.zeros(len(eligible), bool)
        first = rule.classed[0]
        names = sorted(set(first.classes.values()))
        of = {value: names.index(group) for value, group in first.classes.items()}
        cls = np.fromiter((of.get(str(records[k].get(first.name)), -1) for k in eligible.tolist()), np.int64)
        wild = len(names)
        classed = cls >= 0
        present: dict[int, list[int]] = {}
        for b, c in set(zip(block[eligible[classed]].tolist(), cls[classed].tolist(), strict=True)):
            present.setdefault(b, []).append(c)
        rep, sub, copy = [eligible], [np.where(classed, cls, wild)], [np.zeros(len(eligible), bool)]
        for k in eligible[~classed].tolist():
            copies = sorted(present.get(int(block[k]), []))
            rep.append(np.full(len(copies), k, np.int64))
            sub.append(np.asarray(copies, np.int64))
            copy.append(np.ones(len(copies), bool))
        return np.concatenate(rep), np.concatenate(sub), np.concatenate(copy)

    def gate(self, left: Ints, right: Ints) -> tuple[Ints, Ints, Ints]:
        """The pairs (of one block and date window) the rule makes one event, and their strength."""
        alive = (self.article[left] != self.article[right]) & ~(self.copy[left] & self.copy[right])
        for cls in self.classes:
            a, b = cls[left], cls[right]
            alive &= (a < 0) | (b < 0) | (a == b)
        both_dated = self.dated[left] & self.dated[right]
        could_anchor = np.zeros(len(left), bool)
        for col in self.places:
            could_anchor |= (col.codes[left] >= 0) & (col.codes[right] >= 0)
        for col, anchor in self.actors:
            if anchor:
                could_anchor |= (col.codes[left] >= 0) & (col.codes[right] >= 0) & both_dated
        keep = np.nonzero(alive & could_anchor)[0]
        left, right, both_dated = left[keep], right[keep], both_dated[keep]
        ok = np.ones(len(left), bool)
        place_agree, actor_agree = np.zeros(len(left), bool), np.zeros(len(left), bool)
        strength = np.zeros(len(left), np.int64)
        checks = [*((c, "place") for c in self.places), *((c, "actor" if a else "") for c, a in self.actors)]
        for col, role in checks:
            a, b = col.codes[left], col.codes[right]
            rows = np.nonzero(ok & (a >= 0) & (b >= 0))[0]
            same = col.equal(left[rows], right[rows])
            ok[rows[~same]] = False  # both name it, differently: never one event
            agreed = np.zeros(len(left), bool)
            agreed[rows[same]] = True
            if role == "place":
                place_agree |= agreed
                strength += 2 * agreed
            else:
                actor_agree |= agreed & (role == "actor")
                strength += agreed
        ok &= place_agree | (actor_agree & both_dated)
        strength += both_dated & (self.lo[left] == self.lo[right])
        return left[ok], right[ok], strength[ok]

    def candidates(self, chunk: int) -> Iterator[tuple[Ints, Ints]]:
        """Chunks of (left, right) candidate positions: same block, date windows within ``days``."""
        if len(self.order) < 2:
            return
        base = int(self.lo.min())
        stride = int(self.hi.max()) - base + self.days + 2
        blocks = self.block * (int(self.sub.max()) + 1) + self.sub
        key = blocks * stride + (self.lo - base)
        limit = blocks * stride + (self.hi - base + self.days)
        count = np.searchsorted(key, limit, side="right") - np.arange(1, len(key) + 1)
        count = np.maximum(count, 0)
        total = np.cumsum(count)
        start = 0
        while start < len(key):
            before = int(total[start - 1]) if start else 0
            stop = max(start + 1, int(np.searchsorted(total, before + chunk, side="right")))
            c = count[start:stop]
            pairs = int(c.sum())
            if pairs:
                left = np.repeat(np.arange(start, stop, dtype=np.int64), c)
                offset = np.arange(pairs, dtype=np.int64) - np.repeat(np.cumsum(c) - c, c)
                yield left, left + 1 + offset
            start = stop


@collector_paused()
def fuse(
    records: Sequence[Record],
    articles: Sequence[str],
    published: Sequence[dt.date | None],
    rule: EventRule,
    specs: Mapping[str, FieldSpec],
    aliases: Aliases,
    chunk: int = CHUNK_PAIRS,
) -> Fusion:
    """Label every report with its event. ``records[i]`` came from article ``articles[i]``,
    published on ``published[i]`` (or None); give records in a canonical order (by article id,
    then position) so event numbers do not depend on how they were read."""
    reports = _Reports(records, articles, published, rule, specs, aliases)
    n = len(records)
    found: list[tuple[Ints, Ints, Ints]] = []
    candidates = 0
    for left, right in reports.candidates(chunk):
        candidates += len(left)
        a, b, strength = reports.gate(left, right)
        a, b = reports.order[a], reports.order[b]  # positions → indices in records
        found.append((np.minimum(a, b), np.maximum(a, b), strength))
    if found:
        left, right, strength = (np.concatenate(parts) for parts in zip(*found, strict=True))
    else:
        left = right = strength = np.zeros(0, np.int64)
    order = np.lexsort((right, left, -strength))
    return Fusion(_cluster(n, left[order], right[order]), candidates, len(left))


def _cluster(n: int, left: Ints, right: Ints) -> Ints:
    """Complete-linkage merging of the passing pairs, in the order given; labels by first report."""
    compatible = set((left * n + right).tolist())
    root = list(range(n))
    members: dict[int, list[int]] = {}
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        ra, rb = root[a], root[b]
        if ra == rb:
            continue
        ma, mb = members.get(ra, [ra]), members.get(rb, [rb])
        if (len(ma) > 1 or len(mb) > 1) and not all(
            (x * n + y if x < y else y * n + x) in compatible for x in ma for y in mb
        ):
            continue
        if len(ma) < len(mb):
            ra, rb, ma, mb = rb, ra, mb, ma
        for x in mb:
            root[x] = ra
        ma.extend(mb)
        members[ra] = ma
        members.pop(rb, None)
    roots = np.asarray(root, dtype=np.int64)
    _, first, inverse = np.unique(roots, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.reshape(-1)]
