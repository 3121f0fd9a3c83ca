"""One run lifecycle for every engine (:class:`llmx.app.run.extraction_run.ExtractionRun`): the
budget, the status, resume and the export are the run's, and the same under the plain engine,
``--batch`` and ``--engine ray``. A fix to any of them lands once; this test holds it for all."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from llmx.testing.batch_stub import BatchStub
from llmx.testing.fake_model import Reply, always, schema_answer
from llmx.testing.stub_server import StubServer
from tests.helpers import run_cli

ARTICLES = 6
Script = Callable[[dict[str, Any], int], Reply]


def _counting(asked: list[str]) -> Script:
    """The fake model's answer, noting every request it is asked (by its messages)."""
    answer = always(schema_answer)

    def script(body: dict[str, Any], number: int) -> Reply:
        asked.append(json.dumps(body["messages"], sort_keys=True))
        return answer(body, number)

    return script


def _server(engine: str, script: Script) -> AbstractContextManager[Any]:
    return BatchStub(script=script) if engine == "batch" else StubServer(script=script)


def _engine_args(engine: str, base_url: str) -> list[str]:
    return {
        "plain": ["--base-url", base_url],
        "batch": ["--batch", "--base-url", base_url, "--poll", "0.01"],
        "ray": ["--base-url", base_url, "--engine", "ray", "--ray-workers", "1"],
    }[engine]


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param != "ray":
        yield request.param
        return
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        yield "ray"
    finally:
        ray.shutdown()


@pytest.mark.parametrize("engine", ["plain", "batch", "ray"], indirect=True)
def test_budget_status_resume_and_export_are_the_same_under_every_engine(
    engine: str, project: Path, live_requests: None
) -> None:
    rows = [{"id": f"a{n}", "text": f"A drone struck Erbil on Monday, killing {n} people.", "date": "2024-09-22"}
            for n in range(ARTICLES)]  # fmt: skip
    (project / "c.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text() + '\n[tool.llmx.prices]\n"m" = {prompt = 50000.0, completion = 0.0}\n'
    )
    asked: list[str] = []
    with _server(engine, _counting(asked)) as server:
        args = ["extract", "c.jsonl", *_engine_args(engine, server.base_url), "--model", "m", "--strategy", "single",
                "--cassettes", "tape", "--concurrency", "1", "--out", "runs/r"]  # fmt: skip
        capped = run_cli(*args, "--max-cost", "3")  # one answer costs more than the cap
        manifest = json.loads((project / "runs/r/run.json").read_text())
        written = len((project / "runs/r/extractions.jsonl").read_text().splitlines())
        assert manifest["settings"]["engine"] == engine
        assert set(manifest["article_ids"]) == {row["id"] for row in rows}  # the articles left are named too
        assert manifest["summary"]["spent_usd"] > 3
        # (--batch: the batch's answers are paid for, but an article spends them as it finishes)
        assert (capped.exit_code, manifest["status"]) == (5, "over_budget"), capped.output
        assert 1 <= written < ARTICLES and "not started" in manifest["error"]
        before = len(asked)
        again = run_cli(*args, "--max-cost", "3")  # the folder has spent its cap: nothing new starts
        assert len(asked) == before and again.exit_code == capped.exit_code, again.output
        resumed = run_cli(*args, "--max-cost", "1000", "--format", "csv")
    assert resumed.exit_code == 0, resumed.output
    final = json.loads((project / "runs/r/run.json").read_text())
    results = [json.loads(line) for line in (project / "runs/r/extractions.jsonl").read_text().splitlines()]
    assert final["status"] == "complete" and final["error"] is None
    assert sorted(r["article_id"] for r in results) == sorted(row["id"] for row in rows)  # each once
    assert final["summary"]["articles"] == ARTICLES
    assert len(asked) == ARTICLES and max(Counter(asked).values()) == 1  # no request asked twice
    exported = (project / "runs/r/extractions.csv").read_text()
    assert all(f"a{n}" in exported for n in range(ARTICLES))
