"""The starter project ``llmx init`` writes: its files, as the package carries them.

A starter is ``project_template/common/`` (the ``.gitignore``) plus ``project_template/<name>/``
(``llmx.toml``, two sample articles, one gold file, and for muc4 its aliases) plus the
repository's own prompts and schemas that ``project_template/shared.toml`` lists for it. Those
have one source of truth, the repository's ``prompts/`` and ``schemas/``: setup.py copies them into
the package (``project_template/shared/``) when it is built, and in a checkout they are read
out of the repository itself, so an edit to ``schemas/incident.py`` is what the next ``llmx init``
writes.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from llmx.errors import UsageError

TEMPLATE = Path(__file__).parent / "project_template"
PACKAGED = TEMPLATE / "shared"  # written by setup.py into the built package only
REPOSITORY = Path(__file__).resolve().parents[2]  # the checkout this module is in, if it is one
STARTERS = ("incident", "muc4")
RENAMED = {"gitignore": ".gitignore"}  # a dotfile would not be package data


def shared_files() -> dict[str, list[str]]:
    """Starter name → the repository files it carries (prompts/..., schemas/...)."""
    data = tomllib.loads((TEMPLATE / "shared.toml").read_text(encoding="utf-8"))
    return {name: list(paths) for name, paths in data.items()}


def starter_files(name: str) -> dict[str, bytes]:
    """Relative path → content of every file of the starter ``name``."""
    if name not in STARTERS:
        raise UsageError(f"unknown starter schema {name!r}; use one of {', '.join(STARTERS)}")
    files: dict[str, bytes] = {}
    for folder in (TEMPLATE / "common", TEMPLATE / name):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                relative = path.relative_to(folder).as_posix()
                files[RENAMED.get(relative, relative)] = path.read_bytes()
    for relative in shared_files()[name]:
        source = PACKAGED / relative if (PACKAGED / relative).is_file() else REPOSITORY / relative
        if not source.is_file():
            raise UsageError(
                f"this llmx installation lacks its starter file {relative}; reinstall it (pip install llmx-incidents)"
            )
        files[relative] = source.read_bytes()
    return dict(sorted(files.items()))
