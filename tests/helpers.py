"""What tests share besides fixtures: the repository root, the CLI runner, an extractor over the
project's prompt and schema, and whether the shipped cassettes still answer the project."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import openai
from click.testing import CliRunner, Result

from llmx.cassettes.folder import CassetteStore
from llmx.cassettes.gateway import Gateway, RecordingGateway, ReplayGateway
from llmx.cassettes.store import CassettePolicy
from llmx.cli.main import main
from llmx.extraction.extractor import Extractor
from llmx.inputs.articles import Article
from llmx.inputs.prompts import load_prompt
from llmx.inputs.schemas import load_schema
from llmx.model.retry import RetryPolicy
from llmx.model.server import ModelServer
from llmx.runs.results import ArticleResult

ROOT = Path(__file__).resolve().parent.parent


def extract_args(base_url: str, out: str, *extra: str, inputs: str = "seeds/", strategy: str = "single") -> list[str]:
    """``llmx extract`` against a server, recording into a temp cassette folder. ``single`` by
    default: one request an article, so the tests of transport, costs and resume can count them
    (the evidence strategy's own tests: tests/test_evidence_first.py)."""
    return [
        "extract",
        inputs,
        "--base-url",
        base_url,
        "--cassettes",
        "tape",
        "--out",
        out,
        "--strategy",
        strategy,
        *extra,
    ]


def make_extractor(
    cassettes: Path,
    client: openai.AsyncOpenAI | None,
    mode: CassettePolicy = "auto",
    model: str = "m",
    params: dict[str, Any] | None = None,
    policy: RetryPolicy | None = None,
) -> BoundExtractor:
    """The extractor over the project's prompt and schema, with fast retries, bound to a gateway
    over ``cassettes`` (and ``client``'s server, if any)."""
    store = CassetteStore(cassettes)
    gateway: Gateway = ReplayGateway(store, "json_schema")
    if client is not None and mode != "replay":
        retry = policy or RetryPolicy(max_attempts=3, initial_wait=0.001, max_wait=2.0)
        gateway = RecordingGateway(store, "json_schema", ModelServer(client, retry), mode)
    extractor = Extractor(
        prompt=load_prompt("incident", ROOT / "prompts"),
        schema=load_schema("incident", ROOT / "schemas"),
        model=model,
        params=params or {"temperature": 0.0},
        reasks=2,
    )
    return BoundExtractor(extractor, gateway)


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


class BoundExtractor:
    """An extractor and the gateway it is handed, for tests that extract one article at a time."""

    def __init__(self, extractor: Extractor, gateway: Gateway) -> None:
        self.extractor = extractor
        self.gateway = gateway

    async def extract(self, article: Article) -> ArticleResult:
        return await self.extractor.extract(article, self.gateway)
