"""Faults injected by a real OpenAI-compatible server on 127.0.0.1: retried, re-asked or recorded
as failed with the reason; tokens of every attempt counted; failures never cached."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from llmx.app.run.worker_pool import run_all
from llmx.extraction.extractor import Extractor
from llmx.inputs.articles import Article
from llmx.model.retry import RetryPolicy, retry_after_seconds
from llmx.model.server import make_client
from llmx.runs.results import ArticleResult, RunSummary
from llmx.testing.fake_model import Reply, Script, always, schema_answer, sequence
from llmx.testing.stub_server import StubServer
from tests.helpers import extract_args, make_extractor, run_cli

ARTICLE = Article(id="a1", text="A drone hit the Ain al-Asad airbase on Monday. Nobody was hurt.")
ANSWER = always(schema_answer)  # a schema-valid, grounded answer built from the request


def extractor(tmp_path: Path, base_url: str, timeout: float = 5.0) -> Extractor:
    return make_extractor(
        tmp_path / "tape",
        make_client("sk-test", base_url, timeout),
        policy=RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=2.0),
    )


def extract_with(tmp_path: Path, script: Script, timeout: float = 5.0) -> tuple[ArticleResult, StubServer]:
    with StubServer(script=script) as server:
        result = asyncio.run(extractor(tmp_path, server.base_url, timeout).extract(ARTICLE))
    return result, server


def tapes(tmp_path: Path) -> list[Path]:
    return list((tmp_path / "tape").rglob("*.json"))


@pytest.fixture(autouse=True)
def _live(live_requests: None) -> None:
    """Every test here talks to the stub on 127.0.0.1."""


def test_429_waits_for_retry_after_then_succeeds(tmp_path: Path) -> None:
    started = time.monotonic()
    result, server = extract_with(tmp_path, sequence(Reply(fault="status", status=429, retry_after="0.3"), then=ANSWER))
    assert time.monotonic() - started >= 0.3  # the server's Retry-After was honoured
    assert result.status == "ok" and len(server.requests) == 2 and len(tapes(tmp_path)) == 1


def test_retry_after_as_http_date() -> None:
    class Response:
        headers: ClassVar[dict[str, str]] = {"retry-after": "Wed, 21 Oct 2099 07:28:00 GMT"}

    class Error:
        response = Response()

    assert (retry_after_seconds(Error()) or 0) > 1e8  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_persistent_5xx_is_retried_to_the_bound_then_failed_and_not_cached(tmp_path: Path, status: int) -> None:
    result, server = extract_with(tmp_path, always(lambda body: Reply(fault="status", status=status)))
    assert result.status == "failed" and result.error is not None
    assert result.error.kind == "transient" and f"HTTP {status} from http://127.0.0.1" in result.error.message
    assert "after 3 tries" in result.error.message
    assert len(server.requests) == 3 and tapes(tmp_path) == []


def test_a_5xx_blip_is_survived(tmp_path: Path) -> None:
    result, server = extract_with(tmp_path, sequence(Reply(fault="status", status=502), then=ANSWER))
    assert result.status == "ok" and len(server.requests) == 2


def test_hang_past_the_timeout_is_a_transient_failure(tmp_path: Path) -> None:
    result, server = extract_with(tmp_path, always(lambda body: Reply(fault="hang")), timeout=0.3)
    assert result.status == "failed" and result.error is not None
    assert result.error.kind == "transient" and "within the timeout, 3 tries" in result.error.message
    assert len(server.requests) == 3


def test_dropped_connection_is_retried(tmp_path: Path) -> None:
    result, server = extract_with(tmp_path, sequence(Reply(fault="drop"), then=ANSWER))
    assert result.status == "ok" and len(server.requests) == 2


def test_non_json_body_fails_with_the_body_kept(tmp_path: Path) -> None:
    result, _ = extract_with(tmp_path, always(lambda body: Reply(fault="non_json")))
    assert result.status == "failed" and result.error is not None and result.error.kind == "invalid_output"
    assert "upstream proxy error" in (result.error.last_output or "") and tapes(tmp_path) == []


def test_content_that_is_not_json_is_reasked_and_tokens_of_every_attempt_count(tmp_path: Path) -> None:
    result, server = extract_with(
        tmp_path, sequence(Reply(content="Sure! Here are the incidents:", usage=(70, 5)), then=ANSWER)
    )
    assert result.status == "ok" and len(server.requests) == 2
    assert result.provenance.usage.prompt_tokens == 170 and result.provenance.usage.completion_tokens == 25


def test_schema_violation_is_reasked_then_failed_with_last_output(tmp_path: Path) -> None:
    bad = Reply(content=json.dumps({"incidents": [{"trebuchet": True}]}), usage=(10, 1))
    result, server = extract_with(tmp_path, always(lambda body: bad))
    assert result.status == "failed" and result.error is not None and result.error.kind == "invalid_output"
    assert "trebuchet" in (result.error.last_output or "") and len(server.requests) == 3
    assert result.provenance.usage.prompt_tokens == 30
    # the re-ask told the model what was wrong
    reask = server.requests[1]["messages"][-1]
    assert reask["role"] == "user" and "validation errors" in reask["content"] and "trebuchet" in reask["content"]


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (Reply(fault="refusal"), "refused"),
        (Reply(fault="empty_choices"), "invalid_output"),
    ],
)
def test_refused_and_empty_answers_fail_clearly_and_are_not_cached(tmp_path: Path, reply: Reply, kind: str) -> None:
    result, server = extract_with(tmp_path, always(lambda body: reply))
    assert result.status == "failed" and result.error is not None and result.error.kind == kind
    # one answer, counted, never cached, and not asked again: asking again cannot fix these
    assert result.provenance.attempts == len(server.requests) == 1 and tapes(tmp_path) == []


def test_an_answer_cut_at_max_tokens_keeps_its_whole_records_and_is_recorded(tmp_path: Path) -> None:
    def cut(body: dict[str, Any]) -> Reply:
        whole = json.loads(schema_answer(body).content)["incidents"][0] | {"evidence": ARTICLE.text.split(".")[0] + "."}
        repeated = json.dumps({"incidents": [whole, whole, whole]})
        return Reply(finish_reason="length", content=repeated[: len(repeated) - 40])  # the third record cut in half

    result, server = extract_with(tmp_path, always(cut))
    assert result.status == "ok" and result.provenance.truncated == 1
    assert len(result.incidents) == 1  # the repeats are one record; the half record is left out
    assert len(server.requests) == 1 and len(tapes(tmp_path)) == 1  # recorded: replay repeats the run

    nothing, _ = extract_with(tmp_path / "b", always(lambda body: Reply(finish_reason="length", content='{"inci')))
    assert nothing.status == "failed" and nothing.error is not None and nothing.error.kind == "truncated"


def test_the_run_goes_on_when_one_article_fails(tmp_path: Path) -> None:
    def script(body: dict[str, Any], number: int) -> Reply:
        return Reply(fault="status", status=503) if "Article id: bad" in json.dumps(body) else schema_answer(body)

    articles = [Article(id=name, text=ARTICLE.text) for name in ("good1", "bad", "good2")]
    seen: list[ArticleResult] = []

    async def run(base_url: str) -> None:
        bound = extractor(tmp_path, base_url)
        async with bound.gateway:
            await run_all(bound.extract, articles, 2, seen.append)

    with StubServer(script=script) as server:
        asyncio.run(run(server.base_url))
    summary = RunSummary.of(seen)
    assert (summary.ok, summary.failed, summary.failures) == (2, 1, {"transient": 1})
    assert {r.article_id for r in seen if r.status == "failed"} == {"bad"}


def test_cli_exit_code_and_summary_count_failures(project: Path) -> None:
    def script(body: dict[str, Any], number: int) -> Reply:
        return Reply(fault="status", status=500) if "000_e376" in json.dumps(body) else schema_answer(body)

    with StubServer(script=script) as server:
        result = run_cli(*extract_args(server.base_url, "runs/f"))
    assert result.exit_code == 1
    assert "failures" in result.output and "transient: 1" in result.output
    assert "failed 000_e376b6ba81a78c64 (transient): HTTP 500 from http://127.0.0.1" in result.output
    assert len(list((project / "tape").rglob("*.json"))) == 4


def test_an_error_whose_chain_loops_is_re_raised_not_searched_forever() -> None:
    from llmx.extraction.salvage import salvaged
    from llmx.inputs.schemas import load_schema

    first, second = ValueError("a"), ValueError("b")
    first.__context__, second.__context__ = second, first  # what a retry loop can leave behind
    schema = load_schema("incident", Path(__file__).resolve().parent.parent / "schemas")
    with pytest.raises(ValueError, match="a"):
        salvaged(first, schema.response_model, schema.list_field)
