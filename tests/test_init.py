"""``llmx init``: a working project from an empty folder (extract, score, view, gold check), never
overwriting a file, and every command that needs a project saying to run it when there is none."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from llmx.inputs.starter import STARTERS, shared_files, starter_files
from llmx.testing.stub_server import StubServer
from tests.helpers import ROOT, run_cli


@pytest.mark.parametrize("schema", STARTERS)
def test_init_gives_a_project_that_extracts_scores_and_views(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, live_requests: None, schema: str
) -> None:
    monkeypatch.chdir(tmp_path)
    made = run_cli("init", "proj", "--schema", schema)
    assert made.exit_code == 0, made.output
    project = tmp_path / "proj"
    written = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    assert {".gitignore", "llmx.toml", "schemas/aliases.yaml"} <= set(written)
    assert len([w for w in written if w.startswith("articles/")]) == 2
    assert len([w for w in written if w.startswith("gold/")]) == 1
    assert "runs/" in (project / ".gitignore").read_text().split()
    assert "cd proj && llmx extract articles/" in made.output  # the next steps, as they run
    config = tomllib.loads((project / "llmx.toml").read_text())
    assert (project / "prompts" / f"{config['prompt']}.jinja").is_file()
    assert (project / "schemas" / f"{config['schema']}.py").is_file()
    monkeypatch.chdir(project)
    checked = run_cli("gold", "check")
    assert checked.exit_code == 0, checked.output  # the example gold is valid for its schema
    with StubServer() as server:
        extracted = run_cli("extract", "articles/", "--base-url", server.base_url, "--out", "runs/first")
    assert extracted.exit_code == 0, extracted.output
    assert len(server.requests) == 2 and (project / "cassettes").is_dir()  # the project records its own
    scored = run_cli("score", "runs/first")
    assert scored.exit_code == 0 and "incidents  P" in scored.output, scored.output
    viewed = run_cli("view", "runs/first")
    assert viewed.exit_code == 0 and (project / "runs/first/view.html").is_file(), viewed.output
    replayed = run_cli("extract", "articles/", "--replay", "--out", "runs/again")
    assert replayed.exit_code == 0, replayed.output  # and replays offline, like this repository


def test_init_never_overwrites_a_file(tmp_path: Path) -> None:
    (tmp_path / "llmx.toml").write_text('model = "mine"\n')
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "incident.jinja").write_text("my edited prompt")
    result = run_cli("init", tmp_path)
    assert result.exit_code == 0, result.output
    kept = [line for line in result.output.splitlines() if line.startswith("kept")]
    assert kept == [
        f"kept {tmp_path / 'llmx.toml'}: it exists, not overwritten",
        f"kept {tmp_path / 'prompts' / 'incident.jinja'}: it exists, not overwritten",
    ]
    assert (tmp_path / "llmx.toml").read_text() == 'model = "mine"\n'
    assert (tmp_path / "prompts" / "incident.jinja").read_text() == "my edited prompt"
    assert (tmp_path / "schemas" / "incident.py").is_file()  # the rest is written
    (tmp_path / "gold" / "hodeidah_fuel_depot.json").unlink()
    again = run_cli("init", tmp_path)
    assert [line for line in again.output.splitlines() if line.startswith("wrote")] == [
        f"wrote {tmp_path / 'gold' / 'hodeidah_fuel_depot.json'}"  # what was deleted comes back, nothing else
    ]


def test_init_beside_a_pyproject_with_tool_llmx_writes_no_shadowing_llmx_toml(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.llmx]\nmodel = "mine"\n')
    result = run_cli("init", tmp_path)
    assert result.exit_code == 0 and not (tmp_path / "llmx.toml").exists()
    assert "already holds [tool.llmx]: no llmx.toml written" in result.output


def test_init_into_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    result = run_cli("init", tmp_path / "f")
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "is a file" in result.output


@pytest.mark.parametrize(
    "args",
    [("extract", "a.txt"), ("score", "runs/x"), ("view", "runs/x"), ("compare", "runs/a", "runs/b"), ("gold", "check")],
)
def test_outside_a_project_a_command_says_to_run_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("A drone hit a depot.")
    result = run_cli(*args)
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and "not an llmx project" in result.output
    assert "run `llmx init`" in result.output


def test_the_starter_prompts_and_schemas_are_the_repository_files() -> None:
    """One source of truth: in a checkout llmx init reads them from the repository (the built
    package's copies are compared with them in tests/test_wheel.py)."""
    for name in STARTERS:
        files = starter_files(name)
        for relative in shared_files()[name]:
            assert files[relative] == (ROOT / relative).read_bytes(), relative
        manifest = (ROOT / "MANIFEST.in").read_text()
        assert all(relative in manifest for relative in shared_files()[name])  # the sdist carries them
