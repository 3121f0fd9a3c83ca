"""``llmx init``: write a starter project into a folder, never overwriting a file.

Files that already exist are kept as they are and listed, and the rest are written, so running
``llmx init`` again restores what was deleted without touching what was edited. A folder whose
``pyproject.toml`` already holds ``[tool.llmx]`` gets no ``llmx.toml`` (it would take precedence).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from llmx.errors import OutputError
from llmx.inputs.starter import starter_files
from llmx.runs.files import read_text


@dataclass
class NewProject:
    root: Path
    schema: str
    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)  # already there: not overwritten
    notes: list[str] = field(default_factory=list)


def init_project(directory: Path, schema: str = "incident") -> NewProject:
    files = starter_files(schema)
    if directory.exists() and not directory.is_dir():
        raise OutputError(f"{directory}: is a file; give llmx init a folder (new or existing)", directory)
    project = NewProject(directory, schema)
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file() and "[tool.llmx" in read_text(pyproject, "pyproject.toml"):
        files.pop("llmx.toml")
        project.notes.append(f"{pyproject} already holds [tool.llmx]: no llmx.toml written (it would take precedence)")
    for relative, data in files.items():
        target = directory / relative
        if target.exists() or target.is_symlink():
            project.kept.append(target)
            continue
        _write_new(target, data)
        project.written.append(target)
    return project


def _write_new(target: Path, data: bytes) -> None:
    """Create ``target`` with ``data``; "x" mode fails rather than overwrite a file that appeared meanwhile."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("xb") as handle:
            handle.write(data)
    except FileExistsError:
        raise OutputError(f"{target}: appeared while llmx init ran; not overwritten", target) from None
    except OSError as error:
        target.unlink(missing_ok=True)
        raise OutputError(f"{target}: cannot write it ({error.strerror}); choose another folder", target) from error
