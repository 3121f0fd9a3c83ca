"""How sure a score is: 95% bootstrap intervals over articles, and paired ones on the difference
of two runs. Pure: no I/O.

An article is the unit that is resampled, so its incidents (and their field counts) move
together. Scores are micro-averaged, a ratio of summed counts, so each resample sums the
tp/fp/fn of the articles it drew and recomputes F1 from the sums; it never averages per-article
F1s. The method is the percentile bootstrap (Efron & Tibshirani 1993, ch. 13), with the
resampling scipy.stats.bootstrap does: ``Generator.integers(0, n, (resamples, n))`` from a
seeded ``numpy.random.default_rng``, the interval the 2.5th and 97.5th percentiles
(``np.percentile``'s linear rule). The same score gives the same interval, to the last digit.
A paired interval draws the same articles for both runs, so what the two share cancels out.

A resample in which a field has nothing to count (no matched pair fills it on either side) has
no F1 for it; its percentiles are taken over the resamples that have one.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from llmx.core.scoring import PRF, Score

RESAMPLES = 9999
SEED = 0
LEVEL = 0.95
METHOD = {"method": "percentile bootstrap over articles", "level": LEVEL, "resamples": RESAMPLES, "seed": SEED}
_CELLS = 2_000_000  # counts summed at once: bounds memory on a run of many articles

Interval = list[float] | None
Verdict = str  # "better", "worse", "not distinguishable", or "n/a"


def resampled_sums(counts: NDArray[Any], resamples: int = RESAMPLES, seed: int = SEED) -> NDArray[np.float64]:
    """Per resample, the sum over the articles it drew (with replacement) of ``counts``, whose
    first axis is the article: shape ``(resamples, *counts.shape[1:])``."""
    n = counts.shape[0]
    rng = np.random.default_rng(seed)
    flat = counts.reshape(n, -1).astype(np.float64)
    rows = max(1, _CELLS // max(1, n))
    parts = []
    for start in range(0, resamples, rows):
        drawn = rng.integers(0, n, (min(rows, resamples - start), n))
        # how often each article was drawn, per resample: the sums are then one matrix product
        offsets = drawn + n * np.arange(len(drawn))[:, None]
        times = np.bincount(offsets.ravel(), minlength=len(drawn) * n).reshape(len(drawn), n)
        parts.append((times @ flat).reshape(len(drawn), *counts.shape[1:]))
    return np.concatenate(parts).astype(np.float64)


def percentile_interval(values: NDArray[np.float64]) -> Interval:
    """The central ``LEVEL`` interval of a statistic's resampled values (NaN: not defined there)."""
    kept = values[~np.isnan(values)]
    if not kept.size:
        return None
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(kept, [tail, 100 - tail])
    return [round(float(low), 4), round(float(high), 4)]


def count_table(score: Score, articles: Sequence[str], fields: Sequence[str]) -> NDArray[np.int64]:
    """``(articles, 1 + fields, 3)``: each article's incident tp/fp/fn, then each field's."""
    table = np.zeros((len(articles), 1 + len(fields), 3), dtype=np.int64)
    for i, article_id in enumerate(articles):
        article = score.articles[article_id]
        rows = [article.incidents, *(article.fields.get(name, PRF()) for name in fields)]
        table[i] = [[prf.tp, prf.fp, prf.fn] for prf in rows]
    return table


def metrics(sums: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    """P, R, F1 as :class:`PRF` defines them, from summed counts ``(..., 1 + fields, 3)``: the
    incident ones, each field's F1 (``field:<i>``) and the field macro-F1; NaN where nothing was
    counted."""
    tp, fp, fn = sums[..., 0], sums[..., 1], sums[..., 2]
    counted = tp + fp + fn > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(counted, 2 * tp / (2 * tp + fp + fn), np.nan)
        precision = np.where(counted, np.where(tp + fp > 0, tp / (tp + fp), 0.0), np.nan)
        recall = np.where(counted, np.where(tp + fn > 0, tp / (tp + fn), 0.0), np.nan)
    with warnings.catch_warnings():  # a resample with no field counted: its macro-F1 is NaN, as said
        warnings.simplefilter("ignore", RuntimeWarning)
        macro = np.nanmean(f1[..., 1:], axis=-1) if f1.shape[-1] > 1 else np.full(f1.shape[:-1], np.nan)
    found = {
        "incident_precision": precision[..., 0],
        "incident_recall": recall[..., 0],
        "incident_f1": f1[..., 0],
        "field_macro_f1": macro,
    }
    found.update({f"field:{i}": f1[..., 1 + i] for i in range(f1.shape[-1] - 1)})
    return found


def _shaped(values: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """``field:<i>`` keys gathered under ``fields`` by name."""
    shaped = {key: value for key, value in values.items() if not key.startswith("field:")}
    shaped["fields"] = {name: values[f"field:{i}"] for i, name in enumerate(fields)}
    return shaped


def score_intervals(score: Score, resamples: int = RESAMPLES, seed: int = SEED) -> dict[str, Any]:
    """``{"incident_f1": [lo, hi], ..., "fields": {name: [lo, hi]}}`` over the score's articles
    (None where there is nothing to count)."""
    fields = list(score.fields)
    counts = count_table(score, list(score.articles), fields)
    if not len(counts):
        return _shaped(dict.fromkeys(metrics(np.zeros((1 + len(fields), 3)))), fields)
    drawn = metrics(resampled_sums(counts, resamples, seed))
    return _shaped({key: percentile_interval(values) for key, values in drawn.items()}, fields)


def verdict(ci: Interval) -> Verdict:
    """From the interval of B − A, never from the sign of the point difference."""
    if ci is None:
        return "n/a"
    return "better" if ci[0] > 0 else "worse" if ci[1] < 0 else "not distinguishable"


def paired_intervals(a: Score, b: Score, resamples: int = RESAMPLES, seed: int = SEED) -> dict[str, Any]:
    """Per metric, ``{"a", "b", "delta", "ci95", "verdict"}``: B − A over the articles both scores
    hold, each resample drawing the same articles for both."""
    fields = list(dict.fromkeys([*a.fields, *b.fields]))
    articles = [article_id for article_id in a.articles if article_id in b.articles]
    count_a, count_b = count_table(a, articles, fields), count_table(b, articles, fields)
    point_a, point_b = metrics(count_a.sum(axis=0).astype(float)), metrics(count_b.sum(axis=0).astype(float))
    if articles:
        both = resampled_sums(np.stack([count_a, count_b], axis=1), resamples, seed)
        drawn_a, drawn_b = metrics(both[:, 0]), metrics(both[:, 1])
    rows = {}
    for key in point_a:
        x, y = _value(point_a[key]), _value(point_b[key])
        ci = percentile_interval(drawn_b[key] - drawn_a[key]) if articles and x is not None and y is not None else None
        delta = round(y - x, 4) if x is not None and y is not None else None
        rows[key] = {"a": x, "b": y, "delta": delta, "ci95": ci, "verdict": verdict(ci)}
    return _shaped(rows, fields)


def worse_beyond(intervals: dict[str, Any], margin: float) -> Iterator[str]:
    """Incident F1 and each field's F1 whose whole interval of B − A lies below ``-margin``: B is
    worse by more than ``margin`` with 95% confidence."""
    rows = [("incident F1", intervals["incident_f1"])]
    rows += [(f"{name} F1", row) for name, row in intervals["fields"].items()]
    for label, row in rows:
        if row["ci95"] is not None and row["ci95"][1] < -margin:
            low, high = row["ci95"]
            yield f"{label} {row['a']:.2f} → {row['b']:.2f} (Δ {row['delta']:+.2f}, 95% CI [{low:+.3f}, {high:+.3f}])"


def _value(point: NDArray[np.float64]) -> float | None:
    value = float(point)
    return None if np.isnan(value) else round(value, 4)
