"""Scores at their edges, written for the survivors of mutation testing over core/ (issue 32,
bench/MUTANTS.md): the match threshold itself, a run that predicts nothing, the interval
metrics against PRF's own definitions, the comparison gate's lines, the calibration summary
and the annotation ranking."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from llmx.core.calibration import Calibration, Value, caught_at, ece, fit, reliability, summary
from llmx.core.event_scoring import score_events
from llmx.core.fields import MIN_SIMILARITY, FieldSpec
from llmx.core.intervals import count_table, metrics, paired_intervals, resampled_sums, score_intervals, worse_beyond
from llmx.core.normalize import Aliases
from llmx.core.sampling import Doubt, rank
from llmx.core.scoring import PRF, ArticleScore, Score, score_run

FOUR = {f"f{i}": FieldSpec(name=f"f{i}", match="exact") for i in range(1, 5)}
GOLD = dict.fromkeys(FOUR, "a")
HALF = {"f1": "a", "f2": "a", "f3": "b", "f4": "b"}  # two of four fields agree: similarity exactly 0.5
QUARTER = {"f1": "a", "f2": "b", "f3": "b", "f4": "b"}


def incidents(pred: list[dict[str, str]], threshold: float = MIN_SIMILARITY) -> tuple[int, int, int]:
    prf = score_run({"x": pred}, {"x": [GOLD]}, FOUR, Aliases(), min_similarity=threshold).incidents
    return prf.tp, prf.fp, prf.fn


def test_a_pair_exactly_at_the_threshold_is_a_match_and_just_below_is_not() -> None:
    assert MIN_SIMILARITY == 0.5
    assert incidents([HALF]) == (1, 0, 0)  # 0.5 ≥ 0.5: a match
    assert incidents([QUARTER]) == (0, 1, 1)  # 0.25: a spurious record and a missed one
    assert incidents([HALF], threshold=float(np.nextafter(0.5, 1.0))) == (0, 1, 1)
    assert incidents([QUARTER], threshold=0.25) == (1, 0, 0)
    matched = score_run({"x": [HALF]}, {"x": [GOLD]}, FOUR, Aliases()).articles["x"].matched
    assert [(p.similarity, p.differing, p.optional) for p in matched] == [(0.5, ["f3", "f4"], False)]


def counts(tp: int, fp: int, fn: int) -> dict[str, int]:
    return {"tp": tp, "fp": fp, "fn": fn}


def test_a_run_that_predicts_nothing_has_precision_zero_not_one() -> None:
    # no predictions: tp + fp = 0, so precision is 1.0 only when there was nothing to find either
    missed = PRF(tp=0, fp=0, fn=3)
    assert (missed.precision, missed.recall, missed.f1) == (0.0, 0.0, 0.0)
    assert missed.counted and missed.summary() == {"precision": 0.0, "recall": 0.0, "f1": 0.0, **counts(0, 0, 3)}
    invented = PRF(tp=0, fp=2, fn=0)
    assert (invented.precision, invented.recall) == (0.0, 0.0)
    nothing = PRF()
    assert (nothing.precision, nothing.recall, nothing.f1, nothing.counted) == (1.0, 1.0, 1.0, False)
    assert nothing.summary() == {"precision": None, "recall": None, "f1": None, **counts(0, 0, 0)}
    result = score_run({}, {"x": [GOLD, HALF]}, FOUR, Aliases(), failures={"x": "timed out"})
    assert (result.incidents.tp, result.incidents.fp, result.incidents.fn) == (0, 0, 2)
    assert result.incidents.precision == 0.0 and result.articles["x"].failed == "timed out"
    assert result.articles["x"].missed_indices == [0, 1] and result.field_macro_f1 is None


def test_a_gold_set_with_no_article_scores_to_nothing_without_failing() -> None:
    result = score_run({"x": [GOLD]}, {}, FOUR, Aliases())  # predictions for articles gold lacks
    assert result.articles == {} and (result.incidents.tp, result.incidents.fp, result.incidents.fn) == (0, 0, 0)
    assert result.field_macro_f1 is None


def test_prf_rounds_and_adds() -> None:
    total = PRF(1, 2, 0)
    total.add(PRF(1, 0, 4))
    assert (total.tp, total.fp, total.fn) == (2, 2, 4)
    assert total.summary() == {"precision": 0.5, "recall": 0.3333, "f1": 0.4, "tp": 2, "fp": 2, "fn": 4}


def test_the_interval_metrics_are_prfs_definitions_on_every_small_count() -> None:
    grid = list(itertools.product(range(3), repeat=3))
    sums = np.array([[cell, cell] for cell in grid], dtype=np.float64)  # incident and one field alike
    found = metrics(sums)
    assert set(found) == {"incident_precision", "incident_recall", "incident_f1", "field_macro_f1", "field:0"}
    for k, (tp, fp, fn) in enumerate(grid):
        prf = PRF(tp, fp, fn)
        got = [float(found[key][k]) for key in ("incident_precision", "incident_recall", "incident_f1", "field:0")]
        if not prf.counted:
            assert all(np.isnan(got)) and np.isnan(found["field_macro_f1"][k])
            continue
        assert got == pytest.approx([prf.precision, prf.recall, prf.f1, prf.f1])
        assert found["field_macro_f1"][k] == pytest.approx(prf.f1)
    alone = metrics(np.array([[1.0, 0.0, 0.0]]))  # no field: macro-F1 is NaN, not an error
    assert np.isnan(alone["field_macro_f1"]) and not any(k.startswith("field:") for k in alone)
    mixed = metrics(np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    assert mixed["field_macro_f1"] == pytest.approx(0.5)  # the field with nothing counted is left out


def row(a: float, b: float, ci: list[float] | None) -> dict[str, object]:
    return {"a": a, "b": b, "delta": round(b - a, 4), "ci95": ci, "verdict": "?"}


def test_the_gate_names_only_what_is_worse_beyond_the_margin() -> None:
    intervals = {
        "incident_f1": row(0.8, 0.6, [-0.3, -0.1]),
        "fields": {
            "weapon": row(0.9, 0.85, [-0.1, -0.05]),  # worse, but the interval reaches the margin
            "place": row(0.7, 0.4, [-0.5, -0.2001]),
            "killed": row(0.5, 0.5, None),
            "date": row(0.5, 0.6, [0.01, 0.2]),
        },
    }
    assert list(worse_beyond(intervals, 0.05)) == [
        "incident F1 0.80 → 0.60 (Δ -0.20, 95% CI [-0.300, -0.100])",
        "place F1 0.70 → 0.40 (Δ -0.30, 95% CI [-0.500, -0.200])",
    ]
    assert list(worse_beyond(intervals, 0.1)) == ["place F1 0.70 → 0.40 (Δ -0.30, 95% CI [-0.500, -0.200])"]
    assert list(worse_beyond(intervals, 0.0)) == [
        "incident F1 0.80 → 0.60 (Δ -0.20, 95% CI [-0.300, -0.100])",
        "weapon F1 0.90 → 0.85 (Δ -0.05, 95% CI [-0.100, -0.050])",
        "place F1 0.70 → 0.40 (Δ -0.30, 95% CI [-0.500, -0.200])",
    ]


def test_the_calibration_summary_counts_each_field_and_every_value() -> None:
    values = [Value("weapon", 0.9, right=True), Value("weapon", 0.9, right=False), Value("place", 0.15, right=False)]
    values += [Value("place", 0.35, right=True)]
    confidences = [0.95, 0.85, 0.15, 0.35]
    found = summary(values, confidences)
    assert found["n"] == 4 and found["wrong"] == 2 and list(found["fields"]) == ["weapon", "place"]
    assert found["fields"]["weapon"] == {"ece": ece([0.95, 0.85], [True, False]), "n": 2, "wrong": 1}
    assert found["fields"]["place"] == {"ece": 0.4, "n": 2, "wrong": 1}  # 0.15 wrong, 0.35 right: (0.15 + 0.65) / 2
    assert found["fields"]["weapon"]["ece"] == 0.45  # (0.05 + 0.85) / 2
    assert found["ece"] == ece(confidences, [True, False, False, True]) == 0.425
    assert found["caught_at_20"] == caught_at(confidences, [True, False, False, True]) == 0.4
    assert found["bins"] == reliability(confidences, [True, False, False, True])
    bins = [(0.1, 0.2, 1), (0.3, 0.4, 1), (0.8, 0.9, 1), (0.9, 1.0, 1)]
    assert [(b["low"], b["high"], b["n"]) for b in found["bins"]] == bins
    assert summary([], [])["ece"] is None and caught_at([0.5, 0.6], [True, True]) is None


def test_an_unfitted_field_keeps_its_raw_score_and_a_fitted_one_is_applied() -> None:
    platt = Calibration("platt", {"weapon": {"coef": [1.0, 0.0, 0.0], "intercept": 0.0}})
    assert platt.probability(Value("place", 0.3)) == 0.3  # no model for the field and no ALL
    assert platt.probability(Value("weapon", 0.8)) == pytest.approx(0.8, abs=1e-6)  # logit then sigmoid
    iso = Calibration("isotonic", {"*": {"x": [0.2, 0.6], "y": [0.1, 0.9]}})
    assert iso.probability(Value("weapon", 0.4)) == pytest.approx(0.5) and iso.probability(Value("w", 0.9)) == 0.9
    with pytest.raises(ValueError, match="not a calibration llmx wrote"):
        Calibration.from_dict({"version": 2, "method": "platt", "fields": {}})


def test_the_most_doubtful_articles_come_first_ties_by_id() -> None:
    doubts = [
        Doubt("b", disagreement=1.0, removed=0.5, ungrounded=0.0, unsure=0.1),
        Doubt("a", disagreement=0.5, removed=0.5, ungrounded=0.5, unsure=0.9),
        Doubt("c", disagreement=0.0, removed=0.0, ungrounded=2.0, failed=1),
        Doubt("d", disagreement=0.0, removed=0.0, ungrounded=0.0, unsure=0.9),
    ]
    assert [d.points for d in doubts] == [1.5, 1.5, 2.0, 0.0]
    assert [d.article_id for d in rank(doubts, 3)] == ["c", "a", "b"]
    assert [d.article_id for d in rank(doubts, 10, by="doubt")] == ["a", "d", "b", "c"]
    assert rank(doubts, 0) == [] and rank(doubts, -1) == [] and len(rank(doubts, 4)) == 4
    assert Doubt("x", 0.33333, 0.33333, 0.0).points == 0.6667


def values_of(name: str, right: int, wrong: int, raw: float = 0.7) -> list[Value]:
    return [Value(name, raw, right=True)] * right + [Value(name, raw - 0.4, right=False)] * wrong


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_a_field_gets_its_own_model_only_with_enough_right_and_wrong_values(method: str) -> None:
    values = values_of("weapon", 27, 3) + values_of("place", 28, 2) + values_of("date", 29, 0)
    values += [Value("weapon", 0.5)] * 5  # not scored: not learned from
    calibration = fit(values, method, {"run": "r1"})  # type: ignore[arg-type]
    assert set(calibration.models) == {"*", "weapon"} and calibration.fitted_on == {"run": "r1", "values": 89}
    assert calibration.models["weapon"]["n"] == 30 and calibration.models["*"]["n"] == 89
    low, high = (calibration.probability(Value("weapon", raw)) for raw in (0.3, 0.7))
    assert low < 0.5 < high  # right values had the higher raw score
    assert calibration.probability(Value("date", 0.7)) == calibration.probability(Value("other", 0.7))  # both ALL
    again = Calibration.from_dict(calibration.to_dict())
    assert again == calibration and calibration.to_dict()["version"] == 1
    assert fit([], method).models == {}  # type: ignore[arg-type]


@pytest.mark.parametrize(("method", "rate"), [("platt", 1.0), ("isotonic", 1.0), ("platt", 0.0), ("isotonic", 0.0)])
def test_all_right_or_all_wrong_learns_the_observed_rate(method: str, rate: float) -> None:
    group = [Value("weapon", raw, right=bool(rate)) for raw in (0.1, 0.5, 0.9)]
    calibration = fit(group, method)  # type: ignore[arg-type]
    assert list(calibration.models) == ["*"] and calibration.models["*"]["n"] == 3
    assert [calibration.probability(v) for v in group] == [pytest.approx(rate, abs=1e-5)] * 3
    if method == "platt":
        assert calibration.models["*"]["coef"] == [0.0, 0.0, 0.0]
    else:
        assert calibration.models["*"] == {"x": [0.0, 1.0], "y": [rate, rate], "n": 3}


def test_platt_saturates_instead_of_overflowing_and_bad_files_are_refused() -> None:
    steep = Calibration("platt", {"*": {"coef": [1000.0, 0.0, 0.0], "intercept": 0.0}})
    assert steep.probability(Value("w", 0.99)) == 1.0 and steep.probability(Value("w", 0.01)) == 0.0
    assert Calibration("isotonic", {"*": {"x": [], "y": []}}).probability(Value("w", 0.2)) == 0.5
    good = {"version": 1, "method": "isotonic", "fields": {}, "fitted_on": None}
    assert Calibration.from_dict(good) == Calibration("isotonic", {}, {})
    for bad in ({**good, "version": 2}, {**good, "method": "mean"}, {**good, "fields": []}):
        with pytest.raises(ValueError, match="not a calibration llmx wrote"):
            Calibration.from_dict(bad)


def test_reliability_bins_hold_their_edges_and_ties_share_the_cut() -> None:
    bins = reliability([0.0, 0.1, 0.55, 1.0, 1.0], [False, True, True, True, False])
    assert bins == [
        {"low": 0.0, "high": 0.1, "n": 1, "confidence": 0.0, "accuracy": 0.0},
        {"low": 0.1, "high": 0.2, "n": 1, "confidence": 0.1, "accuracy": 1.0},
        {"low": 0.5, "high": 0.6, "n": 1, "confidence": 0.55, "accuracy": 1.0},
        {"low": 0.9, "high": 1.0, "n": 2, "confidence": 1.0, "accuracy": 0.5},  # 1.0 is in the last bin
    ]
    assert len(reliability([0.25, 0.75], [True, True], bins=2)) == 2 and ece([], []) is None
    assert caught_at([0.5] * 10, [False] * 5 + [True] * 5) == 0.2  # a tie catches its share, not more
    assert caught_at([0.1, 0.2, 0.3, 0.4, 0.9], [True, False, True, True, False]) == 0.0  # 1 value: the right one
    assert caught_at([0.1, 0.2, 0.3, 0.4, 0.9], [True, False, True, True, False], share=0.4) == 0.5


def score_of(incidents: list[tuple[int, int, int]], weapon: list[tuple[int, int, int] | None]) -> Score:
    """A score of articles a0, a1, … with these incident counts and (None: nothing to count) weapon counts."""
    score = Score(fields={"weapon": PRF()})
    for i, (counts, field) in enumerate(zip(incidents, weapon, strict=True)):
        article = ArticleScore(article_id=f"a{i}", incidents=PRF(*counts))
        article.fields["weapon"] = PRF(*(field or (0, 0, 0)))
        score.articles[article.article_id] = article
    return score


def test_paired_intervals_give_b_minus_a_over_the_articles_both_hold() -> None:
    a = score_of([(1, 1, 0)] * 4, [None] * 4)
    b = score_of([(1, 0, 0)] * 4 + [(0, 9, 9)], [(1, 0, 0)] * 5)  # a4 is B's alone: left out
    rows = paired_intervals(a, b, resamples=200)
    assert rows["incident_precision"] == {"a": 0.5, "b": 1.0, "delta": 0.5, "ci95": [0.5, 0.5], "verdict": "better"}
    assert rows["incident_f1"]["a"] == 0.6667 and rows["incident_f1"]["delta"] == 0.3333
    assert rows["fields"]["weapon"] == {"a": None, "b": 1.0, "delta": None, "ci95": None, "verdict": "n/a"}
    varied = score_of([(1, 1, 0), (2, 0, 1), (0, 1, 0), (3, 0, 0), (1, 2, 2)], [None] * 5)
    once, again = (paired_intervals(varied, b, resamples=200) for _ in range(2))
    assert once == again == paired_intervals(varied, b, resamples=200, seed=0)  # seeded: the same every time
    assert once["incident_f1"]["ci95"] != paired_intervals(varied, b, resamples=200, seed=1)["incident_f1"]["ci95"]
    worse = paired_intervals(b, a, resamples=200)["incident_precision"]
    assert worse["ci95"] == [-0.5, -0.5] and worse["verdict"] == "worse"
    nothing = paired_intervals(a, Score(fields={"weapon": PRF()}), resamples=200)["incident_precision"]
    assert nothing["ci95"] is None and nothing["verdict"] == "n/a"


def test_event_scores_count_every_pair_and_list_them_in_report_order() -> None:
    # given out of order: predicted {b, a, c} {d, e}; gold {a, b, c, d} {e}
    items = [(("b", 0), 1, "x"), (("e", 0), 2, "y"), (("a", 0), 1, "x"), (("d", 0), 2, "x"), (("c", 0), 1, "x")]
    score = score_events(items)
    assert (score.reports, score.predicted_events, score.gold_events) == (5, 2, 2)
    assert (score.pairwise.tp, score.pairwise.fp, score.pairwise.fn) == (3, 1, 3)
    assert score.false_merges == [(("d", 0), ("e", 0))]
    assert score.missed_merges == [(("a", 0), ("d", 0)), (("b", 0), ("d", 0)), (("c", 0), ("d", 0))]
    empty = score_events([])
    assert (empty.bcubed.precision, empty.bcubed.recall, empty.reports, empty.predicted_events) == (1.0, 1.0, 0, 0)
    assert not empty.pairwise.counted and empty.bcubed.summary() == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_interval_tables_fill_what_an_article_lacks_and_keep_their_shape() -> None:
    empty = Score(fields={"weapon": PRF(), "place": PRF()})
    assert score_intervals(empty) == {
        "incident_precision": None,
        "incident_recall": None,
        "incident_f1": None,
        "field_macro_f1": None,
        "fields": {"weapon": None, "place": None},
    }
    score = score_of([(1, 0, 0), (0, 1, 1)], [(2, 0, 0), None])
    assert count_table(score, ["a1", "a0"], ["weapon", "place"]).tolist() == [
        [[0, 1, 1], [0, 0, 0], [0, 0, 0]],
        [[1, 0, 0], [2, 0, 0], [0, 0, 0]],  # a field the article has no counts for: zeros
    ]
    assert resampled_sums(np.ones((3, 2)), 7).shape == (7, 2) and resampled_sums(np.ones(4), 5).tolist() == [4.0] * 5
    two = metrics(np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    assert (
        two["field:0"] == pytest.approx(2 / 3)
        and two["field:1"] == 0.0
        and two["field_macro_f1"] == pytest.approx(1 / 3)
    )
    assert metrics(np.array([[1.0, 0.0, 0.0]]))["field_macro_f1"].shape == ()
