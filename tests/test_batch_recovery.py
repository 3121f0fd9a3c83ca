"""A ``--batch`` run never gets stuck: a bad line of the provider's output fails only the request
it may have answered (paid answers are kept), and a batch the provider no longer has is one
line saying how to start over, not the same traceback on every rerun."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmx.testing.batch_stub import BatchStub
from tests.helpers import run_cli

BROKEN = "001_d33b1ed68cf8519c"


@pytest.fixture(autouse=True)
def _live(live_requests: None) -> None:
    """Every test here talks to the stub on 127.0.0.1."""


def batch_args(stub: BatchStub, out: str, *extra: str) -> list[str]:
    # one request per article (single): the tests count the batches and lines
    return ["extract", "seeds/", "--strategy", "single", "--batch", "--base-url", stub.base_url, "--cassettes",
            "tape", "--out", out, "--poll", "0.01", *extra]  # fmt: skip


def statuses(run: Path) -> dict[str, str]:
    lines = map(json.loads, (run / "extractions.jsonl").read_text().splitlines())
    return {line["article_id"]: line["status"] for line in lines}


def garble(lines: list[str]) -> list[str]:
    """The broken article's answer line cut in half, and an answer for a request never sent."""
    kept = [line if BROKEN not in line else line[: len(line) // 2] + "\n" for line in lines]
    stranger = {"custom_id": "nobody/0000", "response": {"status_code": 200, "body": {}}, "error": None}
    return [*kept, "\x00\xff not json at all\n", json.dumps(stranger) + "\n"]


def test_an_unreadable_line_or_a_stranger_fails_that_line_only(project: Path) -> None:
    with BatchStub(mangle=garble) as stub:
        first = run_cli(*batch_args(stub, "runs/b"))
        assert first.exit_code == 1, first.output
        assert "Traceback" not in first.output and "batch output skipped" in first.output
        assert "answers custom_id 'nobody/0000', not sent" in first.output
        done = statuses(project / "runs/b")
        assert done.pop(BROKEN) == "failed" and set(done.values()) == {"ok"} and len(done) == 4
        assert f"failed {BROKEN} (batch_failed)" in first.output
        stub.mangle = lambda lines: lines
        again = run_cli(*batch_args(stub, "runs/b"))
        assert again.exit_code == 0, again.output
        assert stub.creates == 2  # only the request that had no answer went again
    assert set(statuses(project / "runs/b").values()) == {"ok"}


def test_a_batch_the_provider_no_longer_has_says_how_to_start_over(project: Path) -> None:
    with BatchStub() as stub:
        stub.release.clear()
        assert run_cli(*batch_args(stub, "runs/g", "--no-wait")).exit_code == 0
        stub.batches.clear()  # expired and deleted at the provider
        for _ in range(2):  # the same clear line each time, never a traceback
            gone = run_cli(*batch_args(stub, "runs/g"))
            assert gone.exit_code == 2 and "Traceback" not in gone.output
            line: Any = gone.output.strip().splitlines()[-1]
            assert "HTTP 404" in line and "remove runs/g/batch.json and run the same command again" in line, gone.output
        (project / "runs/g/batch.json").unlink()
        stub.release.set()
        fresh = run_cli(*batch_args(stub, "runs/g"))
        assert fresh.exit_code == 0, fresh.output
        assert stub.creates == 2
    assert set(statuses(project / "runs/g").values()) == {"ok"}
