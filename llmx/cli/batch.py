"""The printing side of ``llmx extract --batch``: a live status line per batch while it waits,
and how to collect a batch left with the provider. The work is in :mod:`llmx.app.run.batch_engine`."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress

    from llmx.app.run.extraction_job import ExtractionOutcome
    from llmx.batch.rounds import BatchOptions, BatchView


def show_batch_status(options: BatchOptions, progress: Progress) -> None:
    """A line per batch in ``progress``, updated each time the provider is polled."""
    tasks: dict[str, Any] = {}

    def on_status(views: list[BatchView]) -> None:
        for view in views:
            if view.batch_id not in tasks:
                tasks[view.batch_id] = progress.add_task("", total=view.total or None)
            done = view.completed + view.failed
            label = f"batch {view.batch_id} {view.status}" + (f", {view.failed} failed" if view.failed else "")
            progress.update(tasks[view.batch_id], description=label, completed=done, total=view.total or None)

    options.on_status = on_status


def print_pending(outcome: ExtractionOutcome, inputs: tuple[str, ...]) -> None:
    from llmx.cli.console import err

    report = outcome.batch
    again = shlex.join(["llmx", "extract", *inputs, "--batch", "--out", str(outcome.run_dir)])
    what = f"submitted {', '.join(report.submitted)}" if report.submitted else "a batch is still running"
    err.print(
        f"[green]batch:[/] {what} for {outcome.not_started} article(s); the provider has up to 24 h.\n"
        f"collect the answers (and finish the run) with: {again}",
        highlight=False,
        soft_wrap=True,
    )


def print_ignored(outcome: ExtractionOutcome) -> None:
    """Output lines of a batch that could not be used (the rest was collected)."""
    from llmx.cli.console import err
    from llmx.cli.safe_text import markup

    ignored = outcome.batch.ignored if outcome.batch is not None else []
    for line in ignored[:10]:
        err.print(f"[yellow]batch output skipped[/] {markup(line)}", highlight=False, soft_wrap=True)
    if len(ignored) > 10:
        err.print(f"… and {len(ignored) - 10} more skipped lines (listed in batch.json)")
