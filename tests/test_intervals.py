""" "Better" has an interval: 95% bootstrap intervals over articles on every score, paired ones
on every difference, the verdict from the interval, and the CI gate on it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

import llmx
from llmx.core.intervals import paired_intervals, percentile_interval, resampled_sums, score_intervals, verdict
from llmx.core.scoring import PRF, ArticleScore, Score
from llmx.inputs.articles import load_articles
from llmx.inputs.gold import read_gold_folder
from llmx.inputs.schemas import load_schema
from llmx.testing.gold_oracle import gold_answers
from llmx.testing.stub_server import StubServer
from tests.helpers import run_cli

INPUTS = ("seeds/", "challenge/")  # 38 articles with gold


def score_of(counts: list[tuple[int, int, int]], field: list[tuple[int, int, int]] | None = None) -> Score:
    """A score of articles with these incident (and one field's) tp/fp/fn."""
    score = Score(fields={"weapon": PRF()})
    for i, (tp, fp, fn) in enumerate(counts):
        article = ArticleScore(article_id=f"a{i:02d}", incidents=PRF(tp, fp, fn))
        article.fields["weapon"] = PRF(*(field[i] if field else (tp, 0, 0)))
        score.articles[article.article_id] = article
        score.incidents.add(article.incidents)
        score.fields["weapon"].add(article.fields["weapon"])
    return score


def test_the_resampling_is_scipys_percentile_bootstrap() -> None:
    values = np.random.default_rng(5).normal(size=40)
    ours = percentile_interval(resampled_sums(values, 9999, seed=7) / len(values))
    theirs = scipy.stats.bootstrap(
        (values,), np.mean, n_resamples=9999, method="percentile", rng=np.random.default_rng(7), vectorized=True
    ).confidence_interval
    assert ours == pytest.approx([theirs.low, theirs.high], abs=1e-4)  # ours are rounded to 4 places


def test_articles_that_all_score_alike_have_no_spread() -> None:
    # every article: one found, one invented → any resample sums to tp = fp = n: F1 2/3 exactly
    intervals = score_intervals(score_of([(1, 1, 0)] * 12))
    assert intervals["incident_f1"] == [0.6667, 0.6667]
    assert intervals["incident_precision"] == [0.5, 0.5] and intervals["incident_recall"] == [1.0, 1.0]


def test_two_articles_give_the_interval_by_hand() -> None:
    # resamples: both the found article (F1 1, p 1/4), one of each (2/3, p 1/2), both the missed (0, p 1/4):
    # the 2.5th percentile is 0 and the 97.5th is 1
    assert score_intervals(score_of([(1, 0, 0), (0, 0, 1)]))["incident_f1"] == [0.0, 1.0]


def test_f1_is_recomputed_from_summed_counts_not_averaged() -> None:
    score = score_of([(9, 0, 0), (0, 0, 1)] * 10)  # micro F1 18/19; the mean of per-article F1s would be 0.5
    low, high = score_intervals(score)["incident_f1"]
    assert low <= score.incidents.f1 <= high and low > 0.8  # averaged, it would be about [0.28, 0.72]


def test_the_same_score_gives_the_same_interval() -> None:
    score = score_of([(2, 1, 0), (1, 0, 1), (0, 1, 0), (3, 0, 0), (1, 1, 1)] * 4)
    assert score_intervals(score) == score_intervals(score)
    assert score_intervals(score, seed=1) != score_intervals(score)  # the seed is what makes it repeat


def test_a_score_compared_with_itself_is_not_distinguishable() -> None:
    score = score_of([(2, 1, 0), (1, 0, 1), (0, 1, 0), (3, 0, 0)] * 5)
    paired = paired_intervals(score, score)
    assert paired["incident_f1"]["delta"] == 0.0 and paired["incident_f1"]["ci95"] == [0.0, 0.0]
    assert {row["verdict"] for row in [paired["incident_f1"], *paired["fields"].values()]} == {"not distinguishable"}


def test_the_verdict_is_the_intervals_not_the_signs() -> None:
    assert verdict([0.01, 0.2]) == "better" and verdict([-0.3, -0.02]) == "worse"
    assert verdict([-0.01, 0.2]) == "not distinguishable" and verdict(None) == "n/a"
    a = score_of([(1, 0, 0)] * 30)
    b = score_of([(1, 0, 0)] * 29 + [(1, 1, 0)])  # one invented incident in 30 articles
    row = paired_intervals(a, b)["incident_f1"]
    assert row["delta"] < 0 and row["verdict"] == "not distinguishable"


@pytest.fixture
def gold_runs(project: Path, live_requests: None) -> Path:
    """runs/base: a stub model answering every article with its gold; runs/same: the same again;
    runs/half: every other article answered with no incident. Stand-ins, not a model's answers."""
    gold = read_gold_folder(Path("gold"), load_schema("incident", Path("schemas"))).gold
    articles = load_articles(list(INPUTS))
    dropped = {article.id for article in sorted(articles, key=lambda a: a.id)[::2]}
    for name, answered in (
        ("base", gold),
        ("same", gold),
        ("half", {k: v for k, v in gold.items() if k not in dropped}),
    ):
        with StubServer(script=gold_answers(articles, answered)) as server:
            args = [*INPUTS, "--base-url", server.base_url, "--cassettes", f"tape-{name}", "--out", f"runs/{name}"]
            result = run_cli("extract", *args)
            assert result.exit_code == 0, result.output
    return project


def test_score_json_gives_an_interval_on_every_score(gold_runs: Path) -> None:
    scored = json.loads(run_cli("score", "runs/half", "--json").output)
    intervals = scored["intervals"]
    for key in ("incident_f1", "incident_precision", "incident_recall", "field_macro_f1"):
        low, high = intervals[key]
        point = scored["incidents"][key.removeprefix("incident_")] if key != "field_macro_f1" else scored[key]
        assert low <= point <= high, key
    assert low < high  # half the articles lost: the F1 is uncertain
    assert set(intervals["fields"]) == set(scored["fields"])
    assert scored["interval_method"]["level"] == 0.95
    again = json.loads(run_cli("score", "runs/half", "--json").output)["intervals"]
    assert again == intervals  # seeded: the same run, the same interval
    report = run_cli("score", "runs/half", "--no-details").output
    low, high = intervals["incident_f1"]
    assert f"[{low:.2f}, {high:.2f}]" in report and "95% interval, a bootstrap over the" in report


def test_compare_gives_a_paired_interval_and_a_verdict_on_every_difference(gold_runs: Path) -> None:
    compared = json.loads(run_cli("compare", "runs/base", "runs/half", "--json").output)
    rows = [compared["intervals"][key] for key in ("incident_f1", "field_macro_f1")]
    rows += compared["intervals"]["fields"].values()
    for row in rows:
        assert set(row) == {"a", "b", "delta", "ci95", "verdict"}
    f1 = compared["intervals"]["incident_f1"]
    assert f1["a"] == compared["a"]["incidents"]["f1"] and f1["b"] == compared["b"]["incidents"]["f1"]
    assert f1["ci95"][1] < 0 and f1["verdict"] == "worse"
    report = run_cli("compare", "runs/base", "runs/same").output
    assert "not distinguishable" in report and "better" not in report and "worse" not in report
    assert "worse" in run_cli("compare", "runs/base", "runs/half").output


def test_the_gate_passes_a_run_against_itself_and_fails_one_that_lost_every_other_article(gold_runs: Path) -> None:
    assert run_cli("compare", "runs/base", "runs/base", "--fail-if-worse", "0").exit_code == 0
    same = run_cli("compare", "runs/base", "runs/same", "--fail-if-worse", "0.02")
    assert same.exit_code == 0, same.output
    worse = run_cli("compare", "runs/base", "runs/half", "--fail-if-worse", "0.02")
    assert worse.exit_code == 4, worse.output
    error = next(line for line in worse.output.splitlines() if line.startswith("error:"))
    assert "half is worse than base by more than 0.02 (95% paired interval)" in error and "incident F1" in error
    assert run_cli("compare", "runs/base", "runs/half", "--fail-if-worse", "0.9").exit_code == 0  # not that much


def test_the_python_api_gives_the_intervals(gold_runs: Path) -> None:
    project = llmx.load_project(gold_runs)
    assert llmx.score("runs/half", project=project).intervals["incident_f1"][1] < 1.0
    comparison = llmx.compare("runs/base", "runs/half", project=project)
    assert comparison.intervals["incident_f1"]["verdict"] == "worse"
    assert comparison.regressions(0.02) and not llmx.compare("runs/base", "runs/same", project=project).regressions(0)
