"""Files llmx writes follow the user's umask like any tool's (0644 under the usual 022), not
``mkstemp``'s 0600 (issue 33): atomic writes (temp file, fsync, rename) set the temp file's mode
in one place, :func:`llmx.runs.files.atomic_write`; a file that exists keeps the mode it has."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmx.runs.files import atomic_create, atomic_write
from tests.helpers import run_cli


@pytest.fixture(params=[0o022, 0o027, 0o077])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    before = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(before)


def _modes(folder: Path, since: float) -> dict[str, int]:
    return {
        str(path.relative_to(folder)): stat.S_IMODE(path.stat().st_mode)
        for path in folder.rglob("*")
        if path.is_file() and path.stat().st_mtime >= since
    }


def test_every_file_a_run_writes_follows_the_umask(project: Path, umask: int, seed_run: Path) -> None:
    # umask comes before seed_run: the run itself is written under it (replayed, or answered by the
    # fake model after a schema edit)
    since = (project / "pyproject.toml").stat().st_mtime
    assert run_cli("export", "runs/r1", "--format", "parquet", "-o", "runs/out.parquet").exit_code == 0
    assert run_cli("export", "runs/r1", "--format", "csv", "-o", "runs/out.csv").exit_code == 0
    assert run_cli("view", "runs/r1").exit_code == 0
    assert run_cli("gold", "draft", "runs/r1", "--out", "drafts").exit_code == 0
    modes = _modes(project / "runs", since) | _modes(project / "drafts", since)
    assert {"r1/run.json", "r1/extractions.jsonl", "r1/view.html", "out.parquet", "out.csv"} <= set(modes)
    assert len(modes) > 6 and set(modes.values()) == {0o666 & ~umask}, {k: oct(v) for k, v in modes.items()}


def test_a_file_rewritten_keeps_its_mode(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "kept.json"
    atomic_write(path, "{}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    path.chmod(0o640)
    atomic_write(path, '{"a": 1}')
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.read_text() == '{"a": 1}'
    assert atomic_create(tmp_path / "new.json", "{}")
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o666 & ~umask
