"""Fellegi–Sunter match weights for pairs of reports. Pure: no I/O.

For each comparison (:mod:`llmx.core.event_compare`) and each of its levels, ``m`` is how often
two reports *of one event* fall in that level, ``u`` how often two reports of *different*
events that blocking still compares do; the level's weight is ``log2(m / u)`` bits, and a pair's
match weight is the sum over its comparisons (a level-0 field, one side silent, weighs 0). Two
reports of one event often disagree on a noisy field ("drone" and "explosive"), so such a
disagreement costs bits instead of vetoing the pair.

m and u are estimated as probabilistic record-linkage does (Splink's ideas, without its
database engine: the pairs are already in numpy chunks, and the whole model is a few dozen
numbers): from labelled pairs (the project's gold events) when there are some, else by
expectation–maximisation over the candidate pairs' comparison patterns, always starting from
(and pulled towards) the defaults below by pseudo-counts, so a small run cannot make one noisy
field a veto. ``u`` here is among *candidate* pairs (same place words, near dates), so the
threshold is on the weight alone, with no prior odds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from llmx.core.event_compare import Comparison

Levels = NDArray[np.int8]
PSEUDO = 20.0  # pairs' worth of belief in the defaults: what a few labels or a small run can move
# m and u of levels 1.. per kind, among candidate pairs; level 0 (not given) always weighs 0
DEFAULTS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "window": ((0.65, 0.20, 0.05, 0.10), (0.30, 0.30, 0.25, 0.15)),
    "place": ((0.80, 0.17, 0.03), (0.45, 0.25, 0.30)),
    "region": ((0.75, 0.10, 0.15), (0.45, 0.15, 0.40)),
    "block": ((0.85, 0.0, 0.15), (0.80, 0.0, 0.20)),
    "compatible": ((0.55, 0.20, 0.25), (0.15, 0.10, 0.75)),
    "class": ((0.75, 0.15, 0.10), (0.35, 0.10, 0.55)),
    "count": ((0.45, 0.40, 0.15), (0.20, 0.30, 0.50)),
    "words": ((0.10, 0.30, 0.60), (0.50, 0.30, 0.20)),
}
LEVELS = 5  # level 0 and up to four levels


@dataclass
class Weights:
    """m and u per comparison and level, and where they came from."""

    comparisons: list[Comparison]
    m: NDArray[np.float64]  # [comparison, level]
    u: NDArray[np.float64]
    source: str = "defaults"

    @property
    def table(self) -> NDArray[np.float64]:
        """Bits per comparison and level: log2(m / u), 0 for level 0 and levels never seen."""
        with np.errstate(divide="ignore", invalid="ignore"):
            bits = np.log2(self.m / self.u)
        bits[:, 0] = 0.0
        return np.where(np.isfinite(bits), bits, 0.0)

    def score(self, levels: Levels) -> NDArray[np.float64]:
        """The match weight of each pair (a row of levels)."""
        table = self.table
        total = np.zeros(len(levels))
        for c in range(levels.shape[1]):
            total += table[c, levels[:, c]]
        return total

    def summary(self) -> dict[str, dict[str, float]]:
        """``{field: {level: bits}}``, as events.jsonl and the score report show the model."""
        table = self.table
        return {
            c.name: {label: round(float(table[k, level]), 2) for level, label in enumerate(c.labels) if level}
            for k, c in enumerate(self.comparisons)
        }


def defaults(comparisons: Sequence[Comparison]) -> Weights:
    # Levels a kind does not have stay 0, so the pseudo-pairs spread over its own levels only
    # (a 1.0 there took half of a 3-level comparison's belief); level 0 weighs nothing anyway.
    m, u = np.zeros((len(comparisons), LEVELS)), np.zeros((len(comparisons), LEVELS))
    m[:, 0] = u[:, 0] = 1.0
    for k, c in enumerate(comparisons):
        dm, du = DEFAULTS[c.kind]
        m[k, 1 : 1 + len(dm)], u[k, 1 : 1 + len(du)] = dm, du
    return Weights(list(comparisons), m, u)


def _normalised(counts: NDArray[np.float64], prior: NDArray[np.float64]) -> NDArray[np.float64]:
    """Level frequencies (level 0 excluded) from counts plus PSEUDO pairs spread as the prior."""
    spread = prior[:, 1:] / np.maximum(prior[:, 1:].sum(axis=1, keepdims=True), 1e-12)
    total = counts[:, 1:] + PSEUDO * spread
    out = np.ones_like(prior)
    out[:, 1:] = total / np.maximum(total.sum(axis=1, keepdims=True), 1e-12)
    out[:, 1:][spread == 0] = 0.0
    return out


def _level_counts(levels: Levels, weight: NDArray[np.float64]) -> NDArray[np.float64]:
    counts = np.zeros((levels.shape[1], LEVELS))
    for c in range(levels.shape[1]):
        counts[c] = np.bincount(levels[:, c], weights=weight, minlength=LEVELS)[:LEVELS]
    return counts


def from_labels(comparisons: Sequence[Comparison], levels: Levels, match: NDArray[np.bool_]) -> Weights:
    """m from the pairs gold puts in one event, u from the candidate pairs it keeps apart."""
    prior = defaults(comparisons)
    ones = np.ones(len(levels))
    m = _normalised(_level_counts(levels[match], ones[match]), prior.m)
    u = _normalised(_level_counts(levels[~match], ones[~match]), prior.u)
    return Weights(list(comparisons), m, u, f"gold ({int(match.sum())} pairs of one event, {int((~match).sum())} not)")


def patterns(levels: Levels) -> tuple[Levels, NDArray[np.float64]]:
    """The distinct rows of comparison levels and how many pairs have each: EM works on these."""
    if not len(levels):
        return levels, np.zeros(0)
    distinct, counts = np.unique(levels, axis=0, return_counts=True)
    return distinct.astype(np.int8), counts.astype(np.float64)


def expectation_maximisation(
    start: Weights, distinct: Levels, counts: NDArray[np.float64], rounds: int = 25
) -> Weights:
    """u and the share of matches among candidate pairs, by EM over comparison patterns
    (Splink's estimate_parameters_using_expectation_maximisation, on counts in numpy), with m
    held at ``start``'s: left free, EM takes "reports of one place" for "reports of one event"
    wherever one place is hit every few days (measured on bench/events_scale.py's synthetic
    world: precision fell from .80 to .65); Splink, too, fixes one side (u from random pairs)."""
    weights = Weights(start.comparisons, start.m.copy(), start.u.copy())
    prior_u = start.u.copy()
    share = 0.2
    for _ in range(rounds):
        bits = weights.score(distinct)
        odds = share / (1 - share) * np.exp2(np.clip(bits, -60, 60))
        p = odds / (1 + odds)
        matched = counts * p
        weights.u = _normalised(_level_counts(distinct, counts - matched), prior_u)
        share = float(np.clip(matched.sum() / max(counts.sum(), 1.0), 0.01, 0.99))
    weights.source = f"expectation-maximisation over {int(counts.sum()):,} candidate pairs"
    return weights


def explain(weights: Weights, levels: NDArray[np.int8]) -> list[dict[str, object]]:
    """One pair's comparisons as a reader sees them: field, level, bits (fields not given left out)."""
    table = weights.table
    return [
        {"field": c.name, "level": c.labels[int(levels[k])], "weight": round(float(table[k, int(levels[k])]), 2)}
        for k, c in enumerate(weights.comparisons)
        if levels[k] > 0
    ]
