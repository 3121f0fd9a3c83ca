"""Texts that cannot be sent, and cassettes that hold no answer, are one clear line naming the
article (issue 33): a lone surrogate in JSONL text (or given to the API), an empty cassette
response; never a codec error blamed on the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import llmx
from llmx.errors import ArticleError
from llmx.model import live
from llmx.runs.folder import read_results
from llmx.testing.stub_server import StubServer
from tests.helpers import run_cli


def test_a_lone_surrogate_in_jsonl_text_is_one_line_naming_line_column_and_article(project: Path) -> None:
    (project / "sur.jsonl").write_text(
        '{"id": "ok", "text": "Rockets hit."}\n{"id": "s1", "text": "A drone \\ud800 hit."}\n'
    )
    result = run_cli("extract", "sur.jsonl", "--out", "runs/s")
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line and "codec" not in line, line
    assert "sur.jsonl:2, column 'text': article 's1': a lone surrogate at character 8 (\\ud800)" in line, line


def test_a_lone_surrogate_given_to_the_api_is_an_article_error(project: Path) -> None:
    with pytest.raises(ArticleError, match=r"article a1: a lone surrogate at character 2 \(\\udc00\)"):
        llmx.extract([("a1", "x \udc00 y")], project=llmx.load_project(project), in_memory=True)


def test_an_empty_cassette_response_names_the_article_and_the_cassette(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "ALLOW_MODEL_REQUESTS", True)
    with StubServer() as server:
        args = ("extract", "seeds/", "--base-url", server.base_url, "--auto", "--cassettes", "tape")
        assert run_cli(*args, "--out", "runs/r").exit_code == 0
    [cassette] = sorted((project / "tape").glob("*/*.json"))[:1]
    data = json.loads(cassette.read_text())
    data["response"] = {}
    cassette.write_text(json.dumps(data))
    result = run_cli("extract", "seeds/", "--cassettes", "tape", "--out", "runs/e")
    assert result.exit_code != 0 and "Traceback" not in result.output
    failed = [r for r in read_results(project / "runs/e") if r.status == "failed"]
    assert [r.article_id for r in failed] == [cassette.parent.name]
    error = failed[0].error
    assert error is not None and error.kind == "cassette_error", error
    assert str(cassette) in error.message and "an empty response" in error.message
    assert "validation errors for ChatCompletion" not in result.output
