"""``llmx extract --batch`` against a Batch API stub on 127.0.0.1: end to end, a follow-up
batch for re-asks, lines that fail, --no-wait, and a kill -9 while a batch is in flight that
resumes without a second submission. Afterwards the cassettes replay offline."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from llmx.batch.ledger import BatchStore, split_lines
from llmx.testing.batch_stub import BatchStub
from llmx.testing.fake_model import Reply, schema_answer
from tests.helpers import ROOT, run_cli


@pytest.fixture(autouse=True)
def _live(live_requests: None) -> None:
    """Every test here talks to the stub on 127.0.0.1."""


def batch_args(stub: BatchStub, out: str, *extra: str, strategy: str = "single") -> list[str]:
    """One request an article (``single``), so each round's batch is easy to count; the evidence
    strategy's two rounds are tested on their own."""
    return ["extract", "seeds/", "--batch", "--base-url", stub.base_url, "--cassettes", "tape", "--out", out,
            "--poll", "0.01", "--strategy", strategy, *extra]  # fmt: skip


def lines(run: Path) -> dict[str, dict[str, Any]]:
    return {r["article_id"]: r for r in map(json.loads, (run / "extractions.jsonl").read_text().splitlines())}


def test_batch_end_to_end_then_the_cassettes_replay_offline(project: Path) -> None:
    with BatchStub() as stub:
        result = run_cli(*batch_args(stub, "runs/b", "--model", "gpt-4o-mini"))
    assert result.exit_code == 0, result.output
    assert stub.creates == 1 and "llmx extract (batch)" in result.output
    results = lines(project / "runs/b")
    assert len(results) == 5 and all(r["status"] == "ok" and r["incidents"] for r in results.values())
    submitted = [json.loads(x) for x in (project / "runs/b/batch/round-1-part-1.jsonl").read_text().splitlines()]
    assert {x["url"] for x in submitted} == {"/v1/chat/completions"} and len(submitted) == 5
    for line in submitted:  # custom_id names the article and the cassette key
        article_id, key = line["custom_id"].rsplit("/", 1)
        cassette = json.loads((project / "tape" / article_id / f"{key[:20]}.json").read_text())
        assert cassette["key"] == key and cassette["served_by"]["batch_id"] == "batch-2"
        assert results[article_id]["provenance"]["cassette_keys"] == [key]
    summary = json.loads((project / "runs/b/run.json").read_text())["summary"]
    assert 0 < summary["spent_usd"] == summary["cost_usd"]  # every answer paid by this run, at the batch price
    replay = run_cli(
        "extract", "seeds/", "--replay", "--cassettes", "tape", "--out", "runs/r", "--model=gpt-4o-mini",
        "--strategy", "single",
    )  # fmt: skip
    assert replay.exit_code == 0, replay.output
    assert all(r["provenance"]["live_calls"] == 0 for r in lines(project / "runs/r").values())


def test_the_evidence_strategy_takes_one_batch_round(project: Path) -> None:
    with BatchStub() as stub:
        result = run_cli(*batch_args(stub, "runs/b", "--model", "gpt-4o-mini", strategy="evidence"))
    assert result.exit_code == 0, result.output
    assert stub.creates == 1  # one request per chunk, every article's in one round
    first = (project / "runs/b/batch/round-1-part-1.jsonl").read_text()
    assert len(first.splitlines()) == 5 and '"sentences"' in first  # the records name their sentences
    results = lines(project / "runs/b")
    assert len(results) == 5 and all(r["status"] == "ok" and r["incidents"] for r in results.values())
    replay = run_cli(
        "extract", "seeds/", "--replay", "--cassettes", "tape", "--out", "runs/r", "--model=gpt-4o-mini",
        "--strategy", "evidence",
    )  # fmt: skip
    assert replay.exit_code == 0, replay.output


def test_a_reask_goes_into_a_follow_up_batch(project: Path) -> None:
    def script(body: dict[str, Any], number: int) -> Reply:
        first_try = len(body["messages"]) == 2
        if first_try and "000_e376b6ba81a78c64" in json.dumps(body["messages"]):
            return schema_answer(body, evidence="A sentence the article never had.")
        return schema_answer(body)

    with BatchStub(script=script) as stub:
        result = run_cli(*batch_args(stub, "runs/b"))
    assert result.exit_code == 0, result.output
    assert stub.creates == 2
    assert len((project / "runs/b/batch/round-2-part-1.jsonl").read_text().splitlines()) == 1
    reasked = lines(project / "runs/b")["000_e376b6ba81a78c64"]
    assert reasked["status"] == "ok" and reasked["provenance"]["grounding_reasks"] == 1
    assert reasked["provenance"]["replayed_calls"] == 2


def test_failed_lines_fail_their_articles_and_a_later_batch_asks_again(project: Path) -> None:
    def script(body: dict[str, Any], number: int) -> Reply:
        if "001_d33b1ed68cf8519c" in json.dumps(body["messages"]):
            return Reply(fault="status", status=500, error_message="upstream overloaded")
        return schema_answer(body)

    with BatchStub(script=script) as stub:
        result = run_cli(*batch_args(stub, "runs/b"))
        assert result.exit_code == 1, result.output
        assert "failed 001_d33b1ed68cf8519c (batch_failed)" in result.output and "upstream overloaded" in result.output
        results = lines(project / "runs/b")
        assert [a for a, r in results.items() if r["status"] == "failed"] == ["001_d33b1ed68cf8519c"]
        assert not (project / "tape" / "001_d33b1ed68cf8519c").exists()  # failures are never cached
        stub.script = lambda body, number: schema_answer(body)
        again = run_cli(*batch_args(stub, "runs/b"))
        assert again.exit_code == 0, again.output
        assert stub.creates == 2  # only the failed article's request, in a new batch
        assert len((project / "runs/b/batch/round-2-part-1.jsonl").read_text().splitlines()) == 1
    assert all(r["status"] == "ok" for r in lines(project / "runs/b").values())


def test_no_wait_submits_and_a_second_run_collects(project: Path) -> None:
    with BatchStub() as stub:
        stub.release.clear()
        first = run_cli(*batch_args(stub, "runs/b", "--no-wait"))
        assert first.exit_code == 0, first.output
        assert "submitted batch-2" in first.output and "--batch --out runs/b" in first.output
        assert json.loads((project / "runs/b/run.json").read_text())["status"] == "batch_pending"
        still = run_cli(*batch_args(stub, "runs/b", "--no-wait"))
        assert still.exit_code == 0 and "still running" in still.output
        stub.release.set()
        done = run_cli(*batch_args(stub, "runs/b"))
        assert done.exit_code == 0, done.output
        assert stub.creates == 1
    assert json.loads((project / "runs/b/run.json").read_text())["status"] == "complete"


def test_kill_9_while_a_batch_is_in_flight_resumes_without_a_second_submission(project: Path) -> None:
    with BatchStub() as stub:
        stub.release.clear()  # the batch stays in progress
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "llmx", *batch_args(stub, "runs/k")]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        ledger = project / "runs/k/batch.json"
        while not (ledger.is_file() and '"submitted"' in ledger.read_text()):
            assert process.poll() is None and time.monotonic() < deadline, "the batch was never submitted"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert stub.creates == 1
        # The worst moment: killed after the provider made the batch, before its id was written.
        store = BatchStore(project / "runs/k")
        store.ledger.records[0].state, store.ledger.records[0].batch_id = "creating", None
        store.save()
        stub.release.set()
        resumed = run_cli(*batch_args(stub, "runs/k"))
        assert resumed.exit_code == 0, resumed.output
        assert stub.creates == 1  # found the batch made from that file instead of submitting again
    assert len(lines(project / "runs/k")) == 5


def test_request_files_are_split_at_the_api_limits() -> None:
    rows = [b"x" * 10 + b"\n"] * 7
    assert [len(c) for c in split_lines(rows, max_requests=3, max_bytes=10_000)] == [3, 3, 1]
    assert [len(c) for c in split_lines(rows, max_requests=100, max_bytes=25)] == [2, 2, 2, 1]
    with pytest.raises(Exception, match="over the 5-byte file limit"):
        split_lines(rows, max_requests=3, max_bytes=5)
