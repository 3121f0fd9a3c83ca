"""``llmx export``: a run as a flat table for a spreadsheet (CSV), JSONL, or Parquet."""

from __future__ import annotations

from pathlib import Path

import click

from llmx.errors import UsageError


@click.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "parquet"]), default="csv", help="Output format.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to this file instead of stdout.")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
def export(run: Path, fmt: str, output: Path | None, force: bool) -> None:
    """Export a run as a flat table (one row per incident) for a spreadsheet, or as Parquet (-o FILE)."""
    from llmx.app.run.export import export_run

    if output is None and fmt == "parquet":
        raise UsageError("Parquet is a binary file: pass -o FILE, e.g. -o incidents.parquet")
    written = export_run(run, fmt, output, force)
    if output is None:
        click.echo(written, nl=False)
    else:
        click.echo(f"wrote {output}", err=True)
