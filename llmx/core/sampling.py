"""Which articles to annotate next: those the runs are least sure of. Pure: counts in, ranking out.

Each article gets "points of doubt", one for each of: a record only one of two runs found, a
field two runs fill differently on a record both found (two prompts or two models disagreeing
is the clearest sign that gold is needed), a value the checks removed, and an evidence quote
not found in the article. Disagreement is averaged over the pairs of runs, the other counts
over the runs, so one run and five runs rank on the same scale. Ties go by article id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Doubt:
    article_id: str
    disagreement: float  # records one run has and another not, plus fields that differ, per pair of runs
    removed: float  # values the checks removed, per run
    ungrounded: float  # quotes not found in the article, per run
    failed: int = 0  # runs that failed on this article (shown, not counted: there is nothing to doubt)
    unsure: float = 0.0  # values likely wrong by their confidence (sum of 1 - p), per run that has them

    @property
    def points(self) -> float:
        return round(self.disagreement + self.removed + self.ungrounded, 4)


SampleBy = Literal["points", "doubt"]


def rank(doubts: Iterable[Doubt], n: int, by: SampleBy = "points") -> list[Doubt]:
    """The ``n`` most doubtful articles, most doubtful first: by points, or (``doubt``) by the
    values their confidences say are likely wrong (active learning: gold where the model is weakest)."""
    if by == "doubt":
        return sorted(doubts, key=lambda d: (-d.unsure, -d.points, d.article_id))[: max(n, 0)]
    return sorted(doubts, key=lambda d: (-d.points, d.article_id))[: max(n, 0)]
