"""Score a run folder against gold, and compare two runs: the use cases behind ``llmx score``
and ``llmx compare`` (and ``bench/``).

A score is only as honest as what it covers. A run with no article that has gold is an error,
not a perfect score. A comparison scores both runs on the articles both finished; articles only
in one run, or failed in one, are listed apart and kept out of the deltas, because a missing
article is not a prompt effect. Every score has a 95% interval over articles, every difference a
paired one (:mod:`llmx.core.intervals`): "better" is said only when the interval says it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from llmx.app.evaluation.calibration import confidence_report
from llmx.app.evaluation.events import score_run_events
from llmx.core.event_scoring import EventScore
from llmx.core.fields import MIN_SIMILARITY
from llmx.core.intervals import paired_intervals, score_intervals, worse_beyond
from llmx.core.scoring import Score, score_run
from llmx.errors import RunError
from llmx.inputs.aliases import load_aliases
from llmx.inputs.config import Settings
from llmx.inputs.gold import read_gold_folder
from llmx.inputs.schemas import SchemaSpec, load_recorded_schema, load_schema
from llmx.runs.costs import PriceBook
from llmx.runs.folder import read_results
from llmx.runs.results import ArticleResult, RunSummary


class NothingToScore(RunError):
    """No article of the run has gold: there is no score, and 1.00 would be a lie."""


@dataclass
class Scored:
    run: Path
    score: Score
    facts: dict[str, Any]
    schema: SchemaSpec
    results: list[ArticleResult]
    missing_gold: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # article id → failure kind
    events: EventScore | None = None  # event fusion against gold's `event` names (None: not annotated)
    notes: list[str] = field(default_factory=list)  # what a reader of the score should know
    drafts: list[str] = field(default_factory=list)  # articles of the run whose gold is a draft: left out
    confidence: dict[str, Any] | None = None  # how well confidences tell right from wrong (evaluation/calibration)

    @cached_property
    def intervals(self) -> dict[str, Any]:
        """95% bootstrap intervals over the scored articles: ``incident_f1``, ..., ``fields``."""
        return score_intervals(self.score)


def run_facts(results: list[ArticleResult], settings: Settings) -> dict[str, Any]:
    """What a score reports about the run itself: grounding, verification, failures, tokens, cost.

    ``cost_usd`` is the recorded cost: every answer at the price it was (or would be) billed,
    replayed ones included, so two runs of the same answers cost the same whether they were
    called or replayed. An article priced as unknown when it ran is priced with today's prices
    (``[tool.llmx.prices]``, genai-prices), at the standard rate. ``spent_usd`` is what the runs
    that wrote these lines paid (replays paid nothing); None when a line does not say."""
    summary = RunSummary.of(results)
    prices = PriceBook(settings.prices)
    costs = [
        r.provenance.cost_usd
        if r.provenance.cost_usd is not None
        else prices.cost(r.provenance.model, r.provenance.usage)
        for r in results
    ]
    cost = None if not results or any(c is None for c in costs) else round(sum(c for c in costs if c), 6)
    spent = [r.provenance.spent_usd for r in results]
    paid = None if not results or any(c is None for c in spent) else round(sum(c for c in spent if c), 6)
    return {
        "articles_in_run": summary.articles,
        "articles_failed": summary.failed,
        "grounding": {"ungrounded": summary.ungrounded, "grounding_reasks": summary.grounding_reasks},
        "verification": {
            "values_removed": summary.values_removed,
            "verification_reasks": summary.verification_reasks,
            "duplicates_removed": summary.duplicates_removed,
            "merged": summary.merged,
        },
        "failures": summary.failures,
        "usage": summary.usage.model_dump(),
        "cost_usd": cost,
        "spent_usd": paid,
    }


def score_results(
    run: Path,
    results: list[ArticleResult],
    settings: Settings,
    gold_dir: Path | None = None,
    schema_name: str | None = None,
    min_similarity: float = MIN_SIMILARITY,
) -> Scored:
    schema = schema_of_run(run, results, settings, schema_name)
    gold_folder = gold_dir or settings.gold
    folder = read_gold_folder(gold_folder, schema)
    gold = folder.gold
    if not results:
        raise NothingToScore(f"{run}: the run holds no article; nothing to score")
    in_run = {r.article_id: r for r in results}
    scored_gold = {aid: records for aid, records in gold.items() if aid in in_run}
    drafts = sorted(aid for aid in folder.drafts if aid in in_run)
    if not scored_gold:
        unreviewed = f" ({len(drafts)} have only a draft, not scored until reviewed: llmx annotate)" if drafts else ""
        raise NothingToScore(
            f"{run}: none of its {len(in_run)} article(s) has gold in {gold_folder}{unreviewed}; "
            "nothing to score (pass --gold DIR, or annotate them)"
        )
    failed = {aid: r.error.kind for aid, r in in_run.items() if r.error}
    score = score_run(
        {aid: [item.record for item in r.incidents] for aid, r in in_run.items()},
        scored_gold,
        schema.fields,
        load_aliases(settings.aliases),
        schema.evidence_field,
        min_similarity,
        failed,
    )
    missing = sorted(set(in_run) - set(gold) - set(drafts))
    events, notes = score_run_events(run, results, settings, schema, scored_gold, score)  # this run's gold only
    confidence = confidence_report(score, results, settings)
    facts = run_facts(results, settings)
    return Scored(run, score, facts, schema, results, missing, failed, events, notes, drafts, confidence)


def schema_of_run(
    run: Path, results: list[ArticleResult], settings: Settings, schema_name: str | None = None
) -> SchemaSpec:
    """The schema to read a run with: the one named on the command line (``--schema``), else the
    one the run recorded, by name and sha256, from the project's schemas only (a run folder is
    data: what it names is never imported from elsewhere)."""
    if schema_name:
        return load_schema(schema_name, settings.schemas_dir)
    recorded = dict.fromkeys((r.provenance.schema_name, r.provenance.schema_sha256) for r in results)
    if not recorded:
        return load_schema(settings.schema_name, settings.schemas_dir)
    names = sorted({name for name, _ in recorded})
    if len(names) > 1:
        raise RunError(f"{run}: holds results of several schemas ({', '.join(names)}); pass --schema NAME")
    (name, sha256), *others = recorded
    schema = load_recorded_schema(name, sha256, settings.schemas_dir, run)
    for _, other in others:
        if other and other != schema.sha256:  # the run was resumed after a schema edit
            load_recorded_schema(name, other, settings.schemas_dir, run)
    return schema


def score_run_folder(
    run: Path,
    settings: Settings,
    gold_dir: Path | None = None,
    schema_name: str | None = None,
    min_similarity: float = MIN_SIMILARITY,
) -> Scored:
    return score_results(run, read_results(run), settings, gold_dir, schema_name, min_similarity)


@dataclass
class Comparison:
    a: Scored  # both scored on the same articles: those both runs finished
    b: Scored
    only_a: list[str]
    only_b: list[str]
    failed_a: dict[str, str]  # article id → failure kind, of the articles both runs hold
    failed_b: dict[str, str]

    @cached_property
    def intervals(self) -> dict[str, Any]:
        """Per metric B − A with its paired 95% interval and verdict: ``incident_f1``, ...,
        ``fields``; each ``{"a", "b", "delta", "ci95", "verdict"}``."""
        return paired_intervals(self.a.score, self.b.score)

    def regressions(self, margin: float) -> list[str]:
        """Incident F1 or a field's F1 that B lost by more than ``margin`` with 95% confidence: the
        whole interval of B − A lies below ``-margin``. A run compared with itself has none."""
        return list(worse_beyond(self.intervals, margin))


def compare_runs(
    run_a: Path,
    run_b: Path,
    settings: Settings,
    gold_dir: Path | None = None,
    schema_name: str | None = None,
    min_similarity: float = MIN_SIMILARITY,
) -> Comparison:
    results_a, results_b = read_results(run_a), read_results(run_b)
    by_a = {r.article_id: r for r in results_a}
    by_b = {r.article_id: r for r in results_b}
    failed_a = {aid: r.error.kind for aid, r in by_a.items() if r.error and aid in by_b}
    failed_b = {aid: r.error.kind for aid, r in by_b.items() if r.error and aid in by_a}
    common = [aid for aid in by_a if aid in by_b and aid not in failed_a and aid not in failed_b]
    if not common:
        raise NothingToScore(f"{run_a} and {run_b} share no article that finished in both; nothing to compare")
    a = score_results(run_a, [by_a[aid] for aid in common], settings, gold_dir, schema_name, min_similarity)
    b = score_results(run_b, [by_b[aid] for aid in common], settings, gold_dir, schema_name, min_similarity)
    return Comparison(
        a,
        b,
        only_a=sorted(set(by_a) - set(by_b)),
        only_b=sorted(set(by_b) - set(by_a)),
        failed_a=failed_a,
        failed_b=failed_b,
    )
