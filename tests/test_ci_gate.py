"""The README's CI gate, run as written: replay the committed cassettes, score, compare against a
baseline run. The same cassettes pass; a run where one article lost its incidents fails with 4."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import yaml

from llmx.cassettes.folder import CassetteStore
from llmx.cassettes.store import canonical_json
from llmx.testing.fake_model import Reply, Script
from llmx.testing.stub_server import StubServer
from tests.helpers import ROOT, run_cli


def readme_gate_commands() -> list[list[str]]:
    """The ``llmx`` commands of the workflow in the README's "CI gate" section."""
    section = (ROOT / "README.md").read_text().split("## CI gate", 1)[1].split("\n## ", 1)[0]
    workflow = yaml.safe_load(section.split("```yaml", 1)[1].split("```", 1)[0])
    steps = workflow["jobs"]["gate"]["steps"]
    return [shlex.split(step["run"])[1:] for step in steps if str(step.get("run", "")).startswith("llmx ")]


def recorded_answers(drop_for: str | None = None) -> Script:
    """A model that answers every request with what the shipped cassettes hold for it (so a run
    recorded against it is the baseline again), except that ``drop_for`` reports no incident."""
    store = CassetteStore(ROOT / "cassettes")
    seeds = sorted(path.stem for path in (ROOT / "seeds").glob("*.txt"))

    def script(body: dict[str, Any], number: int) -> Reply:
        _, key = canonical_json(body, "json_schema")
        # which seed asked: the one whose shipped cassettes hold this request (the evidence
        # strategy's prompts do not name the article)
        found = [(seed, answer) for seed in seeds if (answer := store.load_answer(seed, key)) is not None]
        assert found, "no shipped cassette for this request"
        seed, answer = found[0]
        if seed == drop_for:  # the marking pass finds no attack: the article reports no incident
            return Reply(content=json.dumps({"attacks": []}))
        return Reply(content=answer.response["choices"][0]["message"]["content"])

    return script


def record(server: StubServer, out: str, tape: str) -> list[str]:
    """Record every request into its own cassette folder (a shared one would replay the other run)."""
    return ["extract", "seeds/", "--base-url", server.base_url, "--record", "--cassettes", tape, "--out", out]


def test_the_readme_gate_passes_on_the_same_cassettes(shipped_recordings: None, project: Path) -> None:
    commands = readme_gate_commands()
    assert [c[0] for c in commands] == ["extract", "score", "compare"]
    assert commands[0] == ["extract", "seeds/", "--replay", "--out", "runs/ci"]
    assert commands[2] == ["compare", "runs/baseline", "runs/ci", "--fail-if-worse", "0.02"]
    assert run_cli("extract", "seeds/", "--replay", "--out", "runs/baseline").exit_code == 0
    for command in commands:
        result = run_cli(*command, env={"CI": "true"})
        assert result.exit_code == 0, (command, result.output)


def test_the_gate_fails_when_one_article_gets_worse(
    shipped_recordings: None, project: Path, live_requests: None
) -> None:
    assert run_cli("extract", "seeds/", "--replay", "--out", "runs/baseline").exit_code == 0
    scored = json.loads(run_cli("score", "runs/baseline", "--json").output)
    # the article with the most correctly found incidents: losing them must cost recall
    worst_hit = max(sorted(scored["articles"]), key=lambda a: scored["articles"][a]["incidents"]["tp"])
    assert scored["articles"][worst_hit]["incidents"]["tp"] > 0
    with StubServer(script=recorded_answers()) as server:
        assert run_cli(*record(server, "runs/same", "tape-same")).exit_code == 0
    with StubServer(script=recorded_answers(drop_for=worst_hit)) as server:
        assert run_cli(*record(server, "runs/degraded", "tape-degraded")).exit_code == 0
    # the stand-in model is faithful: re-recorded, the run scores as the baseline...
    same = run_cli("compare", "runs/baseline", "runs/same", "--fail-if-worse", "0.02")
    assert same.exit_code == 0, same.output
    # ...so the one article without its incidents is what the gate catches
    worse = run_cli("compare", "runs/baseline", "runs/degraded", "--fail-if-worse", "0.02")
    assert worse.exit_code == 4, worse.output
    error = next(line for line in worse.output.splitlines() if line.startswith("error:"))
    assert "degraded is worse than baseline by more than 0.02" in error and "incident F1" in error, error
