"""Extraction against a scripted fake model (an in-process MockTransport, no socket)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import make_extractor

from llmx.articles import Article
from llmx.cassettes import CassetteMode
from llmx.client import make_client
from llmx.extract import Extractor
from llmx.runs import ArticleResult
from llmx.stub_server import Reply, Script, always, mock_transport, sequence, valid_answer

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = Article(id="a1", text="A drone hit the Ain al-Asad airbase on Monday. Nobody was hurt.")


def incident(evidence: str, **fields: Any) -> dict[str, Any]:
    base = {
        "date": None,
        "date_text": "on Monday",
        "location": "Ain al-Asad airbase",
        "admin_region": None,
        "country": "Iraq",
        "attacker": None,
        "claimed_by": None,
        "target": None,
        "weapon": "drone",
        "intercepted": None,
        "killed": None,
        "injured": 0,
        "evidence": evidence,
    }
    return {**base, **fields}


def answer(*incidents: dict[str, Any]) -> Reply:
    return Reply(content=json.dumps({"incidents": list(incidents)}), usage=(50, 10))


def extractor(
    tmp_path: Path, script: Script | None, mode: CassetteMode = "auto", seen: list[dict[str, Any]] | None = None
) -> Extractor:
    client = make_client("sk-test", "http://fake/v1", 5, mock_transport(script, seen)) if script else None
    return make_extractor(tmp_path / "cassettes", client, mode, "fake-model", {"temperature": 0.0, "max_tokens": 500})


def run(ex: Extractor, article: Article = ARTICLE) -> ArticleResult:
    return asyncio.run(ex.extract(article))


@pytest.fixture(autouse=True)
def _live(live_requests: None) -> None:
    """These tests talk to an in-process fake; nothing leaves the process."""


def test_grounded_incident_is_extracted_with_offsets_usage_and_a_cassette(tmp_path: Path) -> None:
    result = run(
        extractor(tmp_path, always(lambda body: answer(incident("A drone hit the Ain al-Asad airbase on Monday."))))
    )
    assert result.status == "ok" and len(result.incidents) == 1
    item = result.incidents[0]
    assert item.record["weapon"] == "drone" and item.record["injured"] == 0
    assert item.grounding is not None and item.grounding.status == "exact" and item.grounding.start == 0
    p = result.provenance
    assert (p.attempts, p.live_calls, p.usage.prompt_tokens, p.usage.completion_tokens) == (1, 1, 50, 10)
    assert len(list((tmp_path / "cassettes" / "a1").glob("*.json"))) == 1


def test_ungrounded_evidence_is_reasked_and_usage_covers_every_attempt(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    script = sequence(answer(incident("Made-up sentence that is nowhere.")), answer(incident("Nobody was hurt.")))
    result = run(extractor(tmp_path, script, seen=seen))
    assert result.status == "ok" and result.incidents[0].grounding.status == "exact"  # type: ignore[union-attr]
    assert result.provenance.grounding_reasks == 1 and result.provenance.attempts == 2
    assert result.provenance.usage.prompt_tokens == 100
    assert "not a sentence of the article" in seen[1]["messages"][-1]["content"]


def test_evidence_still_ungrounded_after_reasks_is_kept_and_flagged(tmp_path: Path) -> None:
    result = run(extractor(tmp_path, always(lambda body: answer(incident("Invented.")))))
    assert result.status == "ok" and result.ungrounded == 1
    assert result.provenance.attempts == 3 and result.provenance.grounding_reasks == 2


def test_invalid_output_is_reasked_then_failed_with_the_last_output_kept(tmp_path: Path) -> None:
    bad = Reply(content=json.dumps({"incidents": [{"weapon": "catapult"}]}))
    result = run(extractor(tmp_path, always(lambda body: bad)))
    assert result.status == "failed" and result.error is not None
    assert result.error.kind == "invalid_output" and "catapult" in (result.error.last_output or "")
    assert result.provenance.attempts == 3


def test_replay_reproduces_the_recorded_run_without_a_client(tmp_path: Path) -> None:
    script = sequence(answer(incident("Invented.")), answer(incident("Nobody was hurt.", injured=None)))
    recorded = run(extractor(tmp_path, script))
    replayed = run(extractor(tmp_path, None, mode="replay"))
    assert replayed.incidents == recorded.incidents and replayed.provenance.replayed_calls == 2
    assert replayed.provenance.live_calls == 0
    assert replayed.provenance.usage == recorded.provenance.usage


def test_replay_miss_is_a_failure_naming_the_change(tmp_path: Path) -> None:
    run(extractor(tmp_path, always(lambda body: answer(incident("Nobody was hurt.")))))
    changed = ARTICLE.model_copy(update={"text": ARTICLE.text + " Later, more."})
    result = run(extractor(tmp_path, None, mode="replay"), changed)
    assert result.status == "failed" and result.error is not None and result.error.kind == "cassette_miss"
    assert "user prompt text at char" in result.error.message and "Later, more." in result.error.message


def test_stub_default_answer_is_schema_valid_and_grounded(tmp_path: Path) -> None:
    result = run(extractor(tmp_path, always(valid_answer)))
    assert result.status == "ok" and result.ungrounded == 0
