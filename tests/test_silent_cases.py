"""Nothing silently wrong: settings that would make the recorded request a lie, options that
contradict each other, a timeout quietly raised, a stale pid, an empty score that passes a gate,
gold that validates but means something else, a missing aliases file, a cap that cannot count."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import llmx
from llmx.app.run.endpoint import resolve_endpoint
from llmx.errors import ConfigError
from llmx.inputs.config import load_settings
from llmx.model import local_server as local
from llmx.model.endpoint import LOCAL_TIMEOUT
from llmx.testing.fake_model import Reply, schema_answer
from llmx.testing.stub_server import StubServer
from tests.helpers import extract_args, run_cli

SEED = "seeds/000_e376b6ba81a78c64.txt"


def configure(project: Path, *lines: str) -> None:
    """Add settings to the project's [tool.llmx]."""
    config = project / "pyproject.toml"
    config.write_text(config.read_text().replace("[tool.llmx]\n", "[tool.llmx]\n" + "\n".join(lines) + "\n", 1))


def error_line(output: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in output, output
    return errors[0]


@pytest.mark.parametrize("key", ["temperature", "model", "max_tokens", "response_format", "messages", "seed"])
def test_extra_body_may_not_set_a_keyed_field(project: Path, key: str) -> None:
    configure(project, f'extra_body = {{ {key} = "x", cache_prompt = true }}')
    result = run_cli("extract", SEED)
    line = error_line(result.output)
    assert result.exit_code == 2 and "extra_body" in line and f"may not set '{key}'" in line
    with pytest.raises(ConfigError, match=f"may not set '{key}'"):
        llmx.load_project(".", extra_body={key: 1})


@pytest.mark.parametrize("flags", [("--replay", "--record"), ("--record", "--auto"), ("--auto", "--replay")])
def test_contradicting_cassette_policies_are_refused(project: Path, flags: tuple[str, str]) -> None:
    result = run_cli("extract", SEED, *flags, "--base-url", "http://127.0.0.1:9/v1")
    assert result.exit_code == 2 and "contradict each other" in error_line(result.output)


def test_local_honours_a_timeout_it_is_given(
    project: Path, live_requests: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(project, "max_attempts = 1")
    with StubServer(script=lambda body, n: Reply(content="{}", delay=2.0)) as server:
        state = local.ServerState(
            pid=1, port=server.port, base_url=server.base_url, model="m", model_sha256="x", started_at=0.0
        )
        monkeypatch.setattr(local, "up", lambda progress, **kwargs: state)
        result = run_cli("extract", SEED, "--local", "--timeout", "0.5", "--cassettes", "tape", "--out", "runs/t")
    assert result.exit_code == 1 and "within the timeout, 1 tries (0.5 s each)" in result.output
    assert resolve_endpoint(load_settings(), None, True, None).timeout == LOCAL_TIMEOUT  # the default stays long


def test_local_down_leaves_a_process_that_is_not_llama_server_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMX_HOME", str(tmp_path / "home"))
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "home" / "local").mkdir(parents=True)
        stale = local.ServerState(
            pid=bystander.pid, port=1, base_url="http://127.0.0.1:1/v1", model="m", model_sha256="x", started_at=0.0
        )
        (tmp_path / "home" / "local" / "server.json").write_text(stale.model_dump_json())
        assert "not running" in run_cli("local", "status").output
        result = run_cli("local", "down")
        assert result.exit_code == 0 and f"pid {bystander.pid}, which is not llama-server now" in result.output
        assert bystander.poll() is None  # not signalled
    finally:
        bystander.kill()
        bystander.wait()


def test_a_score_with_nothing_counted_is_na_in_text_and_json_and_fails_the_gate(
    project: Path, live_requests: None
) -> None:
    (project / "bg.txt").write_text("Officials recalled that a drone hit Kyiv in 2019.")
    gold = {"version": 1, "article_id": "bg", "schema": "incident",
            "incidents": [{"optional": True, "location": "Kyiv", "weapon": "drone"}]}  # fmt: skip
    (project / "gold" / "bg.json").write_text(json.dumps(gold))
    with StubServer(script=lambda body, n: schema_answer(body, records=0)) as server:
        assert run_cli(*extract_args(server.base_url, "runs/bg", inputs="bg.txt")).exit_code == 0
    text = run_cli("score", "runs/bg")
    assert text.exit_code == 0 and "F1 n/a" in text.output and "1.00" not in text.output
    as_json = json.loads(run_cli("score", "runs/bg", "--json").output)
    assert as_json["incidents"]["f1"] is None
    gated = run_cli("score", "runs/bg", "--min-f1", "0.1")
    assert gated.exit_code == 4 and "n/a" in error_line(gated.output)


@pytest.mark.parametrize(
    ("incidents", "needle"),
    [
        ([{"location": "Kyiv", "weapon": "drone"}] * 2, "incidents 1 and 2 are the same incident"),
        ([{"location": "Kyiv", "optional": "false"}], "incident 1, field 'optional': must be true or false"),
        ([{"location": "Kyiv", "date": "12 March 2024"}], "incident 1, field 'date': '12 March 2024' is not an ISO"),
        ([{"location": "Kyiv", "date": "2024-02-30"}], "'2024-02-30' is not an ISO date"),
    ],
)
def test_gold_check_catches_what_would_score_wrong(project: Path, incidents: list[dict[str, Any]], needle: str) -> None:
    gold = {"version": 1, "article_id": "x1", "schema": "incident", "incidents": incidents}
    (project / "gold" / "x1.json").write_text(json.dumps(gold))
    result = run_cli("gold", "check")
    line = error_line(result.output)
    assert result.exit_code == 2 and "gold/x1.json" in line and needle in line


def test_a_configured_aliases_file_that_does_not_exist_is_an_error(project: Path, shipped_recordings: None) -> None:
    configure(project, 'aliases = "schemas/nope.yaml"')
    result = run_cli("extract", SEED)
    line = error_line(result.output)
    assert result.exit_code == 2 and "'aliases'" in line and "nope.yaml: no such file" in line
    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text().replace("aliases = ", "# "))
    (project / "schemas" / "aliases.yaml").unlink()  # not configured: none is fine
    assert run_cli("extract", SEED, "--out", "runs/a").exit_code == 0


def test_max_cost_against_a_server_that_sends_no_usage_stops_at_the_first_answer(
    project: Path, live_requests: None
) -> None:
    def no_usage(body: dict[str, Any], number: int) -> Reply:
        reply = schema_answer(body)
        reply.extra = {"usage": None}
        return reply

    with StubServer(script=no_usage) as server:
        args = extract_args(server.base_url, "runs/c", "--max-cost", "1", "--model", "gpt-4o-mini")
        result = run_cli(*args, "--concurrency", "2")
        asked = len(server.requests)
    assert asked <= 2  # those in flight when the first answer came; none after it
    line = error_line(result.output)
    assert result.exit_code == 2 and "without token usage, so --max-cost cannot be kept" in line
    assert len(list((project / "tape").rglob("*.json"))) == asked  # every answer paid for is kept
    replay = run_cli(*extract_args(server.base_url, "runs/c2", "--replay", "--model", "gpt-4o-mini"))
    assert replay.exit_code == 3  # those never asked are misses; those answered replay
    lines = [json.loads(x) for x in (project / "runs/c2/extractions.jsonl").read_text().splitlines()]
    assert sum(line["status"] == "ok" for line in lines) == asked
