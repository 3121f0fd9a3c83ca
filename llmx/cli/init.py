"""``llmx init``: start a project (the work is in :mod:`llmx.app.project.new_project`)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from llmx.inputs.starter import STARTERS


@click.command("init")
@click.argument("directory", default=".", required=False, type=click.Path(path_type=Path))
@click.option(
    "--schema",
    type=click.Choice(STARTERS),
    default="incident",
    show_default=True,
    help="What to extract: incident (attacks: place, date, attacker, casualties) or muc4 (MUC-4 terrorism templates).",
)
def init(directory: Path, schema: str) -> None:
    """Start an llmx project in DIRECTORY (default: here): llmx.toml, the prompt and schema,
    aliases, a gold/ example, two sample articles and a .gitignore for runs/.

    Never overwrites a file: one that exists is kept and named, the others are written."""
    from rich.markup import escape

    from llmx.app.project.new_project import init_project
    from llmx.cli.console import err, out

    project = init_project(directory, schema)
    for path in project.written:
        out.print(f"wrote {path}", highlight=False, soft_wrap=True, markup=False)
    for path in project.kept:
        err.print(f"[yellow]kept[/] {escape(str(path))}: it exists, not overwritten", highlight=False, soft_wrap=True)
    for note in project.notes:
        err.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    go = "" if directory.resolve() == Path.cwd().resolve() else f"cd {os.path.relpath(directory)} && "
    out.print(
        "\nnext, with OPENAI_API_KEY set (or add --base-url URL --model NAME for any OpenAI-compatible server, "
        f"or --local):\n  {go}llmx extract articles/ --out runs/first\n  llmx score runs/first\n  llmx view runs/first",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )
