"""Score predicted records against gold, the way event-extraction research does. Pure: no I/O.

Per article, every predicted record is compared with every gold record; the pairs are matched
one-to-one with the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``) on
similarity, and a pair below ``min_similarity`` is no match. Unmatched predictions are false
positives, unmatched gold false negatives; a match with an ``optional`` gold record counts as
neither. Field scores are computed on matched pairs: a value where gold has null is a false
positive, a null where gold has a value a false negative, a wrong value both.

Records are sorted canonically before matching, so the result never depends on their order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from llmx.core.collector import collector_paused
from llmx.core.fields import MIN_SIMILARITY, FieldSpec
from llmx.core.normalize import Aliases
from llmx.core.similarity import Block, PairTable, pair_table

Record = Mapping[str, Any]
OPTIONAL_PENALTY = 0.01  # between equally similar gold records, prefer a required one
EVIDENCE_WEIGHT = 0.5  # share of the similarity that is evidence overlap, when both sides quote one


@dataclass
class PRF:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else (1.0 if self.fn == 0 else 0.0)

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else (1.0 if self.fp == 0 else 0.0)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def counted(self) -> bool:
        """Anything to measure? A field no matched pair fills on either side has no F1 ("n/a")."""
        return bool(self.tp + self.fp + self.fn)

    def add(self, other: PRF) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    def summary(self) -> dict[str, float | int | None]:
        return {
            "precision": round(self.precision, 4) if self.counted else None,
            "recall": round(self.recall, 4) if self.counted else None,
            "f1": round(self.f1, 4) if self.counted else None,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


@dataclass
class Pair:
    predicted: Record
    gold: Record
    similarity: float
    optional: bool
    differing: list[str]
    predicted_index: int = -1  # position in the run's records for the article
    gold_index: int = -1  # position in the gold file's incidents


@dataclass
class ArticleScore:
    article_id: str
    incidents: PRF = field(default_factory=PRF)
    matched: list[Pair] = field(default_factory=list)
    missed: list[Record] = field(default_factory=list)
    spurious: list[Record] = field(default_factory=list)
    failed: str | None = None
    missed_indices: list[int] = field(default_factory=list)  # positions in the gold file
    spurious_indices: list[int] = field(default_factory=list)  # positions in the run's records
    fields: dict[str, PRF] = field(default_factory=dict)  # this article's share of each field's counts


@dataclass
class Score:
    incidents: PRF = field(default_factory=PRF)
    fields: dict[str, PRF] = field(default_factory=dict)
    articles: dict[str, ArticleScore] = field(default_factory=dict)

    @property
    def field_macro_f1(self) -> float | None:
        """Mean F1 of the fields that have anything to measure; None ("n/a") when none has."""
        used = [prf for prf in self.fields.values() if prf.counted]
        return sum(prf.f1 for prf in used) / len(used) if used else None


@collector_paused()
def score_run(
    predictions: Mapping[str, Sequence[Record] | None],
    gold: Mapping[str, Sequence[Record]],
    specs: Mapping[str, FieldSpec],
    aliases: Aliases,
    evidence_field: str | None = None,
    min_similarity: float = MIN_SIMILARITY,
    failures: Mapping[str, str] | None = None,
) -> Score:
    """Micro-averaged score over the articles that have gold. A failed article predicts nothing."""
    articles = {aid: (list(predictions.get(aid) or []), list(gold[aid])) for aid in sorted(gold)}
    table, pred, gold_records = pair_table(articles, specs, aliases, evidence_field, EVIDENCE_WEIGHT)
    local_p, local_g = _positions_in_article(articles)
    optional = np.array([bool(r.get("optional")) for r in gold_records], dtype=bool)
    names = list(table.equal)
    total = Score(fields={name: PRF() for name in names})
    matches: list[tuple[ArticleScore, int, int, int, float]] = []  # (article, pred, gold, pair index, similarity)
    for block in table.blocks:
        article = ArticleScore(article_id=block.article_id)
        article.failed = (failures or {}).get(block.article_id)
        total.articles[block.article_id] = article
        pairs = _assign(table, block, optional, min_similarity)
        matches.extend((article, p, g, k, sim) for p, g, k, sim in pairs)
        taken_p, taken_g = {p for p, _, _, _ in pairs}, {g for _, g, _, _ in pairs}
        spurious = [p for p in block.pred.tolist() if p not in taken_p]
        missed = [g for g in block.gold.tolist() if g not in taken_g and not optional[g]]
        _unmatched(article, (spurious, pred, local_p), (missed, gold_records, local_g))
    _tally(matches, table, names, optional, pred, gold_records, total, (local_p, local_g))
    for article in total.articles.values():
        total.incidents.add(article.incidents)
    return total


def _positions_in_article(
    articles: Mapping[str, tuple[list[Record], list[Record]]],
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Each record's position within its own article (for --json: which record matched which)."""
    empty = [np.zeros(0, np.int64)]
    local_p = np.concatenate([np.arange(len(p)) for p, _ in articles.values()] or empty)
    local_g = np.concatenate([np.arange(len(g)) for _, g in articles.values()] or empty)
    return local_p, local_g


def _unmatched(
    article: ArticleScore,
    spurious: tuple[list[int], list[Record], NDArray[np.int64]],
    missed: tuple[list[int], list[Record], NDArray[np.int64]],
) -> None:
    """The article's false positives and negatives: the records, and their positions in it."""
    (p_ids, pred, local_p), (g_ids, gold, local_g) = spurious, missed
    article.spurious, article.spurious_indices = [pred[p] for p in p_ids], [int(local_p[p]) for p in p_ids]
    article.missed, article.missed_indices = [gold[g] for g in g_ids], [int(local_g[g]) for g in g_ids]
    article.incidents = PRF(tp=0, fp=len(p_ids), fn=len(g_ids))


def _assign(
    table: PairTable,
    block: Block,
    optional: NDArray[np.bool_],
    min_similarity: float,
) -> list[tuple[int, int, int, float]]:
    """One article's one-to-one matches (pred, gold, pair index, similarity): the Hungarian
    assignment on similarity, an optional gold record a hair less attractive, pairs below
    ``min_similarity`` dropped."""
    from scipy.optimize import linear_sum_assignment  # 0.4 s to import once; only scoring needs it

    rows_n, cols_n = len(block.pred), len(block.gold)
    if not (rows_n and cols_n):
        return []
    sim = table.similarity[block.start : block.start + rows_n * cols_n].reshape(rows_n, cols_n)
    rows, cols = linear_sum_assignment(sim - OPTIONAL_PENALTY * optional[block.gold], maximize=True)
    return [
        (int(block.pred[i]), int(block.gold[j]), block.start + i * cols_n + j, float(sim[i, j]))
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True)
        if sim[i, j] >= min_similarity
    ]


def _tally(
    matches: list[tuple[ArticleScore, int, int, int, float]],
    table: PairTable,
    names: list[str],
    optional: NDArray[np.bool_],
    pred: list[Record],
    gold: list[Record],
    total: Score,
    local: tuple[NDArray[np.int64], NDArray[np.int64]],
) -> None:
    """Field outcomes of all matched pairs at once: a value where gold is null is a false
    positive, a null where gold has a value a false negative, a wrong value both."""
    if not matches:
        return
    p_idx, g_idx, k_idx = (np.array([m[i] for m in matches]) for i in (1, 2, 3))
    counts = ~optional[g_idx]  # matching optional gold is neither rewarded nor penalised
    masks = np.zeros(len(matches), dtype=np.int64)
    order = {article_id: slot for slot, article_id in enumerate(total.articles)}
    slots = np.array([order[m[0].article_id] for m in matches])  # an interval resamples articles: count each
    for bit, name in enumerate(names):
        pred_filled, gold_filled = ~table.pred_null[name][p_idx], ~table.gold_null[name][g_idx]
        same = table.equal[name][k_idx]
        annotated = table.gold_annotated[name][g_idx]  # an unannotated gold field is not scored
        differs = (pred_filled | gold_filled) & ~same & annotated
        masks |= differs.astype(np.int64) << bit
        scored = counts & annotated
        outcome = (same & scored, pred_filled & differs & scored, gold_filled & differs & scored)
        total.fields[name].add(PRF(*(int(x.sum()) for x in outcome)))
        per_article = [np.bincount(slots, weights=x, minlength=len(order)).astype(int).tolist() for x in outcome]
        for article, tp, fp, fn in zip(total.articles.values(), *per_article, strict=True):
            article.fields[name] = PRF(tp, fp, fn)
    decoded: dict[int, list[str]] = {}  # few distinct masks; decode each once
    for (article, p, g, _, sim), mask in zip(matches, masks.tolist(), strict=True):
        differing = decoded.get(mask)
        if differing is None:
            differing = decoded[mask] = [name for bit, name in enumerate(names) if mask >> bit & 1]
        article.matched.append(
            Pair(pred[p], gold[g], round(sim, 4), bool(optional[g]), differing, int(local[0][p]), int(local[1][g]))
        )
        article.incidents.tp += not optional[g]
