"""Shared fixtures (the helpers tests import are in tests/helpers.py). Model requests are
blocked in every test unless it asks for ``live_requests`` (pydantic-ai's ALLOW_MODEL_REQUESTS
habit, :mod:`llmx.model.live`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmx.model import live
from tests.helpers import RERECORD, ROOT, recordings_current, run_cli


@pytest.fixture(autouse=True)
def _block_live_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "ALLOW_MODEL_REQUESTS", False)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_VERSION", "AZURE_OPENAI_API_KEY", "CI", "LLMX_DEBUG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def live_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in: this test may send requests (to a stub on 127.0.0.1 or the local model)."""
    monkeypatch.setattr(live, "ALLOW_MODEL_REQUESTS", True)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the project's data (prompts, schemas, seeds, gold, cassettes, config) in a temp dir."""
    for name in ("prompts", "schemas", "seeds", "challenge", "events", "gold", "cassettes"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture
def shipped_recordings(project: Path) -> None:
    """For tests about the shipped cassettes: after a prompt or schema edit they cannot replay,
    so they skip, saying how to re-record, instead of failing obscurely."""
    if not recordings_current(project):
        pytest.skip(f"the shipped cassettes were recorded with another prompt or schema; re-record: {RERECORD}")


@pytest.fixture
def seed_run(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A run of the five seeds in runs/r1: replayed from the shipped cassettes when they match
    the prompt and schema, otherwise answered by the fake model (so a schema edit breaks nothing)."""
    if recordings_current(project):
        result = run_cli("extract", "seeds/", "--out", "runs/r1")
    else:
        from llmx.testing.stub_server import StubServer

        monkeypatch.setattr(live, "ALLOW_MODEL_REQUESTS", True)
        with StubServer() as server:
            result = run_cli("extract", "seeds/", "--base-url", server.base_url, "--out", "runs/r1")
    assert result.exit_code == 0, result.output
    return project / "runs" / "r1"
