"""``llmx gold draft`` and ``llmx gold agree``: draft gold from a run, measure agreement.
Parsing and printing only; the work is in :mod:`llmx.app.gold.draft` and :mod:`llmx.app.gold.agreement`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from llmx.cli.score import gold_group, similarity_option
from llmx.core.fields import MIN_SIMILARITY


@gold_group.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Folder for the drafts (default: gold/).")
@click.option(
    "--articles",
    multiple=True,
    metavar="INPUT",
    help="Where the article texts are (repeatable). Default: the run's inputs.",
)
@click.option("--schema", "schema_name", help="Schema of the gold (default: from config).")
def draft(run: Path, out_dir: Path | None, articles: tuple[str, ...], schema_name: str | None) -> None:
    """Draft a gold file per article from a run's records, to correct in `llmx annotate`.

    Each file holds every field, the evidence and a note of what the checks removed, and says
    "status": "draft" (not scored) until a person marks it reviewed. Existing gold files are kept."""
    from llmx.app.gold.draft import draft_gold
    from llmx.cli.console import err, out
    from llmx.inputs.config import load_settings

    settings = load_settings(require_project=True)
    outcome = draft_gold(run, settings, out_dir, list(articles), schema_name)
    if outcome.kept:
        err.print(
            f"[yellow]kept {len(outcome.kept)} existing file(s) in {outcome.folder}[/], not overwritten: "
            + ", ".join(f"{aid}.json" for aid in outcome.kept),
            highlight=False,
            soft_wrap=True,
        )
    if outcome.failed:
        err.print(f"[yellow]no draft for {len(outcome.failed)} failed article(s)[/]: {', '.join(outcome.failed)}")
    out.print(
        f"drafted {len(outcome.written)} gold file(s) in {outcome.folder}; correct them with: llmx annotate {run}"
        + (f" --gold {outcome.folder}" if out_dir else ""),
        highlight=False,
        soft_wrap=True,
    )


@gold_group.command()
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@click.option("--schema", "schema_name", help="Schema of the gold (default: from config).")
@similarity_option
@click.option("--json", "as_json", is_flag=True, help="Print the result, every disagreement included, as JSON.")
def agree(a: Path, b: Path, schema_name: str | None, min_similarity: float, as_json: bool) -> None:
    """Agreement between two annotations of the same articles: two gold folders, or a run and a
    gold folder. Incidents matched as `llmx score` matches them (A is the reference: P/R/F1 of B),
    then per field Krippendorff's alpha on the matched incidents, and every disagreement."""
    from llmx.app.gold.agreement import agree as measure
    from llmx.app.gold.agreement import agreement_json
    from llmx.cli.console import out
    from llmx.cli.gold_report import agreement_report
    from llmx.inputs.config import load_settings

    found = measure(a, b, load_settings(require_project=True), schema_name, min_similarity or MIN_SIMILARITY)
    if as_json:
        click.echo(json.dumps(agreement_json(found), indent=2, ensure_ascii=False, default=str))
    else:
        out.print(agreement_report(found, str(a), str(b)))
