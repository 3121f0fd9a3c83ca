"""``llmx events RUN``: one row per attack across all the articles that report it. Parsing and
printing only; the work is in :mod:`llmx.app.evaluation.events`."""

from __future__ import annotations

from pathlib import Path

import click

from llmx.cli.numbers import FiniteFloat


@click.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", help="Also write RUN/events.csv with csv."
)
@click.option(
    "--articles",
    multiple=True,
    metavar="INPUT",
    help="Where the articles are, for their publication dates (default: the inputs run.json recorded). Repeatable.",
)
@click.option("--schema", "schema_name", help="Schema whose EVENT rule fuses the reports (default: the run's).")
@click.option(
    "--threshold",
    type=FiniteFloat(),
    help="Match weight (bits) at which two reports join, to explore (default: the EVENT rule's link threshold).",
)
def events(run: Path, fmt: str, articles: tuple[str, ...], schema_name: str | None, threshold: float | None) -> None:
    """Fuse a run's incidents across articles into events: RUN/events.jsonl, one line per attack
    with its fused fields, every report it came from (article, incident, evidence, offsets) and
    the fields on which the reports disagree, and the pairs that joined it with the fields that
    agreed and disagreed and their weights. A single report is an event of one.

    When two reports are one event is the schema's EVENT rule (docs/codebook.md)."""
    from rich.table import Table

    from llmx.app.evaluation.events import fuse_run, write_events
    from llmx.cli.console import err, out
    from llmx.inputs.config import load_settings

    fused = fuse_run(run, load_settings(require_project=True), list(articles), schema_name, threshold)
    written = write_events(fused, csv=fmt == "csv")
    several = [e for e in fused.events if e.size > 1]
    table = Table(title=f"llmx events {run}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("reports (incidents)", str(fused.reports))
    table.add_row("events", str(len(fused.events)))
    table.add_row("events with several reports", f"{len(several)} ({sum(e.size for e in several)} reports)")
    table.add_row("events with disputed fields", str(sum(1 for e in fused.events if e.disputes)))
    table.add_row("pairs compared (after blocking)", f"{fused.candidate_pairs:,}")
    table.add_row("threshold (bits)", f"{fused.threshold:g}")
    table.add_row("failed articles (no reports)", str(len(fused.failed)))
    out.print(table)
    for note in fused.notes:
        err.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    if fused.failed:
        listed = ", ".join(f"{aid} ({kind})" for aid, kind in sorted(fused.failed.items())[:10])
        more = f" and {len(fused.failed) - 10} more" if len(fused.failed) > 10 else ""
        err.print(f"[yellow]failed articles[/] (not in any event): {listed}{more}", highlight=False, soft_wrap=True)
    for path in written:
        err.print(f"wrote {path}")
