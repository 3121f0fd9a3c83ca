"""An event's fields fused from its reports' values, written for the survivors of mutation
testing over core/ (issue 32, bench/MUTANTS.md): each match kind groups values its own way, each
fuse op picks the event's value, and what differs is a dispute naming its reports; and the match
weights fusion learns, from gold labels or by EM."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from rapidfuzz import fuzz

from llmx.core.event_compare import Comparison
from llmx.core.event_fields import fuse_fields
from llmx.core.event_weights import defaults, expectation_maximisation, from_labels
from llmx.core.fields import FieldSpec
from tests.test_fusion import ALIASES


class Ops:
    """The one thing fuse_fields asks of a rule: each field's fuse op (mode unless named)."""

    def __init__(self, **ops: str) -> None:
        self.ops = ops

    def fuse(self, name: str) -> str:
        return self.ops.get(name, "mode")


SPECS = {
    "place": FieldSpec(name="place", match="fuzzy"),
    "actor": FieldSpec(name="actor", match="alias"),
    "kind": FieldSpec(name="kind", match="ignore"),
    "day": FieldSpec(name="day", match="date"),
    "near": FieldSpec(name="near", match="number", tolerance=1.0),
    "exact": FieldSpec(name="exact", match="number"),
}


def fused(column_values: dict[str, list[Any]], **ops: str) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    n = len(next(iter(column_values.values())))
    records = [{name: values[k] for name, values in column_values.items()} for k in range(n)]
    (event,) = fuse_fields(records, [list(range(n))], list(column_values), Ops(**ops), SPECS, ALIASES)  # type: ignore[arg-type]
    return event.fields, {name: [(d.value, d.reports) for d in found] for name, found in event.disputes.items()}


def test_each_field_is_grouped_by_its_own_rule_and_fused_by_its_op() -> None:
    fields, disputes = fused({"place": ["Mosul", "Erbil", "mosul city"]})
    assert fields == {"place": "Mosul"} and disputes == {"place": [("Mosul", [0, 2]), ("Erbil", [1])]}
    assert fused({"actor": ["ISIS", "Islamic State", None]}) == ({"actor": "ISIS"}, {})  # one actor by alias
    assert fused({"kind": ["Drone ", "drone", "DRONE"]}) == ({"kind": "Drone "}, {})
    assert fused({"kind": ["drone", "rocket", "rocket"]}) == (
        {"kind": "rocket"},
        {"kind": [("drone", [0]), ("rocket", [1, 2])]},
    )
    days = ["2024-05", "2024-05-03", "2024-05-02"]
    assert fused({"day": days}, day="earliest") == ({"day": "2024-05-02"}, {})  # the month agrees with both days
    assert fused({"day": days}, day="latest") == ({"day": "2024-05-03"}, {})
    assert fused({"day": ["2024-06", "2024-05"]}, day="earliest") == (
        {"day": "2024-05"},
        {"day": [("2024-06", [0]), ("2024-05", [1])]},
    )
    assert fused({"near": [3, 4, 9]}, near="max") == ({"near": 9}, {"near": [(3, [0, 1]), (9, [2])]})
    assert fused({"near": [3, 4, 9]}, near="min") == ({"near": 3}, {"near": [(3, [0, 1]), (9, [2])]})
    assert fused({"near": ["three", 3]})[1] == {"near": [("three", [0]), (3, [1])]}  # no number: not near
    assert fused({"exact": [3, 4]}, exact="min") == ({"exact": 3}, {"exact": [(3, [0]), (4, [1])]})
    assert fused({"exact": [True, 1, 2]})[1] == {"exact": [(True, [0]), (1, [1]), (2, [2])]}  # a boolean: no count
    assert fused({"exact": ["a", "b", "b"]}, exact="min") == ({"exact": "b"}, {"exact": [("a", [0]), ("b", [1, 2])]})
    assert fused({"other": ["x", "X"]})[1] == {"other": [("x", [0]), ("X", [1])]}  # no spec: exact
    target = ["a house", "a home", "a house"]
    assert fused({"target": target}, target="union") == ({"target": ["a house", "a home"]}, {})
    assert fused({"target": [None, None]}, target="union") == ({"target": []}, {})
    assert fused({"place": [None, None]}) == ({"place": None}, {})
    assert fused({"tags": [[1], [2], [1]]}) == ({"tags": [1]}, {"tags": [([1], [0, 2]), ([2], [1])]})
    assert fused({"place": ["Erbil", None, "Erbil"]}) == ({"place": "Erbil"}, {})  # one value and a null


def test_a_lone_report_is_its_own_values() -> None:
    records = [{"target": "a house", "killed": 2}, {"target": None, "killed": None}]
    events = fuse_fields(records, [[0], [1]], ["target", "killed"], Ops(target="union"), SPECS, ALIASES)  # type: ignore[arg-type]
    assert [(e.reports, e.fields, e.disputes) for e in events] == [
        ([0], {"target": ["a house"], "killed": 2}, {}),
        ([1], {"target": [], "killed": None}, {}),
    ]


def test_keys_keep_apart_what_the_rule_keeps_apart() -> None:
    assert fused({"exact": [3, 3.0, 4]})[1] == {"exact": [(3, [0, 1]), (4, [2])]}  # a count: 3 is 3.0
    assert fused({"near": [1, 1.0, 5]})[1] == {"near": [(1, [0, 1]), (5, [2])]}
    assert fused({"other": [1, 1.0, 2]})[1] == {"other": [(1, [0]), (1.0, [1]), (2, [2])]}  # exact: by type too
    assert fused({"other": [1, "1", "1"]})[1] == {"other": [(1, [0]), ("1", [1, 2])]}
    # fuzzy names do not use the alias table; alias names still merge close spellings
    assert fused({"place": ["ISIS", "Islamic State", "ISIS"]})[1] == {
        "place": [("ISIS", [0, 2]), ("Islamic State", [1])]
    }
    assert fused({"actor": ["Kataib Hezbollah", "Kataib Hizbollah"]}) == ({"actor": "Kataib Hezbollah"}, {})
    assert fused({"exact": ["a", "a", "b"]}, exact="max") == ({"exact": "a"}, {"exact": [("a", [0, 1]), ("b", [2])]})


def test_a_name_exactly_at_the_fuzzy_threshold_is_the_same_name() -> None:
    ratio = fuzz.token_set_ratio("mosul", "mosel")
    at = {"place": FieldSpec(name="place", match="fuzzy", threshold=ratio)}
    above = {"place": FieldSpec(name="place", match="fuzzy", threshold=float(np.nextafter(ratio, 101)))}
    records = [{"place": "Mosul"}, {"place": "Mosel"}]
    (same,) = fuse_fields(records, [[0, 1]], ["place"], Ops(), at, ALIASES)  # type: ignore[arg-type]
    (apart,) = fuse_fields(records, [[0, 1]], ["place"], Ops(), above, ALIASES)  # type: ignore[arg-type]
    assert 0 < ratio < 100 and same.disputes == {} and len(apart.disputes["place"]) == 2


def test_labelled_pairs_move_m_and_u_from_the_defaults_by_their_counts() -> None:
    # window levels 1..4; defaults m (.65, .20, .05, .10), u (.30, .30, .25, .15); 20 pseudo-pairs
    comparisons = [Comparison("date", "window"), Comparison("country", "block")]
    levels = np.asarray([[1, 1]] * 10 + [[4, 3]] * 30 + [[0, 1]] * 5, np.int8)
    match = np.asarray([True] * 10 + [False] * 35)
    weights = from_labels(comparisons, levels, match)
    assert weights.m[0].tolist() == pytest.approx([1.0, (10 + 13) / 30, 4 / 30, 1 / 30, 2 / 30])
    assert weights.u[0].tolist() == pytest.approx([1.0, 6 / 50, 6 / 50, 5 / 50, (30 + 3) / 50])  # level 0 unseen
    assert weights.m[1, 2] == 0.0 and weights.u[1, 2] == 0.0  # a block has no "share a name" level
    assert weights.source == "gold (10 pairs of one event, 35 not)"


def test_a_three_level_comparison_spreads_all_its_pseudo_pairs_over_its_three_levels() -> None:
    weights = from_labels([Comparison("killed", "count")], np.asarray([[1]] * 10, np.int8), np.ones(10, bool))
    assert weights.m[0, 1:4].tolist() == pytest.approx([(10 + 9) / 30, 8 / 30, 3 / 30])


def em_by_hand(m: list[float], u: list[float], counts: list[float], rounds: int) -> list[float]:
    """Fellegi–Sunter EM for one comparison whose pattern k is level k + 1, m held: the E-step's match
    odds at share s are s/(1 − s)·m/u; u is the non-matches' level frequencies plus 20 pseudo-pairs."""
    prior, share = list(u), 0.2
    for _ in range(rounds):
        odds = [share / (1 - share) * a / b for a, b in zip(m, u, strict=True)]
        matched = [c * o / (1 + o) for c, o in zip(counts, odds, strict=True)]
        total = [c - x + 20 * p / sum(prior) for c, x, p in zip(counts, matched, prior, strict=True)]
        u = [t / sum(total) for t in total]
        share = min(max(sum(matched) / sum(counts), 0.01), 0.99)
    return u


@pytest.mark.parametrize("rounds", [1, 2, 25])
def test_em_learns_u_with_m_held_as_the_hand_computed_rounds(rounds: int) -> None:
    start = defaults([Comparison("date", "window")])
    distinct, counts = np.asarray([[1], [2], [3], [4]], np.int8), np.asarray([40.0, 60.0, 100.0, 200.0])
    found = expectation_maximisation(start, distinct, counts, rounds=rounds)
    assert found.m.tolist() == start.m.tolist() and found.comparisons == start.comparisons
    want = em_by_hand([0.65, 0.20, 0.05, 0.10], [0.30, 0.30, 0.25, 0.15], [40, 60, 100, 200], rounds)
    assert found.u[0, 1:].tolist() == pytest.approx(want)
    assert found.source == "expectation-maximisation over 400 candidate pairs"
    if rounds == 25:
        assert expectation_maximisation(start, distinct, counts).u.tolist() == found.u.tolist()  # 25 by default
