"""``llmx events``, the event scores of ``llmx score`` / ``llmx compare``, and ``llmx.events``, end to
end. Runs are made by the gold oracle (llmx.testing.gold_oracle: a stub answering each article's
gold records, "as if extraction were perfect"), never by a model."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

import llmx
from llmx.errors import GoldError, SchemaError
from llmx.inputs.articles import load_articles
from llmx.inputs.gold import load_gold
from llmx.inputs.schemas import load_schema
from llmx.model import live
from llmx.testing.gold_oracle import gold_answers
from llmx.testing.stub_server import StubServer
from tests.helpers import run_cli

INPUTS = ["events/", "challenge/c26_passive_turkish_drone.txt"]
GROUPS = {  # gold events of the events/ set: every article that reports one attack
    "harir-2024-04-16": {"e01_harir_wire", "e02_harir_local", "e03_harir_followup"},
    "omar-2024-05-05": {"e04_omar_observatory", "e05_omar_coalition", "e06_omar_undated_statement"},
    "bint-jbeil-2024-05-29": {"e07_bintjbeil_three", "e08_bintjbeil_four", "e09_bintjbeil_funeral"},
    "baidoa-2024-10-01": {"e10_baidoa_six", "e11_baidoa_eight", "e12_baidoa_toll"},
    "qamishli-2024-07-26": {"c26_passive_turkish_drone", "e13_qamishli_funeral"},
}


EXTRACT = ("extract", "--strategy", "single")


def oracle_run(project: Path, out: str, inputs: list[str] = INPUTS) -> Path:
    schema = load_schema("incident", project / "schemas")
    script = gold_answers(load_articles(inputs), load_gold(project / "gold", schema))
    with live.override_allow_model_requests(True), StubServer(script=script) as server:
        # the oracle answers whole-article requests with gold: one request per article
        done = run_cli(*EXTRACT, *inputs, "--base-url", server.base_url, "--cassettes", "oracle-tape", "--out", out)
    assert done.exit_code == 0, done.output
    return project / out


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_events_fuse_each_group_and_trace_every_report(project: Path) -> None:
    run = oracle_run(project, "runs/oracle")
    done = run_cli("events", "runs/oracle", "--format", "csv")
    assert done.exit_code == 0, done.output
    assert "events with several reports" in done.output and "wrote" in done.output
    events = lines(run / "events.jsonl")
    texts = {a.id: a.text for a in load_articles(INPUTS)}
    several = {frozenset(r["article_id"] for r in e["reports"]) for e in events if len(e["reports"]) > 1}
    assert several == {frozenset(group) for group in GROUPS.values()}
    reported = [(r["article_id"], r["incident"]) for e in events for r in e["reports"]]
    results = lines(run / "extractions.jsonl")
    assert sorted(reported) == sorted((r["article_id"], i) for r in results for i in range(len(r["incidents"])))
    for event in events:  # every report traced: its quote is where the offsets say
        for report in event["reports"]:
            assert texts[report["article_id"]][report["start"] : report["end"]] == report["evidence"]
    (bint,) = [e for e in events if {r["article_id"] for r in e["reports"]} == GROUPS["bint-jbeil-2024-05-29"]]
    assert bint["fields"]["killed"] == 3 and bint["fields"]["date"] == "2024-05-29"
    disputed = {d["value"]: [k["article_id"] for k in d["reports"]] for d in bint["disputes"]["killed"]}
    assert disputed == {3: ["e07_bintjbeil_three"], 4: ["e08_bintjbeil_four"], 5: ["e09_bintjbeil_funeral"]}
    assert "attacker" not in bint["disputes"]  # Israeli army / Israeli military / Israel: one actor
    rows = list(csv.DictReader(io.StringIO((run / "events.csv").read_text())))
    assert len(rows) == len(events)
    row = next(r for r in rows if r["event_id"] == bint["event_id"])
    assert row["reports"] == "3" and row["killed"] == "3" and "killed: 3 [e07_bintjbeil_three #1]" in row["disputes"]


def test_score_reports_fusion_and_compare_shows_the_change(project: Path) -> None:
    oracle_run(project, "runs/a")
    scored = json.loads(run_cli("score", "runs/a", "--json").output)["events"]
    assert scored["pairwise"]["f1"] == 1.0 and scored["bcubed"]["f1"] == 1.0
    assert scored["pairwise"]["tp"] == sum(len(g) * (len(g) - 1) // 2 for g in GROUPS.values())
    assert scored["false_merges"] == scored["missed_merges"] == []
    # b: one report of Bint Jbeil dated a week off (a missed merge), the Houla near miss moved to Bint Jbeil
    b = project / "runs" / "b"
    b.mkdir()
    (b / "run.json").write_text((project / "runs/a/run.json").read_text())
    edited = []
    for result in lines(project / "runs/a/extractions.jsonl"):
        record = result["incidents"][0]["record"] if result["incidents"] else {}
        if result["article_id"] == "e09_bintjbeil_funeral":
            record["date"] = "2024-06-05"
        if result["article_id"] == "e15_near_houla_same_day":
            record["location"] = "Bint Jbeil"
        edited.append(json.dumps(result))
    (b / "extractions.jsonl").write_text("\n".join(edited) + "\n")
    text = run_cli("score", "runs/b", "--no-details").output
    assert "false merges (one predicted event, two gold events)" in text and "e15_near_houla_same_day #1" in text
    assert "missed merges (one gold event, two predicted events)" in text and "e09_bintjbeil_funeral #1" in text
    after = json.loads(run_cli("score", "runs/b", "--json").output)["events"]
    assert after["pairwise"]["fp"] == 2 and after["pairwise"]["fn"] == 2  # e15 with e07 and e08; e09 with them
    assert after["bcubed"]["precision"] < 1 and after["bcubed"]["recall"] < 1
    compared = run_cli("compare", "runs/a", "runs/b")
    assert compared.exit_code == 0 and "events (fusion)" in compared.output and "pairwise F1" in compared.output
    pairwise = after["pairwise"]["f1"]
    assert f"{pairwise:.2f}  {pairwise - 1:+.2f}" in compared.output
    both = json.loads(run_cli("compare", "runs/a", "runs/b", "--json").output)
    assert both["a"]["events"]["pairwise"]["f1"] == 1.0 and both["b"]["events"]["pairwise"]["f1"] == pairwise


def test_articles_without_cassettes_are_just_failed_articles(project: Path) -> None:
    harir = [f"events/{name}.txt" for name in sorted(GROUPS["harir-2024-04-16"])]
    oracle_run(project, "runs/part", harir)  # records oracle-tape/ for these three only
    done = run_cli(*EXTRACT, "events/", "--cassettes", "oracle-tape", "--out", "runs/miss")  # strict replay
    assert done.exit_code == 3
    shown = run_cli("events", "runs/miss")
    assert shown.exit_code == 0, shown.output
    assert "failed articles (not in any event): e04_omar_observatory (cassette_miss)" in shown.output.replace("\n", " ")
    (event,) = [e for e in lines(project / "runs/miss/events.jsonl") if len(e["reports"]) > 1]
    assert {r["article_id"] for r in event["reports"]} == GROUPS["harir-2024-04-16"]
    scored = json.loads(run_cli("score", "runs/miss", "--json").output)
    assert scored["events"]["pairwise"]["f1"] == 1.0 and scored["events"]["reports"] == 3
    assert scored["articles"]["e04_omar_observatory"]["failed"] == "cassette_miss"


def test_events_from_python(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = oracle_run(project, "runs/py")
    events = llmx.events(run, project=llmx.load_project(project))
    assert all(isinstance(e, llmx.Event) for e in events) and "events" in llmx.__all__ and "Event" in llmx.__all__
    assert {frozenset(r.article_id for r in e.reports) for e in events if e.size > 1} == {
        frozenset(g) for g in GROUPS.values()
    }
    assert not (run / "events.jsonl").exists()  # write=False: nothing written
    llmx.events(run, project=llmx.load_project(project), write=True)
    assert len(lines(run / "events.jsonl")) == len(events)
    assert capsys.readouterr() == ("", "")


def test_order_of_the_run_file_does_not_change_the_events(project: Path) -> None:
    run = oracle_run(project, "runs/o")
    assert run_cli("events", "runs/o").exit_code == 0
    first = (run / "events.jsonl").read_text()
    path = run / "extractions.jsonl"
    path.write_text("\n".join(reversed(path.read_text().splitlines())) + "\n")
    assert run_cli("events", "runs/o").exit_code == 0
    assert (run / "events.jsonl").read_text() == first


def test_undated_reports_need_publication_dates(project: Path) -> None:
    run = oracle_run(project, "runs/d")
    manifest = json.loads((run / "run.json").read_text())
    manifest["inputs"] = []
    (run / "run.json").write_text(json.dumps(manifest))
    omar = GROUPS["omar-2024-05-05"]
    kept = run_cli("events", "runs/d")  # each result carries its date (run version 2): no inputs needed
    assert kept.exit_code == 0 and "no publication dates" not in kept.output
    assert frozenset(omar) in {frozenset(r["article_id"] for r in e["reports"]) for e in lines(run / "events.jsonl")}
    old = [{**line, "version": 1, "published": None} for line in lines(run / "extractions.jsonl")]
    (run / "extractions.jsonl").write_text("".join(json.dumps(line) + "\n" for line in old))  # a version 1 run
    shown = run_cli("events", "runs/d")
    assert shown.exit_code == 0 and "no publication dates" in shown.output and "pass --articles" in shown.output
    fused = {frozenset(r["article_id"] for r in e["reports"]) for e in lines(run / "events.jsonl")}
    assert frozenset(omar - {"e06_omar_undated_statement"}) in fused  # the undated one stands alone
    assert run_cli("events", "runs/d", *[x for i in INPUTS for x in ("--articles", i)]).exit_code == 0
    assert frozenset(omar) in {frozenset(r["article_id"] for r in e["reports"]) for e in lines(run / "events.jsonl")}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["events", "nowhere"], "nowhere: not a run (no extractions.jsonl)"),
        (["events", "runs/e", "--schema", "muc4"], "schemas/muc4.py: declares no event rule; add EVENT"),
        (["events", "runs/e", "--articles", "missing/"], "missing/: no such file or folder"),
        (["view", "runs/e", "runs/e", "--events"], "--events shows one run"),
    ],
)
def test_bad_input_is_one_line_exit_2(project: Path, args: list[str], message: str) -> None:
    oracle_run(project, "runs/e", ["events/e01_harir_wire.txt"])
    failed = run_cli(*args)
    assert failed.exit_code == 2 and message in failed.output, failed.output
    assert "Traceback" not in failed.output and len(failed.output.strip().splitlines()) == 1


def test_gold_event_must_be_a_name(project: Path) -> None:
    path = project / "gold" / "e01_harir_wire.json"
    data = json.loads(path.read_text())
    data["incidents"][0]["event"] = 7
    path.write_text(json.dumps(data))
    with pytest.raises(GoldError, match=r"e01_harir_wire\.json: incident 1: 'event' must be a name"):
        load_gold(project / "gold", load_schema("incident", project / "schemas"))
    checked = run_cli("gold", "check")
    assert checked.exit_code == 2 and "'event' must be a name" in checked.output


def test_a_schema_rule_error_names_the_file(project: Path) -> None:
    source = (project / "schemas/incident.py").read_text()
    (project / "schemas/incident.py").write_text(source.replace('"agree": "block"', '"agree": "blok"'))
    oracle_run_failed = run_cli("gold", "check")
    assert oracle_run_failed.exit_code == 2
    assert "schemas/incident.py: field 'country': event agree 'blok'" in oracle_run_failed.output
    with pytest.raises(SchemaError):
        load_schema("incident", project / "schemas")


def test_gold_that_names_no_event_does_not_score_fusion(project: Path) -> None:
    oracle_run(project, "runs/n")
    for path in (project / "gold").glob("*.json"):
        data = json.loads(path.read_text())
        for incident in data["incidents"]:
            incident.pop("event", None)
        path.write_text(json.dumps(data))
    scored = run_cli("score", "runs/n", "--json")
    assert scored.exit_code == 0 and json.loads(scored.output)["events"] is None  # not annotated: no score
    assert "events (fusion" not in run_cli("score", "runs/n", "--no-details").output
    page = run_cli("view", "runs/n", "--events")
    assert page.exit_code == 0 and "fusion not scored: no gold record names an event" in page.output
