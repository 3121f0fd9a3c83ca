"""The Python API (``import llmx``): what the README's example does, and what it promises:
results come back as objects, errors raise llmx.errors, nothing is printed."""

from __future__ import annotations

import json
import pydoc
from pathlib import Path

import pytest

import llmx
from llmx.errors import CassetteMiss, PromptError
from llmx.model import live
from llmx.testing.stub_server import StubServer
from tests.helpers import run_cli


def test_help_shows_the_api() -> None:
    text = pydoc.render_doc(llmx, renderer=pydoc.plaintext)
    for name in ("load_project", "extract", "score", "compare", "view", "Run", "Project"):
        assert name in text
    assert set(llmx.__all__) <= set(dir(llmx))


@pytest.mark.usefixtures("shipped_recordings")
def test_extract_score_view_from_python_equal_the_cli(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proj = llmx.load_project(project)
    run = llmx.extract(["seeds/"], project=proj, out=project / "runs" / "api")
    assert run.exit_code == 0 and run.path == project / "runs" / "api" and not run.failed
    assert len(run.results) == 5 and run.summary.incidents == len(list(run.incidents()))
    scored = llmx.score(run.path, project=proj)
    assert run_cli("extract", "seeds/", "--out", "runs/cli").exit_code == 0
    cli = json.loads(run_cli("score", "runs/cli", "--json").output)
    assert scored.score.incidents.f1 == pytest.approx(cli["incidents"]["f1"], abs=1e-4)  # --json rounds to 4
    comparison = llmx.compare(run.path, project / "runs" / "cli", project=proj)
    assert comparison.regressions(0.0) == []
    page = llmx.view(run.path, project=proj)
    assert page == run.path / "view.html" and page.stat().st_size > 1000
    assert capsys.readouterr() == ("", "")  # library code never prints


def test_articles_in_memory_leave_no_run_folder(project: Path, tmp_path: Path) -> None:
    proj = llmx.load_project(project, cassettes=tmp_path / "tape")
    items = [("m1", "A drone struck the base on Monday. Nobody was hurt.", "2024-01-03"), ("m2", "Rockets hit.")]
    with live.override_allow_model_requests(True), StubServer() as server:
        run = llmx.extract(items, project=proj, in_memory=True, base_url=server.base_url)
    assert run.path is None and run.exit_code == 0
    assert [r.article_id for r in run.results] == ["m1", "m2"] and all(r.status == "ok" for r in run.results)
    assert not (project / "runs").exists()  # nothing written but the cassettes
    # one request an article under the default `single` strategy, each recorded once
    assert len(list((tmp_path / "tape").rglob("*.json"))) == len(server.requests) == 2
    again = llmx.extract(items, project=proj, in_memory=True)  # no model now: replayed
    assert again.exit_code == 0 and again.summary.replayed_calls == 2


def test_errors_raise_and_a_miss_is_a_failed_result(project: Path) -> None:
    with pytest.raises(PromptError, match="unknown prompt 'nope'"):
        llmx.extract(["seeds/"], project=llmx.load_project(project, prompt="nope"))
    run = llmx.extract([("new", "A strike hit a port.")], project=llmx.load_project(project), in_memory=True)
    assert run.exit_code == CassetteMiss.exit_code
    assert run.failed[0].error is not None and run.failed[0].error.kind == "cassette_miss"


def test_model_requests_are_switched_off_by_default_in_tests(project: Path, tmp_path: Path) -> None:
    proj = llmx.load_project(project, cassettes=tmp_path / "tape")
    with StubServer() as server:
        run = llmx.extract([("b1", "A drone hit a base.")], project=proj, in_memory=True, base_url=server.base_url)
    assert server.requests == [] and run.failed[0].error is not None and run.failed[0].error.kind == "blocked"


@pytest.mark.usefixtures("shipped_recordings")
def test_the_readme_python_example_runs_as_written(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## From Python", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "incidents, 0 failed" in printed and "incident F1" in printed and "view.html" in printed
