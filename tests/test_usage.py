"""Cached prompt tokens and reasoning tokens, from an OpenAI-style answer to the cassette, each
result line, the run's summary and the extract summary table, live and replayed alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmx.testing.provider_stubs import OpenAIStub
from tests.helpers import extract_args, run_cli

SEEDS = 5


@pytest.fixture(autouse=True)
def _live(live_requests: None) -> None:
    """These tests talk to a stub on 127.0.0.1."""


def lines(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "extractions.jsonl").read_text().splitlines()]


def table_row(output: str, label: str) -> str | None:
    return next((line for line in output.splitlines() if label in line), None)


def test_cached_and_reasoning_tokens_reach_cassette_result_and_summary(project: Path) -> None:
    with OpenAIStub(cached_tokens=64, reasoning_tokens=300) as server:
        live = run_cli(*extract_args(server.base_url, "runs/live", "--model", "gpt-5-mini"))
        replayed = run_cli(*extract_args(server.base_url, "runs/replayed", "--model", "gpt-5-mini"))
        assert len(server.requests) == SEEDS  # the second run was all replayed
    assert live.exit_code == 0 and replayed.exit_code == 0, live.output + replayed.output
    tapes = list((project / "tape").rglob("*.json"))
    assert len(tapes) == SEEDS
    for tape in tapes:
        usage = json.loads(tape.read_text())["response"]["usage"]
        assert usage["prompt_tokens_details"] == {"cached_tokens": 64}  # audio_tokens is not kept
        assert usage["completion_tokens_details"] == {"reasoning_tokens": 300}
        assert usage["completion_tokens"] == 20 + 300
    for run, output in (("live", live.output), ("replayed", replayed.output)):
        results = lines(project / "runs" / run)
        assert [r["provenance"]["attempts"] for r in results] == [1] * SEEDS
        for result in results:
            usage = result["provenance"]["usage"]
            assert (usage["cached_tokens"], usage["reasoning_tokens"], usage["completion_tokens"]) == (64, 300, 320)
        summary = json.loads((project / "runs" / run / "run.json").read_text())["summary"]["usage"]
        assert (summary["cached_tokens"], summary["reasoning_tokens"]) == (64 * SEEDS, 300 * SEEDS)
        row = table_row(output, "cached prompt / reasoning tokens")
        assert row is not None and "320 / 1,500" in row, output


def test_the_row_is_left_out_when_there_is_nothing_to_show(project: Path) -> None:
    with OpenAIStub() as server:  # gpt-4o-mini: no reasoning, and nothing cached
        result = run_cli(*extract_args(server.base_url, "runs/plain", "--model", "gpt-4o-mini"))
    assert result.exit_code == 0, result.output
    assert table_row(result.output, "tokens (prompt + completion)") is not None
    assert table_row(result.output, "cached prompt / reasoning tokens") is None
    assert all(r["provenance"]["usage"]["reasoning_tokens"] == 0 for r in lines(project / "runs" / "plain"))
