"""The README's CI gate, run as written: replay the committed cassettes, score, compare against a
baseline run. The same cassettes pass. (That the gate fails a run worse beyond its interval:
tests/test_intervals.py, with runs made by a stub model.)"""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from tests.helpers import ROOT, run_cli


def readme_gate_commands() -> list[list[str]]:
    """The ``llmx`` commands of the workflow in the README's "CI gate" section."""
    section = (ROOT / "README.md").read_text().split("## CI gate", 1)[1].split("\n## ", 1)[0]
    workflow = yaml.safe_load(section.split("```yaml", 1)[1].split("```", 1)[0])
    steps = workflow["jobs"]["gate"]["steps"]
    return [shlex.split(step["run"])[1:] for step in steps if str(step.get("run", "")).startswith("llmx ")]


def test_the_readme_gate_passes_on_the_same_cassettes(shipped_recordings: None, project: Path) -> None:
    commands = readme_gate_commands()
    assert [c[0] for c in commands] == ["extract", "score", "compare"]
    assert commands[0] == ["extract", "seeds/", "--replay", "--out", "runs/ci"]
    assert commands[2] == ["compare", "runs/baseline", "runs/ci", "--fail-if-worse", "0.02"]
    assert run_cli("extract", "seeds/", "--replay", "--out", "runs/baseline").exit_code == 0
    for command in commands:
        result = run_cli(*command, env={"CI": "true"})
        assert result.exit_code == 0, (command, result.output)
