"""Shared fixtures. Live model requests are blocked in every test unless it asks for
``live_requests`` (pydantic-ai's ALLOW_MODEL_REQUESTS habit)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from llmx import client
from llmx.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _block_live_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "ALLOW_LIVE_REQUESTS", False)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CI", "LLMX_DEBUG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def live_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in: this test may send requests (to a stub on 127.0.0.1 or the local model)."""
    monkeypatch.setattr(client, "ALLOW_LIVE_REQUESTS", True)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the project's data (prompts, schemas, seeds, gold, cassettes, config) in a temp dir."""
    for name in ("prompts", "schemas", "seeds", "gold", "cassettes"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def run_cli(*args: Any, env: dict[str, str] | None = None) -> Result:
    runner = CliRunner()
    return runner.invoke(main, [str(a) for a in args], env=env, catch_exceptions=True)
