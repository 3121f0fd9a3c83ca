"""Score event fusion against gold, as coreference research does. Pure: no I/O.

Scored on the predicted reports that matched a (required) gold incident: each carries its
predicted event and its gold event (the gold record's ``event`` name, or an event of its own).

- **pairwise**: over pairs of those reports, a pair put in one event is a true positive when gold
  has them in one event too (else a false merge, a false positive); a pair gold has in one event
  that the prediction keeps apart is a missed merge (a false negative).
- **B³**: per report, precision is the share of its predicted event that is in its gold event,
  recall the share of its gold event that is in its predicted event; both averaged over reports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from llmx.core.scoring import PRF

ReportRef = tuple[str, int]  # (article id, incident index in the article's records, from 0)


@dataclass(frozen=True)
class BCubed:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def summary(self) -> dict[str, float]:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


@dataclass
class EventScore:
    pairwise: PRF
    bcubed: BCubed
    reports: int  # matched reports scored
    predicted_events: int
    gold_events: int
    false_merges: list[tuple[ReportRef, ReportRef]] = field(default_factory=list)
    missed_merges: list[tuple[ReportRef, ReportRef]] = field(default_factory=list)
    why: dict[tuple[ReportRef, ReportRef], dict[str, Any]] = field(default_factory=dict)  # pair → its weights


def score_events(items: Sequence[tuple[ReportRef, Hashable, Hashable]]) -> EventScore:
    """``items``: (report, predicted event, gold event) for every matched report."""
    items = sorted(items, key=lambda item: item[0])
    predicted: dict[Hashable, list[ReportRef]] = {}
    gold: dict[Hashable, list[ReportRef]] = {}
    gold_of: dict[ReportRef, Hashable] = {}
    predicted_of: dict[ReportRef, Hashable] = {}
    for report, p, g in items:
        predicted.setdefault(p, []).append(report)
        gold.setdefault(g, []).append(report)
        gold_of[report], predicted_of[report] = g, p
    score = EventScore(PRF(), BCubed(1.0, 1.0), len(items), len(predicted), len(gold))
    for members in predicted.values():
        for a, b in combinations(members, 2):
            if gold_of[a] == gold_of[b]:
                score.pairwise.tp += 1
            else:
                score.pairwise.fp += 1
                score.false_merges.append((a, b))
    for members in gold.values():
        for a, b in combinations(members, 2):
            if predicted_of[a] != predicted_of[b]:
                score.pairwise.fn += 1
                score.missed_merges.append((a, b))
    if items:
        overlap = Counter((p, g) for _, p, g in items)
        precision = sum(overlap[(p, g)] / len(predicted[p]) for _, p, g in items) / len(items)
        recall = sum(overlap[(p, g)] / len(gold[g]) for _, p, g in items) / len(items)
        score.bcubed = BCubed(precision, recall)
    return score
