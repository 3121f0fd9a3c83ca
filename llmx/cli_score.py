"""``llmx score``, ``llmx compare`` and ``llmx gold check``: make "good" measurable."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from llmx._console import err, out
from llmx.config import Settings, load_settings
from llmx.errors import GoldError, ScoreThresholdError
from llmx.gold import load_gold
from llmx.normalize import load_aliases
from llmx.report import compare_report, run_facts, score_json, score_report
from llmx.runs import read_results
from llmx.schemas import SchemaSpec, load_schema
from llmx.scoring import MIN_SIMILARITY, Score, score_run


@dataclass
class Scored:
    score: Score
    facts: dict[str, Any]
    schema: SchemaSpec
    missing_gold: list[str]


def score_one(
    run: Path, settings: Settings, gold_dir: Path | None, schema_name: str | None, min_similarity: float
) -> Scored:
    results = read_results(run)
    named = schema_name or next((r.provenance.schema_name for r in results), settings.schema_name)
    schema = load_schema(named, settings.schemas_dir)
    gold = load_gold(gold_dir or settings.gold, schema)
    in_run = {r.article_id: r for r in results}
    predictions = {aid: [item.record for item in r.incidents] for aid, r in in_run.items()}
    failures = {aid: f"{r.error.kind}" for aid, r in in_run.items() if r.error}
    scored_gold = {aid: records for aid, records in gold.items() if aid in in_run}
    score = score_run(
        predictions,
        scored_gold,
        schema.fields,
        load_aliases(settings.aliases),
        schema.evidence_field,
        min_similarity,
        failures,
    )
    return Scored(score, run_facts(results, settings.prices), schema, sorted(set(in_run) - set(gold)))


gold_option = click.option("--gold", "gold_dir", type=click.Path(path_type=Path), help="Gold folder (default: gold/).")
schema_option = click.option("--schema", "schema_name", help="Schema to score with (default: the run's).")
similarity_option = click.option(
    "--min-similarity",
    type=float,
    default=MIN_SIMILARITY,
    show_default=True,
    help="Below this, a predicted and a gold incident are not a match.",
)


@click.command()
@click.argument("run", type=click.Path(path_type=Path))
@gold_option
@schema_option
@similarity_option
@click.option("--json", "as_json", is_flag=True, help="Print the full result as one JSON object.")
@click.option("--min-f1", type=float, help="Exit with code 4 when incident F1 is below this.")
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
    settings = load_settings()
    scored = score_one(run, settings, gold_dir, schema_name, min_similarity)
    if as_json:
        click.echo(json.dumps(score_json(scored.score, scored.facts), indent=2))
    else:
        show = details if details is not None else len(scored.score.articles) <= 20
        report = score_report(
            scored.score,
            scored.facts,
            f"llmx score {run}",
            list(scored.schema.fields),
            scored.schema.evidence_field,
            show,
        )
        out.print(report)
        if scored.missing_gold:
            err.print(f"[yellow]not scored[/] (no gold): {', '.join(scored.missing_gold)}")
    if html:
        from llmx import cli_view  # imported here: cli_view imports this module

        texts = cli_view.load_texts([run], (), required=False)
        cli_view.write_page([cli_view.view_run(run, settings, gold_dir, texts, scored)], html)
        err.print(f"saved {html}")
    if min_f1 is not None and scored.score.incidents.f1 < min_f1:
        raise ScoreThresholdError(f"incident F1 {scored.score.incidents.f1:.3f} is below --min-f1 {min_f1}")


@click.command()
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@gold_option
@schema_option
@similarity_option
@click.option("--json", "as_json", is_flag=True, help="Print both scores as one JSON object.")
def compare(
    run_a: Path, run_b: Path, gold_dir: Path | None, schema_name: str | None, min_similarity: float, as_json: bool
) -> None:
    """Compare two runs on the same gold (e.g. prompt v1 vs v2): improvements green, regressions red."""
    settings = load_settings()
    a = score_one(run_a, settings, gold_dir, schema_name, min_similarity)
    b = score_one(run_b, settings, gold_dir, schema_name, min_similarity)
    if as_json:
        click.echo(json.dumps({"a": score_json(a.score, a.facts), "b": score_json(b.score, b.facts)}, indent=2))
        return
    out.print(compare_report(a.score, b.score, run_a.name, run_b.name))


@click.group(name="gold")
def gold_group() -> None:
    """Gold annotations: one hand-made <article id>.json per article."""


@gold_group.command()
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@click.option("--schema", "schema_name", help="Schema the gold is written in (default: from config).")
def check(folder: Path | None, schema_name: str | None) -> None:
    """Validate gold files against the schema; errors name the file, incident and field."""
    settings = load_settings()
    schema = load_schema(schema_name or settings.schema_name, settings.schemas_dir)
    gold = load_gold(folder or settings.gold, schema)
    total = sum(len(records) for records in gold.values())
    optional = sum(1 for records in gold.values() for r in records if r.get("optional"))
    if not gold:
        raise GoldError(f"{folder or settings.gold}: no gold files")
    out.print(f"[green]ok[/]: {len(gold)} gold files, {total} incidents ({optional} optional), schema '{schema.name}'")
