"""``llmx prompts``: which strategy reads which file; and, after ``llmx extract``, the note that
names a template edited since the last run that this run did not read (the work is in
:mod:`llmx.app.project.prompt_map`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


@click.command()
@click.option("--prompt", help="Prompt template name the strategies start from (default: from config).")
@click.option("--json", "as_json", is_flag=True, help="Print {strategy: {file: sha256}} (and errors) as JSON.")
def prompts(prompt: str | None, as_json: bool) -> None:
    """Which files each strategy reads: its prompt templates, what they extend or include, and the
    schema. Edit one of these to change what the model is asked; a template no strategy reads
    changes nothing."""
    from rich.table import Table

    from llmx.app.project.prompt_map import strategy_files, unread_templates
    from llmx.cli.console import out
    from llmx.cli.report import files_cell
    from llmx.cli.safe_text import markup
    from llmx.inputs.config import load_settings

    settings = load_settings(overrides={"prompt": prompt} if prompt else None, require_project=True)
    found = strategy_files(settings)
    read = {path for item in found for path in item.files}
    unread = [path for path in unread_templates(settings, dict.fromkeys(read, "")) if path not in read]
    if as_json:
        payload: dict[str, Any] = {
            "strategies": {
                item.strategy: item.files if item.error is None else {"error": item.error} for item in found
            },
            "default": settings.strategy,
            "read_by_none": unread,
        }
        click.echo(json.dumps(payload, indent=2))
        return
    table = Table(title=f"files each strategy reads (--prompt {markup(settings.prompt)})", title_justify="left")
    table.add_column("strategy")
    table.add_column("reads")
    for item in found:
        name = item.strategy + (" (default)" if item.strategy == settings.strategy else "")
        reads = files_cell(item.files) if item.error is None else f"[red]cannot run:[/] {markup(item.error)}"
        table.add_row(name, reads)
    out.print(table)
    if unread:
        out.print(
            f"[yellow]read by no strategy[/] (with --prompt {markup(settings.prompt)}): {markup(', '.join(unread))}"
        )


def note_unread_edits(settings: Any, run: Path, files: dict[str, str]) -> None:
    """After a run: name each template edited since the last run that this run did not read."""
    from llmx.app.project.prompt_map import unread_edits
    from llmx.cli.console import err
    from llmx.cli.safe_text import markup
    from llmx.inputs.prompts import shown_path

    reads = ", ".join(path for path in files)
    for edit in unread_edits(settings, files, run):
        err.print(
            f"[yellow]note:[/] {markup(edit.path)} changed since the last run ({markup(shown_path(edit.since))}) "
            f"but is not read by --strategy {markup(settings.strategy)}; it reads {markup(reads)} "
            "(`llmx prompts` lists which strategy reads which file)",
            highlight=False,
            soft_wrap=True,
        )
