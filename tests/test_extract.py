"""Extraction against the in-process fake model (a MockTransport, no socket). The answers are
built from the schema in each request, so nothing here names a field of the incident schema."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from llmx.cassettes.store import CassettePolicy
from llmx.extraction.extractor import Extractor
from llmx.inputs.articles import Article
from llmx.model.server import make_client
from llmx.runs.results import ArticleResult
from llmx.testing.fake_model import Reply, Script, always, schema_answers
from tests.helpers import make_extractor

ARTICLE = Article(id="a1", text="A drone hit the Ain al-Asad airbase on Monday. Nobody was hurt.")


def answers(*per_request: dict[str, Any]) -> Script:
    return schema_answers(*per_request, usage=(50, 10))


GROUNDED: dict[str, Any] = {}  # the fake quotes the article's first sentence by default


def extractor(
    tmp_path: Path, script: Script | None, mode: CassettePolicy = "auto", seen: list[dict[str, Any]] | None = None
) -> Extractor:
    from llmx.testing.fake_model import mock_transport

    client = make_client("sk-test", "http://fake/v1", 5, mock_transport(script, seen)) if script else None
    return make_extractor(tmp_path / "cassettes", client, mode, "fake-model", {"temperature": 0.0, "max_tokens": 500})


def run(ex: Extractor, article: Article = ARTICLE) -> ArticleResult:
    return asyncio.run(ex.extract(article))


@pytest.fixture(autouse=True)
def _live(live_requests: None) -> None:
    """These tests talk to an in-process fake; nothing leaves the process."""


def test_grounded_record_is_extracted_with_offsets_usage_and_a_cassette(tmp_path: Path) -> None:
    result = run(extractor(tmp_path, answers()))
    assert result.status == "ok" and len(result.incidents) == 1
    item = result.incidents[0]
    assert item.record["evidence"] == "A drone hit the Ain al-Asad airbase on Monday."
    assert item.grounding is not None and item.grounding.status == "exact"
    assert (item.grounding.start, item.grounding.end) == (0, len(item.record["evidence"]))
    p = result.provenance
    assert (p.attempts, p.live_calls, p.usage.prompt_tokens, p.usage.completion_tokens) == (1, 1, 50, 10)
    assert len(list((tmp_path / "cassettes" / "a1").glob("*.json"))) == 1


def test_ungrounded_evidence_is_reasked_and_usage_covers_every_attempt(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    script = answers({"evidence": "Made-up sentence that is nowhere."}, GROUNDED)
    result = run(extractor(tmp_path, script, seen=seen))
    assert result.status == "ok" and result.incidents[0].grounding.status == "exact"  # type: ignore[union-attr]
    assert result.provenance.grounding_reasks == 1 and result.provenance.attempts == 2
    assert result.provenance.usage.prompt_tokens == 100
    assert "not a sentence of the article" in seen[1]["messages"][-1]["content"]


def test_the_reask_names_the_schema_not_an_internal_class(tmp_path: Path) -> None:
    """Re-asks are recorded requests: a class name of llmx's own in them would change cassette keys."""
    seen: list[dict[str, Any]] = []
    run(extractor(tmp_path, answers({"evidence": "Nowhere."}, GROUNDED), seen=seen))
    reask = seen[1]["messages"][-1]["content"]
    assert "validation error for Extraction" in reask and "Grounded" not in reask


def test_evidence_still_ungrounded_after_reasks_is_kept_and_flagged(tmp_path: Path) -> None:
    result = run(extractor(tmp_path, answers({"evidence": "Invented."})))
    assert result.status == "ok" and result.ungrounded == 1
    assert result.provenance.attempts == 3 and result.provenance.grounding_reasks == 2


def test_invalid_output_is_reasked_then_failed_naming_the_first_error(tmp_path: Path) -> None:
    bad = Reply(content=json.dumps({"incidents": [{"catapult": True}]}))
    result = run(extractor(tmp_path, always(lambda body: bad)))
    assert result.status == "failed" and result.error is not None
    assert result.error.kind == "invalid_output" and "catapult" in (result.error.last_output or "")
    assert result.error.message.startswith("output still invalid after 3 attempts: incidents.0.")
    assert "Field required" in result.error.message and "failed_attempts" not in result.error.message
    assert result.provenance.attempts == 3


def test_replay_reproduces_the_recorded_run_without_a_client(tmp_path: Path) -> None:
    recorded = run(extractor(tmp_path, answers({"evidence": "Invented."}, GROUNDED)))
    replayed = run(extractor(tmp_path, None, mode="replay"))
    assert replayed.incidents == recorded.incidents and replayed.provenance.replayed_calls == 2
    assert replayed.provenance.live_calls == 0
    assert replayed.provenance.usage == recorded.provenance.usage


def test_replay_miss_is_a_failure_naming_the_change_and_the_folder(tmp_path: Path) -> None:
    run(extractor(tmp_path, answers()))
    changed = ARTICLE.model_copy(update={"text": ARTICLE.text + " Later, more."})
    result = run(extractor(tmp_path, None, mode="replay"), changed)
    assert result.status == "failed" and result.error is not None and result.error.kind == "cassette_miss"
    assert "user prompt text at char" in result.error.message and "Later, more." in result.error.message
    assert str(tmp_path / "cassettes" / "a1") in result.error.message


def test_a_recorded_answer_that_fails_validation_names_its_cassette(tmp_path: Path) -> None:
    run(extractor(tmp_path, answers()))
    (tape,) = (tmp_path / "cassettes" / "a1").glob("*.json")
    data = json.loads(tape.read_text())
    data["response"]["choices"][0]["message"]["content"] = "not json at all"
    tape.write_text(json.dumps(data))
    result = run(extractor(tmp_path, None, mode="replay"))
    assert result.status == "failed" and result.error is not None
    assert f"replayed from {tape}" in result.error.message and "--record asks the model again" in result.error.message
