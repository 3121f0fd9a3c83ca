"""The prompt you edit is the prompt that runs: a run records every file its strategy read
(``recipe.prompt_files``, shown in the extract summary), ``llmx prompts`` lists them per
strategy, and an edit to a template the run did not read is named, once."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

import llmx
from llmx.inputs.articles import Article, load_articles
from llmx.inputs.gold import read_gold_folder
from llmx.inputs.prompts import load_prompt
from llmx.inputs.schemas import load_schema
from llmx.testing.gold_oracle import gold_answers
from llmx.testing.stub_server import StubServer
from tests.helpers import run_cli


def sha(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def extract(server: StubServer, out: str, *extra: str) -> str:
    result = run_cli(
        "extract", "seeds/", "--base-url", server.base_url, "--cassettes", f"tape-{out}", "--out", out, *extra
    )
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def oracle(project: Path, live_requests: None) -> StubServer:
    """A stub model that answers each seed with its gold records (a test double, not a model)."""
    gold = read_gold_folder(Path("gold"), load_schema("incident", Path("schemas"))).gold
    with StubServer(script=gold_answers(load_articles(["seeds/"]), gold)) as server:
        yield server


def test_a_run_records_and_shows_every_file_its_strategy_read(oracle: StubServer) -> None:
    output = extract(oracle, "runs/r1")
    recipe = json.loads(Path("runs/r1/run.json").read_text())["recipe"]
    assert recipe["strategy"] == "single"
    assert recipe["prompt_files"] == {
        "prompts/incident.jinja": sha("prompts/incident.jinja"),
        "schemas/incident.py": sha("schemas/incident.py"),
    }
    assert "files read" in output and "prompts/incident.jinja" in output and sha("prompts/incident.jinja")[:8] in output


def test_two_pass_records_its_recall_template_too(oracle: StubServer) -> None:
    extract(oracle, "runs/r2", "--strategy", "two_pass")
    files = json.loads(Path("runs/r2/run.json").read_text())["recipe"]["prompt_files"]
    assert list(files) == ["prompts/incident.jinja", "prompts/incident_recall.jinja", "schemas/incident.py"]


def test_the_python_api_says_which_files_a_run_read(project: Path, oracle: StubServer) -> None:
    run = llmx.extract(["seeds/"], project=llmx.load_project(project), base_url=oracle.base_url, in_memory=True)
    assert run.exit_code == 0
    assert run.prompt_files == {
        "prompts/incident.jinja": sha("prompts/incident.jinja"),
        "schemas/incident.py": sha("schemas/incident.py"),
    }


def test_a_template_may_extend_another_and_both_are_hashed(project: Path) -> None:
    (project / "prompts" / "child.jinja").write_text(
        '{% extends "incident.jinja" %}{% block user %}{{ super() }}\nAnswer in JSON.{% endblock %}'
    )
    child, parent = load_prompt("child", project / "prompts"), load_prompt("incident", project / "prompts")
    assert list(child.files) == ["prompts/child.jinja", "prompts/incident.jinja"]
    article = Article(id="a1", text="A drone struck the base.", source="a1")
    schema = load_schema("incident", project / "schemas")
    system, user = child.render(article, schema)
    expected_system, expected_user = parent.render(article, schema)
    assert system == expected_system  # the block it does not override comes from the parent
    assert user["content"].startswith(expected_user["content"]) and user["content"].endswith("\nAnswer in JSON.")
    before = child.sha256
    with (project / "prompts" / "incident.jinja").open("a") as handle:
        handle.write("{# an edit of the parent #}\n")
    assert load_prompt("child", project / "prompts").sha256 != before  # the recipe changes with the parent


def test_llmx_prompts_lists_which_strategy_reads_which_file(project: Path) -> None:
    listed = json.loads(run_cli("prompts", "--json").output)
    strategies = listed["strategies"]
    assert set(strategies) == {"single", "two_pass", "evidence"} and listed["default"] == "single"
    assert strategies["single"] == {
        "prompts/incident.jinja": sha("prompts/incident.jinja"),
        "schemas/incident.py": sha("schemas/incident.py"),
    }
    assert "prompts/incident_recall.jinja" in strategies["two_pass"]
    assert all("schemas/incident.py" in files for files in strategies.values())
    read = {path for files in strategies.values() for path in files}
    assert "prompts/muc4.jinja" in listed["read_by_none"] and not read & set(listed["read_by_none"])
    table = run_cli("prompts").output
    assert "single (default)" in table and "prompts/incident.jinja" in table and "read by no strategy" in table


def test_llmx_prompts_names_what_a_strategy_lacks(project: Path) -> None:
    listed = json.loads(run_cli("prompts", "--json", "--prompt", "muc4").output)
    assert "error" in listed["strategies"]["two_pass"] and "muc4_recall" in listed["strategies"]["two_pass"]["error"]


def _edit_after(path: Path, run: str) -> None:
    """Edit ``path`` after ``run`` began: the run is dated a minute back, the edit half a minute
    (so the next run, begun now, is after the edit whatever the clock's grain)."""
    manifest = Path(run, "run.json")
    data = json.loads(manifest.read_text())
    began = datetime.fromisoformat(data["started_at"]).timestamp() - 60
    data["started_at"] = datetime.fromtimestamp(began, UTC).isoformat(timespec="seconds")
    manifest.write_text(json.dumps(data))
    path.write_text(path.read_text() + "{# edited #}\n")
    os.utime(path, (began + 30, began + 30))


def test_an_edit_the_run_did_not_read_is_named_once(oracle: StubServer) -> None:
    extract(oracle, "runs/r1")
    _edit_after(Path("prompts/incident_recall.jinja"), "runs/r1")
    output = extract(oracle, "runs/r2")
    note = next(line for line in output.splitlines() if line.startswith("note:"))
    assert note == (
        "note: prompts/incident_recall.jinja changed since the last run (runs/r1) but is not read by --strategy "
        "single; it reads prompts/incident.jinja, schemas/incident.py (`llmx prompts` lists which strategy reads "
        "which file)"
    )
    assert "note:" not in extract(oracle, "runs/r3")  # said once: r2 began after the edit


def test_an_edit_the_run_read_is_not_a_note(oracle: StubServer) -> None:
    extract(oracle, "runs/r1")
    _edit_after(Path("prompts/incident.jinja"), "runs/r1")
    assert "note:" not in extract(oracle, "runs/r2")


def test_a_first_run_has_nothing_to_compare_with(oracle: StubServer) -> None:
    os.utime("prompts/incident_recall.jinja")  # touched now, but there is no earlier run
    assert "note:" not in extract(oracle, "runs/r1")
