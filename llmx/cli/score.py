"""``llmx score``, ``llmx compare`` and ``llmx gold check``: make "good" measurable.
Parsing and printing only; the work is in :mod:`llmx.app.evaluation.score`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from llmx.cli.numbers import FiniteFloat
from llmx.core.fields import MIN_SIMILARITY
from llmx.errors import CompareRegression, GoldError, ScoreThresholdError

gold_option = click.option("--gold", "gold_dir", type=click.Path(path_type=Path), help="Gold folder (default: gold/).")
schema_option = click.option(
    "--schema",
    "schema_name",
    help="Schema to read the run with: a name in schemas/ or a .py path (default: the one the run recorded, "
    "if schemas/ still has it unchanged).",
)
similarity_option = click.option(
    "--min-similarity",
    type=FiniteFloat(0, 1, min_open=True),
    default=MIN_SIMILARITY,
    show_default=True,
    help="Below this (0 < x ≤ 1), a predicted and a gold incident are not a match.",
)


@click.command()
@click.argument("run", type=click.Path(path_type=Path))
@gold_option
@schema_option
@similarity_option
@click.option("--json", "as_json", is_flag=True, help="Print the full result, with every matched pair, as JSON.")
@click.option("--min-f1", type=FiniteFloat(0, 1), help="Exit with code 4 when incident F1 is below this.")
@click.option("--html", type=click.Path(path_type=Path), help="Also write the viewer page (as `llmx view`) here.")
@click.option(
    "--details/--no-details", default=None, help="Show every article's incidents side by side (default: ≤ 20 articles)."
)
def score(
    run: Path,
    gold_dir: Path | None,
    schema_name: str | None,
    min_similarity: float,
    as_json: bool,
    min_f1: float | None,
    html: Path | None,
    details: bool | None,
) -> None:
    """Score a run against gold: matched, missed and invented incidents, P/R/F1 per field."""
    from llmx.app.evaluation.score import NothingToScore, score_run_folder
    from llmx.app.evaluation.view_page import ViewPage, check_page_path, load_texts, view_run, write_page
    from llmx.cli.confidence_report import reliability_panel
    from llmx.cli.console import err, out
    from llmx.cli.event_report import events_json, events_panel
    from llmx.cli.report import score_json, score_report
    from llmx.cli.safe_text import markup
    from llmx.core.intervals import METHOD
    from llmx.inputs.config import load_settings

    if html:
        check_page_path(html)  # before the work, not after
    settings = load_settings(require_project=True)
    try:
        scored = score_run_folder(run, settings, gold_dir, schema_name, min_similarity)
    except NothingToScore as error:
        if min_f1 is not None:
            raise ScoreThresholdError(f"{error} (--min-f1 {min_f1} cannot pass)") from error
        raise
    if as_json:
        click.echo(
            json.dumps(
                {
                    **score_json(scored.score, scored.facts),
                    "intervals": scored.intervals,
                    "interval_method": METHOD,
                    "events": events_json(scored.events),
                    "gold_drafts_left_out": scored.drafts,
                    "calibration": scored.confidence,
                },
                indent=2,
            )
        )
    else:
        show = details if details is not None else len(scored.score.articles) <= 20
        fields = list(scored.schema.fields)
        report = score_report(
            scored.score,
            scored.facts,
            f"llmx score {run}",
            fields,
            scored.schema.evidence_field,
            show,
            scored.intervals,
        )
        out.print(report)
        if scored.events is not None:
            out.print(events_panel(scored.events))
        if scored.confidence is not None:
            out.print(reliability_panel(scored.confidence))
        for note in scored.notes:
            err.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
        if scored.missing_gold:
            err.print(f"[yellow]not scored[/] (no gold): {markup(', '.join(scored.missing_gold))}")
        if scored.drafts:
            err.print(
                f"[yellow]left out {len(scored.drafts)} draft gold file(s)[/] (not reviewed; `llmx annotate {run}`): "
                + markup(", ".join(scored.drafts)),
                highlight=False,
                soft_wrap=True,
            )
    if html:
        notes: list[str] = []
        texts = load_texts([run], [], notes, required=False)
        page = ViewPage([view_run(run, settings, gold_dir, texts, notes, scored)], notes)
        for note in notes:
            err.print(f"[yellow]note:[/] {markup(note)}", highlight=False, soft_wrap=True)
        err.print(f"saved {write_page(page, html)}")
    incidents = scored.score.incidents
    if min_f1 is not None and not incidents.counted:
        raise ScoreThresholdError(
            "incident F1 is n/a: no required gold incident and no prediction was counted; "
            f"--min-f1 {min_f1} cannot pass"
        )
    if min_f1 is not None and incidents.f1 < min_f1:
        raise ScoreThresholdError(f"incident F1 {incidents.f1:.3f} is below --min-f1 {min_f1}")


@click.command()
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@gold_option
@schema_option
@similarity_option
@click.option("--json", "as_json", is_flag=True, help="Print both scores as one JSON object.")
@click.option(
    "--fail-if-worse",
    type=FiniteFloat(0, 1),
    help="Exit 4 when incident F1 or any field's F1 is worse by more than this with 95% confidence: the whole "
    "paired interval of the change lies below -X (a CI gate; 0: any drop the interval is sure of).",
)
def compare(
    run_a: Path,
    run_b: Path,
    gold_dir: Path | None,
    schema_name: str | None,
    min_similarity: float,
    as_json: bool,
    fail_if_worse: float | None,
) -> None:
    """Compare two runs on the same gold (e.g. prompt v1 vs v2), on the articles both finished.

    Articles only in one run, or failed in one, are listed apart and kept out of the deltas."""
    from llmx.app.evaluation.score import compare_runs
    from llmx.cli.compare_report import compare_report
    from llmx.cli.console import out
    from llmx.cli.event_report import events_compare, events_json
    from llmx.cli.report import score_json
    from llmx.core.intervals import METHOD
    from llmx.inputs.config import load_settings

    comparison = compare_runs(run_a, run_b, load_settings(require_project=True), gold_dir, schema_name, min_similarity)
    if as_json:
        payload = {
            "a": {**score_json(comparison.a.score, comparison.a.facts), "events": events_json(comparison.a.events)},
            "b": {**score_json(comparison.b.score, comparison.b.facts), "events": events_json(comparison.b.events)},
            "only_a": comparison.only_a,
            "only_b": comparison.only_b,
            "failed_a": comparison.failed_a,
            "failed_b": comparison.failed_b,
            "intervals": comparison.intervals,
            "interval_method": METHOD,
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        out.print(compare_report(comparison, run_a.name, run_b.name))
        change = events_compare(comparison.a.events, comparison.b.events, run_a.name, run_b.name)
        if change is not None:
            out.print(change)
    if fail_if_worse is not None:
        drops = comparison.regressions(fail_if_worse)
        if drops:
            raise CompareRegression(
                f"{run_b.name} is worse than {run_a.name} by more than {fail_if_worse} (95% paired interval): "
                + "; ".join(drops),
                drops,
            )


@click.group(name="gold")
def gold_group() -> None:
    """Gold annotations: one <article id>.json per article, written by hand or drafted from a run
    (`gold draft`) and corrected in `llmx annotate`; `gold agree` measures two annotators."""


@gold_group.command()
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@click.option("--schema", "schema_name", help="Schema the gold is written in (default: from config).")
def check(folder: Path | None, schema_name: str | None) -> None:
    """Validate gold files against the schema; errors name the file, incident and field.
    Fields a gold incident leaves out are "not annotated" (not scored) and listed."""
    from llmx.cli.console import out
    from llmx.inputs.config import load_settings
    from llmx.inputs.gold import read_gold_folder, unannotated
    from llmx.inputs.schemas import load_schema

    settings = load_settings(require_project=True)
    schema = load_schema(schema_name or settings.schema_name, settings.schemas_dir)
    found = read_gold_folder(folder or settings.gold, schema)
    gold = found.gold
    total = sum(len(records) for records in gold.values())
    optional = sum(1 for records in gold.values() for r in records if r.get("optional"))
    if not gold and not found.drafts:
        raise GoldError(f"{folder or settings.gold}: no gold files")
    out.print(f"[green]ok[/]: {len(gold)} gold files, {total} incidents ({optional} optional), schema '{schema.name}'")
    if found.drafts:
        pending = sum(1 for records in found.drafts.values() for r in records if r.get("pending"))
        out.print(
            f"[yellow]{len(found.drafts)} draft(s)[/], not scored until reviewed ({pending} incidents pending; "
            f"`llmx annotate RUN`): {', '.join(sorted(found.drafts))}",
            highlight=False,
            soft_wrap=True,
        )
    missing = unannotated(gold, schema)
    if missing:
        listed = ", ".join(f"{name} ({count} of {total} incidents)" for name, count in sorted(missing.items()))
        out.print(f"[yellow]not annotated[/] (not scored there): {listed}")
