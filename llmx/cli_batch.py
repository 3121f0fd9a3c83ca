"""The printing side of ``llmx extract --batch``: a live status line per batch while it waits,
and how to collect a batch left with the provider. The work is in :mod:`llmx.batch`."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmx.batch import BatchOptions, BatchView
    from llmx.extraction_run import ExtractionOutcome, ExtractionRun


def execute_with_status(run: ExtractionRun, options: BatchOptions) -> ExtractionOutcome:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from llmx._console import err

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        tasks: dict[str, Any] = {}

        def on_status(views: list[BatchView]) -> None:
            for view in views:
                if view.batch_id not in tasks:
                    tasks[view.batch_id] = progress.add_task("", total=view.total or None)
                done = view.completed + view.failed
                label = f"batch {view.batch_id} {view.status}" + (f", {view.failed} failed" if view.failed else "")
                progress.update(tasks[view.batch_id], description=label, completed=done, total=view.total or None)

        options.on_status = on_status
        return run.execute(
            on_interrupt=lambda: err.print(
                "[yellow]interrupted:[/] the batch keeps running at the provider; Ctrl-C again to stop now"
            )
        )


def print_pending(outcome: ExtractionOutcome, inputs: tuple[str, ...]) -> None:
    from llmx._console import err

    report = outcome.batch
    again = shlex.join(["llmx", "extract", *inputs, "--batch", "--out", str(outcome.run_dir)])
    what = f"submitted {', '.join(report.submitted)}" if report.submitted else "a batch is still running"
    err.print(
        f"[green]batch:[/] {what} for {outcome.not_started} article(s); the provider has up to 24 h.\n"
        f"collect the answers (and finish the run) with: {again}",
        highlight=False,
        soft_wrap=True,
    )
