"""Runs are never mixed (issue 33): two runs started in the same second get two folders, a run is
never written into the project's gold, cassettes, prompts or schemas, ``export`` never writes
into the run it reads, and the Python API takes the Run it returned wherever it takes a path."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

import llmx
from llmx.errors import OutputError, UsageError
from llmx.model import live
from llmx.runs import folder
from llmx.testing.stub_server import StubServer
from tests.helpers import run_cli

ARTICLES = [("a1", "A drone struck the base on Monday. Nobody was hurt."), ("a2", "Rockets hit the port.")]
OTHERS = [("b1", "Shelling hit a market on Friday."), ("b2", "A drone hit a depot."), ("b3", "Mortars fell.")]


class FrozenClock(datetime):
    @classmethod
    def now(cls, tz: object = None) -> FrozenClock:  # type: ignore[override]
        return cls(2026, 1, 2, 3, 4, 5)


@pytest.fixture
def same_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run starts in the same second: the case that used to share one folder."""
    monkeypatch.setattr(folder, "datetime", FrozenClock)


def lines_of(run: Path) -> list[str]:
    return [json.loads(line)["article_id"] for line in (run / "extractions.jsonl").read_text().splitlines()]


@pytest.mark.usefixtures("same_second")
def test_two_api_runs_in_one_second_get_two_folders(project: Path, tmp_path: Path) -> None:
    proj = llmx.load_project(project, cassettes=tmp_path / "tape", strategy="single")
    with live.override_allow_model_requests(True), StubServer() as server:
        first = llmx.extract(ARTICLES, project=proj, base_url=server.base_url)
        second = llmx.extract(OTHERS, project=proj, base_url=server.base_url)
    assert first.path is not None and second.path is not None and first.path != second.path
    assert first.path.name == "20260102-030405" and second.path.name == "20260102-030405-2"
    for run, items in ((first, ARTICLES), (second, OTHERS)):
        assert run.path is not None
        manifest = json.loads((run.path / "run.json").read_text())
        assert sorted(lines_of(run.path)) == sorted(manifest["article_ids"]) == sorted(i for i, _ in items)


@pytest.mark.usefixtures("same_second")
def test_two_cli_runs_in_one_second_both_succeed_apart(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "ALLOW_MODEL_REQUESTS", True)
    with StubServer() as server:
        for inputs in ("seeds/", "challenge/"):
            result = run_cli("extract", inputs, "--base-url", server.base_url, "--cassettes", "tape")
            assert result.exit_code == 0, result.output
    runs = sorted((project / "runs").iterdir())
    assert [r.name for r in runs] == ["20260102-030405", "20260102-030405-2"]
    seeds = {p.stem for p in Path("seeds").glob("*.txt")}
    assert set(lines_of(runs[0])) == seeds and not set(lines_of(runs[1])) & seeds


def test_a_runs_folder_that_cannot_be_made_is_one_line(project: Path) -> None:
    Path("blocked").write_text("a file where the runs folder should be\n")
    with pytest.raises(OutputError, match="cannot make a run folder here"):
        folder.new_run_dir(Path("blocked"))


@pytest.mark.parametrize("out", ["gold", "gold/run", "cassettes", "cassettes/x", "prompts", "schemas/r"])
def test_a_run_into_the_projects_own_folders_is_refused(project: Path, out: str) -> None:
    before = {p: p.stat().st_mtime_ns for p in Path(out.split("/")[0]).rglob("*")}
    result = run_cli("extract", "seeds/", "--out", out)
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1 and "the project's" in line and "--out runs/NAME" in line, line
    assert {p: p.stat().st_mtime_ns for p in Path(out.split("/")[0]).rglob("*")} == before
    assert not Path(out, "run.json").exists()


def test_the_api_refuses_a_run_into_gold_too(project: Path) -> None:
    with pytest.raises(OutputError, match="project's gold folder"):
        llmx.extract(ARTICLES, project=llmx.load_project(project), out=project / "gold")


@pytest.mark.parametrize("target", ["run.json", "extractions.jsonl", "sub/out.csv", "view.html", "."])
def test_export_never_writes_into_the_run_it_reads(seed_run: Path, target: str) -> None:
    before = {p.name: p.read_bytes() for p in seed_run.iterdir() if p.is_file()}
    (seed_run / "sub").mkdir()
    result = run_cli("export", seed_run, "-o", seed_run / target, "--force")
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1 and "inside the run it exports" in line, line
    assert {p.name: p.read_bytes() for p in seed_run.iterdir() if p.is_file()} == before


def test_the_api_takes_the_run_it_returned(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proj = llmx.load_project(project, cassettes=tmp_path / "tape", strategy="single")
    items = [(p.stem, p.read_text()) for p in sorted(Path("seeds").glob("*.txt"))]
    with live.override_allow_model_requests(True), StubServer() as server:
        run = llmx.extract(items, project=proj, out="runs/api", base_url=server.base_url)
    assert run.path is not None
    by_run, by_path = llmx.score(run, project=proj), llmx.score(run.path, project=proj)
    assert by_run.score.incidents.f1 == by_path.score.incidents.f1
    assert llmx.score(run, project=str(project)).score.incidents.f1 == by_path.score.incidents.f1
    assert [e.fields for e in llmx.events(run, project=proj)] == [e.fields for e in llmx.events(run.path, project=proj)]
    assert llmx.view(run, project=proj) == run.path / "view.html"
    assert llmx.compare(run, run.path, project=proj).regressions(0.0) == []
    assert capsys.readouterr() == ("", "")
    with pytest.raises(UsageError, match="in_memory=True and has no run folder"):
        llmx.score(llmx.extract(items[:1], project=proj, in_memory=True), project=proj)
    with pytest.raises(UsageError, match="not int"):
        llmx.view(3, project=proj)  # type: ignore[arg-type]
