"""Shared fixtures. Live model requests are blocked in every test unless it asks for
``live_requests`` (pydantic-ai's ALLOW_MODEL_REQUESTS habit)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from click.testing import CliRunner, Result

from llmx import cassette_gateway
from llmx.cassette_gateway import CassetteGateway
from llmx.cassettes import CassettePolicy, CassetteStore
from llmx.cli import main
from llmx.extract import Extractor
from llmx.model_server import ModelServer
from llmx.prompts import load_prompt
from llmx.retry import RetryPolicy
from llmx.schemas import load_schema

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _block_live_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cassette_gateway, "ALLOW_LIVE_REQUESTS", False)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_VERSION", "AZURE_OPENAI_API_KEY", "CI", "LLMX_DEBUG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def live_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in: this test may send requests (to a stub on 127.0.0.1 or the local model)."""
    monkeypatch.setattr(cassette_gateway, "ALLOW_LIVE_REQUESTS", True)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the project's data (prompts, schemas, seeds, gold, cassettes, config) in a temp dir."""
    for name in ("prompts", "schemas", "seeds", "challenge", "gold", "cassettes"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def extract_args(base_url: str, out: str, *extra: str, inputs: str = "seeds/") -> list[str]:
    """``llmx extract`` against a server, recording into a temp cassette folder."""
    return ["extract", inputs, "--base-url", base_url, "--cassettes", "tape", "--out", out, *extra]


def make_extractor(
    cassettes: Path,
    client: openai.AsyncOpenAI | None,
    mode: CassettePolicy = "auto",
    model: str = "m",
    params: dict[str, Any] | None = None,
    policy: RetryPolicy | None = None,
) -> Extractor:
    """The extractor over the project's prompt and schema, with fast retries."""
    server = (
        ModelServer(client, policy or RetryPolicy(max_attempts=3, initial_wait=0.001, max_wait=2.0)) if client else None
    )
    gateway = CassetteGateway(server, CassetteStore(cassettes), mode, "json_schema")
    return Extractor(
        gateway,
        load_prompt("incident", ROOT / "prompts"),
        load_schema("incident", ROOT / "schemas"),
        model,
        params or {"temperature": 0.0},
        reasks=2,
    )


def run_cli(*args: Any, env: dict[str, str] | None = None) -> Result:
    runner = CliRunner()
    return runner.invoke(main, [str(a) for a in args], env=env, catch_exceptions=True)


RERECORD = "llmx extract seeds/ challenge/ --local --record"
_CURRENT: dict[str, bool] = {}


def recordings_current(project: Path) -> bool:
    """Do the shipped cassettes answer the project's prompt and schema as they are now? (A strict
    replay of the seeds, once per distinct prompt + schema + cassettes.)"""
    import hashlib

    digest = hashlib.sha256()
    for folder in ("prompts", "schemas", "cassettes"):
        for path in sorted((project / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.name.encode() + path.read_bytes())
    key = digest.hexdigest()
    if key not in _CURRENT:
        probe = run_cli("extract", "seeds/", "--replay", "--out", str(project / "runs" / ".probe"))
        shutil.rmtree(project / "runs" / ".probe", ignore_errors=True)
        _CURRENT[key] = probe.exit_code == 0
    return _CURRENT[key]


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

        monkeypatch.setattr(cassette_gateway, "ALLOW_LIVE_REQUESTS", True)
        with StubServer() as server:
            result = run_cli("extract", "seeds/", "--base-url", server.base_url, "--out", "runs/r1")
    assert result.exit_code == 0, result.output
    return project / "runs" / "r1"
