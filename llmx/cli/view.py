"""``llmx view``: write the HTML viewer page of a run, or two (the work is in :mod:`llmx.app.evaluation.view_page`)."""

from __future__ import annotations

from pathlib import Path

import click

from llmx.cli.score import gold_option, schema_option


@click.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.argument("run_b", required=False, type=click.Path(path_type=Path))
@gold_option
@schema_option
@click.option(
    "--articles",
    multiple=True,
    metavar="INPUT",
    help="Where the article texts are (files, folders, globs, JSONL; repeatable). Default: the run's inputs.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="HTML file (default: RUN/view.html, or RUN_B/view-vs-RUN.html; RUN/events.html with --events).",
)
@click.option(
    "--events",
    "show_events",
    is_flag=True,
    help="The events page instead: each event (see `llmx events`) with its reports side by side, disputes marked.",
)
def view(
    run: Path,
    run_b: Path | None,
    gold_dir: Path | None,
    schema_name: str | None,
    articles: tuple[str, ...],
    output: Path | None,
    show_events: bool,
) -> None:
    """Write one self-contained HTML page to see a run: each article with its incidents'
    evidence highlighted, a card per incident, matched / missed / spurious against gold.
    With RUN_B, the two runs side by side, the articles that changed first. With --events,
    the run's events instead, each with its reports side by side."""
    from llmx.app.evaluation.view_page import (
        build_events_page,
        build_page,
        check_page_path,
        write_events_page,
        write_page,
    )
    from llmx.cli.console import err, out
    from llmx.cli.safe_text import markup
    from llmx.errors import UsageError
    from llmx.inputs.config import load_settings

    settings = load_settings(require_project=True)
    if show_events:
        if run_b is not None:
            raise UsageError("--events shows one run: drop RUN_B (or view the runs one at a time)")
        target = output or run / "events.html"
        check_page_path(target)
        html, notes = build_events_page(run, settings, gold_dir, list(articles))
        for note in notes:
            err.print(f"[yellow]note:[/] {markup(note)}", highlight=False, soft_wrap=True)
        out.print(str(write_events_page(html, target)), highlight=False, soft_wrap=True)
        return
    target = output or (run_b / f"view-vs-{run.name}.html" if run_b else run / "view.html")
    check_page_path(target)  # before the work, not after
    page = build_page([run, *([run_b] if run_b else [])], settings, gold_dir, list(articles), schema_name)
    for note in page.notes:
        err.print(f"[yellow]note:[/] {markup(note)}", highlight=False, soft_wrap=True)
    out.print(str(write_page(page, target)), highlight=False, soft_wrap=True)
