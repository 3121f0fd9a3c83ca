"""A result carries its facts (run version 2): the publication date ``score`` and ``events``
place undated reports by is in each line of extractions.jsonl, so they no longer go back to
the corpus, and a run whose inputs moved keeps its dates. Version 1 runs still read."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import llmx
from llmx.app.evaluation.events import publication_dates
from llmx.runs.folder import read_manifest, read_results
from llmx.runs.results import RUN_VERSION
from llmx.testing.stub_server import StubServer

DATES = {"d1": "2024-09-22", "d2": "2023-01-05", "d3": None}


def _run(project: Path) -> Path:
    corpus = project / "corpus"
    corpus.mkdir()
    rows = [{"id": aid, "text": f"A drone struck Erbil on Monday ({aid}).", "date": day} for aid, day in DATES.items()]
    (corpus / "c.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    proj = llmx.load_project(project, cassettes=project / "tape", strategy="single")
    with StubServer() as server:
        run = llmx.extract([str(corpus)], project=proj, out=project / "runs/r", base_url=server.base_url)
    assert run.exit_code == 0
    return project / "runs/r"


def _expected() -> dict[str, dt.date | None]:
    return {aid: dt.date.fromisoformat(day) if day else None for aid, day in DATES.items()}


def test_each_result_keeps_its_date_and_events_need_no_corpus(project: Path, live_requests: None) -> None:
    run = _run(project)
    lines = [json.loads(line) for line in (run / "extractions.jsonl").read_text().splitlines()]
    assert {line["article_id"]: line["published"] for line in lines} == DATES
    assert all(line["version"] == RUN_VERSION == 2 for line in lines)
    shutil.rmtree(project / "corpus")  # the inputs run.json names are gone
    notes: list[str] = []
    assert publication_dates(run, [], notes, None, read_results(run)) == _expected()
    assert notes == []


def test_a_version_1_run_still_reads_and_takes_its_dates_from_its_inputs(project: Path, live_requests: None) -> None:
    run = _run(project)
    # The run as llmx wrote it before results carried their facts: version 1, no "published".
    old = []
    for line in (run / "extractions.jsonl").read_text().splitlines():
        record = json.loads(line)
        record["version"] = 1
        del record["published"]
        old.append(json.dumps(record) + "\n")
    (run / "extractions.jsonl").write_text("".join(old))
    manifest = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**manifest, "version": 1}))
    results = read_results(run)
    assert read_manifest(run) is not None and sorted(r.article_id for r in results) == sorted(DATES)
    assert all(not r.carries_facts and r.published is None for r in results)
    notes: list[str] = []
    assert publication_dates(run, [], notes, None, results) == _expected()  # from the inputs run.json names
    shutil.rmtree(project / "corpus")
    assert publication_dates(run, [], notes, None, results) == {}  # moved: fusion falls back, and says so
    assert notes and "no publication dates" in notes[0]
    # and it resumes: the same articles are done, nothing is asked again
    proj = llmx.load_project(project, cassettes=project / "tape", strategy="single")
    (project / "corpus").mkdir()
    rows = [{"id": aid, "text": f"A drone struck Erbil on Monday ({aid}).", "date": day} for aid, day in DATES.items()]
    (project / "corpus" / "c.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    again = llmx.extract([str(project / "corpus")], project=proj, out=run)
    assert again.exit_code == 0 and again.outcome.resumed == len(DATES)
