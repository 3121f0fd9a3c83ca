"""Numbers bounded where they enter, and options refused before anything starts (issue 33): a
gold count of 10**400 and a model's count of 10**20 are one line naming where, never a
traceback; ``--batch --local`` is refused before the model starts; ``--poll 0`` names --poll."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmx.model import live
from llmx.testing.fake_model import always, schema_answer
from llmx.testing.stub_server import StubServer
from tests.helpers import run_cli


def test_gold_check_refuses_a_count_of_ten_to_the_400(project: Path) -> None:
    bad = project / "gold" / "001_d33b1ed68cf8519c.json"
    data = json.loads(bad.read_text())
    data["incidents"][0]["killed"] = 10**400
    bad.write_text(json.dumps(data))
    result = run_cli("gold", "check")
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1 and "001_d33b1ed68cf8519c.json" in line and "out of range" in line, line
    assert "killed" in line and "Traceback" not in result.output


def test_a_model_count_of_ten_to_the_20_is_reasked_then_fails_one_line(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "ALLOW_MODEL_REQUESTS", True)
    with StubServer(script=always(lambda body: schema_answer(body, records=1, killed=10**20))) as server:
        args = ["extract", "seeds/", "--base-url", server.base_url, "--cassettes", "tape", "--out", "runs/big"]
        result = run_cli(*args, "--strategy", "single")
    articles = len(list((project / "seeds").iterdir()))
    assert len(server.requests) > articles  # re-asked: the model is told the number is out of range
    assert "out of range" in json.dumps(server.requests[-1]["messages"])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    lines = [json.loads(line) for line in (project / "runs" / "big" / "extractions.jsonl").read_text().splitlines()]
    assert all(line["status"] == "failed" for line in lines)
    assert all("field killed" in line["error"]["message"] for line in lines), lines[0]["error"]
    assert all(len(line["error"]["message"].splitlines()) == 1 for line in lines)


def test_batch_local_is_refused_before_the_model_starts(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import llmx.app.run.endpoint as endpoint

    started: list[object] = []  # resolve_endpoint is where --local starts llama-server: never reached
    monkeypatch.setattr(endpoint, "resolve_endpoint", lambda *a, **k: started.append(a))
    result = run_cli("extract", "seeds/", "--batch", "--local")
    assert result.exit_code == 2, result.output
    assert "--batch" in result.output and "--local" in result.output and len(result.output.strip().splitlines()) == 1
    assert started == [] and not (project / "runs").exists()


def test_poll_zero_names_poll(project: Path) -> None:
    result = run_cli("extract", "seeds/", "--batch", "--poll", "0")
    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith("error: --poll 0") or "--poll 0" in result.output, result.output
    assert "batch-poll-seconds" not in result.output and len(result.output.strip().splitlines()) == 1
