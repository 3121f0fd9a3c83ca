"""The two consoles every command prints to (results on stdout, progress and errors on stderr),
and the one progress bar the long commands share."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

out = Console()
err = Console(stderr=True)


def progress_bar(transient: bool = False) -> Progress:
    """Spinner, label, bar, done/total, elapsed: on stderr, so stdout stays the command's output."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    return Progress(*columns, console=err, transient=transient)
