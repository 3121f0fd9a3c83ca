"""The CLI end to end, in a temp copy of the project: replay the real seed cassettes, record
against a stub server on 127.0.0.1, score, compare, export."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from llmx.inputs.schemas import load_schema
from llmx.runs.folder import read_results
from llmx.testing.stub_server import StubServer
from tests.helpers import extract_args, run_cli


def lines(run: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (run / "extractions.jsonl").read_text().splitlines()]


def test_extract_replays_the_seed_cassettes_with_no_key(project: Path, shipped_recordings: None) -> None:
    result = run_cli("extract", "seeds/", "--out", "runs/r1")
    assert result.exit_code == 0, result.output
    assert "requests replayed / live" in result.output
    records = lines(project / "runs" / "r1")
    assert sorted(r["article_id"] for r in records) == sorted(p.stem for p in (project / "seeds").glob("*.txt"))
    assert all(r["status"] == "ok" and r["provenance"]["live_calls"] == 0 for r in records)
    incidents = [i for r in records for i in r["incidents"]]
    assert len(incidents) >= 5
    schema = load_schema("incident", project / "schemas")
    for item in incidents:
        schema.record_model.model_validate(item["record"])  # real, schema-valid records
    grounded = [i for i in incidents if i["grounding"]["status"] != "ungrounded"]
    assert len(grounded) >= len(incidents) - 1
    text = {p.stem: p.read_text() for p in (project / "seeds").glob("*.txt")}
    for r in records:
        for item in r["incidents"]:
            g = item["grounding"]
            if g["status"] == "exact":
                assert text[r["article_id"]].find(item["record"]["evidence"]) >= 0
    manifest = json.loads((project / "runs" / "r1" / "run.json").read_text())
    assert manifest["status"] == "complete" and manifest["summary"]["articles"] == 5


def test_prompt_edit_misses_in_strict_replay_naming_the_change(project: Path, shipped_recordings: None) -> None:
    prompt = project / "prompts" / "incident.jinja"  # what the default strategy asks
    prompt.write_text(prompt.read_text().replace("You extract violent incidents", "You extract ALL violent incidents"))
    result = run_cli("extract", "seeds/000_e376b6ba81a78c64.txt", "--out", "runs/miss")
    assert result.exit_code == 3
    assert "000_e376b6ba81a78c64 (cassette_miss)" in result.output
    assert "system prompt text at char" in result.output and "ALL violent incidents" in result.output
    assert "Traceback" not in result.output


def test_schema_edit_misses_naming_the_schema(project: Path, shipped_recordings: None) -> None:
    schema = project / "schemas" / "incident.py"
    schema.write_text(schema.read_text().replace("Main weapon used.", "Main weapon or means used."))
    result = run_cli("extract", "seeds/001_d33b1ed68cf8519c.txt", "--out", "runs/miss2")
    assert result.exit_code == 3 and "response schema" in result.output


def test_record_against_a_stub_server_then_replay_without_calls(project: Path, live_requests: None) -> None:
    with StubServer() as server:
        first = run_cli(*extract_args(server.base_url, "runs/live", "--model", "stub-model", "--format", "csv"))
        assert first.exit_code == 0, first.output
        assert len(server.requests) == 5
        assert server.requests[0]["response_format"]["type"] == "json_schema"
        second = run_cli(*extract_args(server.base_url, "runs/again", "--model", "stub-model"))
        assert second.exit_code == 0 and len(server.requests) == 5  # all five replayed
    assert len(list((project / "tape").rglob("*.json"))) == 5
    assert all(r["provenance"]["replayed_calls"] == 1 for r in lines(project / "runs" / "again"))
    csv_text = (project / "runs" / "live" / "extractions.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert csv_text.startswith("article_id,status,incident,date,") and len(rows) == 5
    assert {row["weapon"] for row in rows} == {"drone"} and all(row["grounding"] == "exact" for row in rows)
    exported = run_cli("export", "runs/live")
    assert exported.exit_code == 0 and exported.output == csv_text


def test_score_report_json_threshold_and_html(project: Path, seed_run: Path) -> None:
    report = run_cli("score", "runs/r1")
    assert report.exit_code == 0, report.output
    assert "incidents  P" in report.output and "fields (on matched incidents)" in report.output
    as_json = run_cli("score", "runs/r1", "--json")
    data = json.loads(as_json.output)
    # the details show every article, and every matched, missed and invented incident of it
    articles = data["articles"].values()
    assert all(article_id in report.output for article_id in data["articles"])
    assert report.output.count("missed") >= sum(a["missed"] for a in articles)
    assert report.output.count("spurious") >= sum(a["spurious"] for a in articles)
    assert set(data["incidents"]) >= {"precision", "recall", "f1", "tp", "fp", "fn"}
    assert set(data["fields"]) >= {"weapon", "location", "killed"} and len(data["articles"]) == 5
    assert data["incidents"]["tp"] + data["incidents"]["fn"] == 10  # the ten required gold incidents
    too_high = run_cli("score", "runs/r1", "--min-f1", "0.99")
    assert too_high.exit_code == 4 and "below --min-f1" in too_high.output
    html = run_cli("score", "runs/r1", "--html", "report.html")
    assert html.exit_code == 0 and "<html" in (project / "report.html").read_text().lower()


def test_compare_shows_deltas_between_two_runs(project: Path, seed_run: Path, live_requests: None) -> None:
    shutil.copytree(seed_run, project / "runs" / "a")
    with StubServer() as server:
        assert (
            run_cli(
                *extract_args(server.base_url, "runs/b"),
            ).exit_code
            == 0
        )
    result = run_cli("compare", "runs/a", "runs/b")
    assert result.exit_code == 0, result.output
    assert "a → b" in result.output and "incident F1" in result.output and "fields F1" in result.output
    a, b = (json.loads(run_cli("score", f"runs/{n}", "--json").output) for n in "ab")
    change = b["incidents"]["f1"] - a["incidents"]["f1"]
    assert f"{change:+.2f}" in result.output.split("incident F1", 1)[1]


def test_gold_check_accepts_the_seeds_and_names_a_bad_field(project: Path) -> None:
    ok = run_cli("gold", "check")
    files = len(list((project / "gold").glob("*.json")))
    assert ok.exit_code == 0 and f"ok: {files} gold files" in ok.output
    bad = project / "gold" / "001_d33b1ed68cf8519c.json"
    data = json.loads(bad.read_text())
    data["incidents"][1]["killed"] = "five"
    bad.write_text(json.dumps(data))
    result = run_cli("gold", "check")
    assert result.exit_code == 2
    assert "001_d33b1ed68cf8519c.json: incident 2, field 'killed'" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_usage_errors_are_one_line_with_exit_2(project: Path) -> None:
    for args, needle in (
        (["extract", "nowhere/"], "nowhere/: no such file or folder"),
        (["extract", "seeds/", "--schema", "nope"], "unknown schema 'nope'"),
        (["extract", "seeds/", "--prompt", "nope"], "unknown prompt 'nope'"),
        (["extract", "seeds/", "--record"], "--record needs a model"),
        (["score", "runs/none"], "no extractions.jsonl"),
    ):
        result = run_cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert needle in result.output and len(result.output.strip().splitlines()) == 1
        assert "Traceback" not in result.output


def test_results_read_back_as_models(project: Path, shipped_recordings: None) -> None:
    assert run_cli("extract", "seeds/", "--out", "runs/r1").exit_code == 0
    results = read_results(project / "runs" / "r1")
    assert {r.provenance.model for r in results} == {"qwen2.5-coder-1.5b-instruct-q4_k_m"}


def test_score_shows_cost_when_the_model_is_priced(project: Path, seed_run: Path) -> None:
    unpriced = json.loads(run_cli("score", "runs/r1", "--json").output)
    assert unpriced["cost_usd"] is None
    with (project / "pyproject.toml").open("a") as config:
        config.write('\n[tool.llmx.prices]\n"qwen2.5-coder-1.5b-instruct-q4_k_m" = {prompt = 1.0, completion = 2.0}\n')
    priced = json.loads(run_cli("score", "runs/r1", "--json").output)
    usage = priced["usage"]
    assert priced["cost_usd"] == round((usage["prompt_tokens"] * 1.0 + usage["completion_tokens"] * 2.0) / 1e6, 6)
    assert f"cost       ${priced['cost_usd']:.4f} recorded" in run_cli("score", "runs/r1", "--no-details").output
