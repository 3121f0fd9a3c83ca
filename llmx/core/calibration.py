"""Raw confidences into probabilities of being right, per field, and how to tell they are.
Pure: no I/O (scikit-learn fits, this module keeps the result as plain numbers).

A value's features are its raw score (:func:`llmx.core.confidence.raw_confidence`, as a logit),
whether it is null and whether a check settled it. ``platt`` fits a logistic regression on them
per field (Platt scaling with the value's state); ``isotonic`` a monotone step function of the raw
score per field. A field with too few scored values, or only right (or only wrong) ones, uses
the model fitted on every field together. Each fit is kept as numbers (coefficients, or the
step function's knots), so applying it needs no pickle and no scikit-learn objects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Method = Literal["platt", "isotonic"]
METHODS: tuple[Method, ...] = ("platt", "isotonic")
ALL = "*"  # the model of every field together
MIN_VALUES = 30  # fewer scored values of a field (or fewer than MIN_EACH right and wrong): use ALL
MIN_EACH = 3
BINS = 10


@dataclass(frozen=True)
class Value:
    """One scored value: its field, raw score, state, and (when scored against gold) right or wrong."""

    field: str
    raw: float
    null: bool = False
    settled: bool = False
    right: bool | None = None


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def features(value: Value) -> list[float]:
    return [_logit(value.raw), float(value.null), float(value.settled)]


@dataclass
class Calibration:
    method: Method
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # field (or ALL) → fitted numbers
    fitted_on: dict[str, Any] = field(default_factory=dict)  # run, articles, values: what it learned from

    def probability(self, value: Value) -> float:
        model = self.models.get(value.field) or self.models.get(ALL)
        if model is None:
            return value.raw
        if self.method == "platt":
            z = model["intercept"] + sum(c * x for c, x in zip(model["coef"], features(value), strict=True))
            return round(1 / (1 + math.exp(-max(min(z, 30.0), -30.0))), 6)
        xs, ys = model["x"], model["y"]
        return round(float(_interp(value.raw, xs, ys)), 6)

    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "method": self.method, "fitted_on": self.fitted_on, "fields": self.models}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        method = data.get("method")
        if data.get("version") != 1 or method not in METHODS or not isinstance(data.get("fields"), dict):
            raise ValueError("not a calibration llmx wrote (version 1, method platt or isotonic, fields)")
        return cls(method=method, models=data["fields"], fitted_on=dict(data.get("fitted_on") or {}))


def _interp(x: float, xs: Sequence[float], ys: Sequence[float]) -> float:
    import numpy as np

    return float(np.interp(x, xs, ys)) if xs else 0.5


def fit(values: Sequence[Value], method: Method = "platt", fitted_on: dict[str, Any] | None = None) -> Calibration:
    """A calibration per field from scored values (``right`` set), with ALL for the rest."""
    scored = [v for v in values if v.right is not None]
    calibration = Calibration(method=method, fitted_on={**(fitted_on or {}), "values": len(scored)})
    groups: dict[str, list[Value]] = {ALL: scored}
    for value in scored:
        groups.setdefault(value.field, []).append(value)
    for name, group in groups.items():
        right = sum(bool(v.right) for v in group)
        if name != ALL and (len(group) < MIN_VALUES or min(right, len(group) - right) < MIN_EACH):
            continue
        if not group:
            continue
        calibration.models[name] = _fit_one(group, method)
    return calibration


def _fit_one(group: Sequence[Value], method: Method) -> dict[str, Any]:
    import numpy as np

    y = np.array([bool(v.right) for v in group], dtype=int)
    if y.min() == y.max():  # all right or all wrong: the observed rate, whatever the score
        rate = float(y.mean())
        if method == "platt":
            return {"coef": [0.0, 0.0, 0.0], "intercept": _logit(rate), "n": len(group)}
        return {"x": [0.0, 1.0], "y": [rate, rate], "n": len(group)}
    if method == "platt":
        from sklearn.linear_model import LogisticRegression

        x = np.array([features(v) for v in group])
        model = LogisticRegression(C=1.0).fit(x, y)
        return {"coef": [float(c) for c in model.coef_[0]], "intercept": float(model.intercept_[0]), "n": len(group)}
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit([v.raw for v in group], y)
    return {
        "x": [float(x) for x in iso.X_thresholds_],
        "y": [round(float(p), 6) for p in iso.y_thresholds_],
        "n": len(group),
    }


def ece(confidences: Sequence[float], right: Sequence[bool], bins: int = BINS) -> float | None:
    """Expected calibration error: over equal-width bins of confidence, the gap between mean
    confidence and the share right, weighted by how many values fall in the bin."""
    if not confidences:
        return None
    return round(
        sum(b["n"] * abs(b["confidence"] - b["accuracy"]) for b in reliability(confidences, right, bins))
        / len(confidences),
        4,
    )


def reliability(confidences: Sequence[float], right: Sequence[bool], bins: int = BINS) -> list[dict[str, Any]]:
    """The reliability diagram's bins that hold values: range, count, mean confidence, share right."""
    table: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for p, ok in zip(confidences, right, strict=True):
        table[min(int(p * bins), bins - 1)].append((p, ok))
    return [
        {
            "low": round(i / bins, 4),
            "high": round((i + 1) / bins, 4),
            "n": len(cell),
            "confidence": round(sum(p for p, _ in cell) / len(cell), 4),
            "accuracy": round(sum(ok for _, ok in cell) / len(cell), 4),
        }
        for i, cell in enumerate(table)
        if cell
    ]


def caught_at(confidences: Sequence[float], right: Sequence[bool], share: float = 0.2) -> float | None:
    """The share of the wrong values that fall among the ``share`` least confident. Values tied at
    the cut count by the part of their tie that fits (the expectation over orderings of the tie),
    so a constant confidence catches ``share`` of the wrong, never more by luck of order."""
    wrong = sum(not ok for ok in right)
    if not wrong:
        return None
    budget = share * len(confidences)
    ties: dict[float, list[bool]] = {}
    for p, ok in zip(confidences, right, strict=True):
        ties.setdefault(p, []).append(ok)
    caught = 0.0
    for p in sorted(ties):
        group = ties[p]
        if budget <= 0:
            break
        part = min(1.0, budget / len(group))
        caught += part * sum(not ok for ok in group)
        budget -= len(group)
    return round(caught / wrong, 4)


def summary(values: Sequence[Value], confidences: Sequence[float]) -> dict[str, Any]:
    """``llmx score --json``'s "calibration": ECE and caught_at_20 over every scored value, ECE
    and count per field, and the reliability bins."""
    right = [bool(v.right) for v in values]
    fields: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(v.field for v in values):
        picked = [i for i, v in enumerate(values) if v.field == name]
        fields[name] = {
            "ece": ece([confidences[i] for i in picked], [right[i] for i in picked]),
            "n": len(picked),
            "wrong": sum(not right[i] for i in picked),
        }
    return {
        "ece": ece(confidences, right),
        "caught_at_20": caught_at(confidences, right),
        "n": len(values),
        "wrong": sum(not ok for ok in right),
        "fields": fields,
        "bins": reliability(confidences, right),
    }
