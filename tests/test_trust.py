"""Runs and scores you can trust: each case a new user hit, driven through the CLI, black-box.
Nothing silently wrong, nothing lost, nothing leaked; bad input is one line and a non-zero exit."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from llmx.runs.folder import read_results
from llmx.testing.fake_model import Reply, schema_answer
from llmx.testing.stub_server import StubServer
from tests.helpers import extract_args, run_cli

SEED = "seeds/000_e376b6ba81a78c64.txt"
KEY = "sk-llmx-trust-SECRET-987654321"


def one_error_line(output: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in output, output
    return errors[0]


# ---- silently wrong --------------------------------------------------------------------------


def test_score_of_an_empty_run_is_an_error_not_a_perfect_score(project: Path) -> None:
    (project / "runs" / "empty").mkdir(parents=True)
    (project / "runs" / "empty" / "extractions.jsonl").write_text("")
    result = run_cli("score", "runs/empty")
    assert result.exit_code == 2 and "holds no article" in one_error_line(result.output)
    gated = run_cli("score", "runs/empty", "--min-f1", "0.5")
    assert gated.exit_code == 4 and "cannot pass" in one_error_line(gated.output)


def test_score_of_a_run_without_gold_is_an_error(project: Path, live_requests: None) -> None:
    (project / "other.txt").write_text("A rocket hit a depot in Kharkiv on Monday, officials said.")
    with StubServer() as server:
        assert run_cli(*extract_args(server.base_url, "runs/nogold", inputs="other.txt")).exit_code == 0
    result = run_cli("score", "runs/nogold", "--min-f1", "0.1")
    assert result.exit_code == 4 and "none of its 1 article(s) has gold" in one_error_line(result.output)


def test_a_run_where_every_article_failed_has_no_field_score(project: Path, live_requests: None) -> None:
    with StubServer(script=lambda body, n: Reply(fault="status", status=400)) as server:
        assert run_cli(*extract_args(server.base_url, "runs/failed", "--concurrency", "1")).exit_code == 1
    data = json.loads(run_cli("score", "runs/failed", "--json").output)
    assert data["incidents"]["tp"] == 0 and data["incidents"]["f1"] == 0.0
    assert data["field_macro_f1"] is None and all(f["f1"] is None for f in data["fields"].values())


def test_compare_keeps_missing_and_failed_articles_out_of_the_deltas(seed_run: Path, project: Path) -> None:
    partial = project / "runs" / "partial"
    shutil.copytree(seed_run, partial)
    lines = (partial / "extractions.jsonl").read_text().splitlines()
    failed = json.loads(lines[1])
    failed.update(status="failed", incidents=[], error={"kind": "cassette_miss", "message": "x"})
    (partial / "extractions.jsonl").write_text("\n".join([lines[0], json.dumps(failed), *lines[3:]]) + "\n")
    missing_id, failed_id = json.loads(lines[2])["article_id"], failed["article_id"]
    result = run_cli("compare", "runs/r1", "runs/partial")
    assert result.exit_code == 0, result.output
    assert (
        f"only in r1: {missing_id}" in result.output
        and f"failed in partial: {failed_id} (cassette_miss)" in result.output
    )
    assert "(3 articles both runs" in result.output
    changes = re.findall(r"[+-]\d\.\d\d", result.output)  # deltas and their intervals
    assert changes and all(float(c) == 0 for c in changes)  # the same answers: no gain, no loss
    data = json.loads(run_cli("compare", "runs/r1", "runs/partial", "--json").output)
    assert set(data["a"]["articles"]) == set(data["b"]["articles"]) and len(data["a"]["articles"]) == 3


def test_score_json_lists_each_matched_pair(seed_run: Path) -> None:
    data = json.loads(run_cli("score", "runs/r1", "--json").output)
    results = {r.article_id: r for r in read_results(seed_run)}
    for article_id, article in data["articles"].items():
        for pair in article["pairs"]:
            assert 0 <= pair["predicted"] < len(results[article_id].incidents)
            assert pair["gold"] >= 0 and 0.5 <= pair["similarity"] <= 1.0


def test_resuming_with_other_settings_is_refused_naming_what_differs(shipped_recordings: None, seed_run: Path) -> None:
    v2 = ("--prompt", "incident_v2", "--strategy", "single")  # the recorded prompt before the last edit
    result = run_cli("extract", "seeds/", *v2, "--out", "runs/r1")
    line = one_error_line(result.output)
    assert result.exit_code == 2 and "prompt 'incident' → 'incident_v2'" in line and "--redo-changed" in line
    redo = run_cli("extract", "seeds/", *v2, "--out", "runs/r1", "--redo-changed")
    assert redo.exit_code == 0, redo.output
    assert {r.provenance.prompt for r in read_results(seed_run)} == {"incident_v2"}
    assert json.loads((seed_run / "run.json").read_text())["recipe"]["prompt"] == "incident_v2"


def test_every_replay_the_readme_gives_works_offline(project: Path, shipped_recordings: None) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    commands = [
        re.split(r"#|&&|\|", line)[0].split() for line in readme.splitlines() if line.startswith("llmx extract seeds/")
    ]
    offline = [c for c in commands if not {"--local", "--base-url", "--record"} & set(c)]
    assert offline, "the README gives no offline extract example"
    for number, words in enumerate(offline):
        args = [w for i, w in enumerate(words[1:]) if w != "--out" and (i == 0 or words[i] != "--out")]
        result = run_cli(*args, "--out", f"runs/readme{number}")
        assert result.exit_code == 0, (words, result.output)


def test_from_a_subfolder_the_projects_cassettes_are_found(
    project: Path, monkeypatch: pytest.MonkeyPatch, shipped_recordings: None
) -> None:
    monkeypatch.chdir(project / "seeds")
    result = run_cli("extract", ".", "--out", str(project / "runs" / "sub"))
    assert result.exit_code == 0, result.output
    assert not (project / "seeds" / "cassettes").exists()


# ---- lost results ----------------------------------------------------------------------------


def test_line_separators_inside_answers_do_not_break_the_run(project: Path, live_requests: None) -> None:
    text = "A drone struck a fuel depot in Kherson\u2028on Monday.\u2029 Officials\u0085 said so."
    (project / "odd.jsonl").write_text(json.dumps({"id": "odd", "text": text}, ensure_ascii=False) + "\n")
    with StubServer(script=lambda body, n: schema_answer(body, target="depot\u2028north")) as server:
        assert run_cli(*extract_args(server.base_url, "runs/odd", inputs="odd.jsonl")).exit_code == 0
    (result,) = read_results(project / "runs" / "odd")
    assert result.incidents[0].record["target"] == "depot\u2028north"
    assert run_cli("export", "runs/odd").exit_code == 0


def test_extracting_one_article_into_a_full_run_keeps_the_others(seed_run: Path) -> None:
    assert run_cli("extract", SEED, "--out", "runs/r1").exit_code == 0
    assert len(read_results(seed_run)) == 5
    manifest = json.loads((seed_run / "run.json").read_text())
    assert len(manifest["article_ids"]) == 5


def test_a_locked_run_folder_refuses_a_second_writer(seed_run: Path) -> None:
    import fcntl

    with (seed_run / ".lock").open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = run_cli("extract", "seeds/", "--out", "runs/r1")
    assert result.exit_code == 2 and "another llmx is writing this run folder" in one_error_line(result.output)
    assert len(read_results(seed_run)) == 5


def test_an_unwritable_cassette_folder_is_found_before_any_request(project: Path, live_requests: None) -> None:
    (project / "tape").write_text("a file where the cassette folder should be")
    with StubServer() as server:
        result = run_cli(*extract_args(server.base_url, "runs/t"))
        assert server.requests == []
    line = one_error_line(result.output)
    assert result.exit_code == 2 and "tape: a file, not a cassette folder" in line and "--cassettes" in line


def test_export_never_overwrites_without_force(seed_run: Path, project: Path) -> None:
    (project / "out.csv").write_text("precious")
    refused = run_cli("export", "runs/r1", "-o", "out.csv")
    assert refused.exit_code == 2 and "pass --force" in one_error_line(refused.output)
    assert (project / "out.csv").read_text() == "precious"
    assert run_cli("export", "runs/r1", "-o", "out.csv", "--force").exit_code == 0
    assert (project / "out.csv").read_text().startswith("article_id,")


# ---- secrets and injection -------------------------------------------------------------------


def test_credentials_in_the_base_url_are_never_written(project: Path, live_requests: None) -> None:
    with StubServer() as server:
        in_query = run_cli(*extract_args(f"{server.base_url}?api_key={KEY}", "runs/cred"))
        in_userinfo = run_cli(*extract_args(server.base_url.replace("http://", f"http://user:{KEY}@"), "runs/cred2"))
    assert in_query.exit_code == 0, in_query.output
    assert in_userinfo.exit_code == 2 and "put the key in OPENAI_API_KEY" in one_error_line(in_userinfo.output)
    assert json.loads((project / "runs" / "cred" / "run.json").read_text())["settings"]["base_url"].endswith("=***")
    for path in project.rglob("*"):
        if path.is_file():
            assert KEY not in path.read_text(errors="replace"), path
    assert KEY not in in_query.output + in_userinfo.output


def test_a_server_echoing_the_key_in_an_extra_field_does_not_get_it_into_a_cassette(
    project: Path, live_requests: None
) -> None:
    def echo(body: dict[str, Any], number: int) -> Reply:
        reply = schema_answer(body)
        reply.extra = {"debug": {"authorization": f"Bearer {KEY}"}}
        return reply

    with StubServer(script=echo) as server:
        result = run_cli(*extract_args(server.base_url, "runs/echo", inputs=SEED), env={"OPENAI_API_KEY": KEY})
    assert result.exit_code == 0, result.output
    for path in project.rglob("*.json*"):
        assert KEY not in path.read_text(), path


def test_an_error_body_echoing_the_key_is_redacted_in_the_run(project: Path, live_requests: None) -> None:
    echo = Reply(content=f"not json, and Bearer {KEY} for good measure")
    with StubServer(script=lambda body, n: echo) as server:
        result = run_cli(*extract_args(server.base_url, "runs/echo2", inputs=SEED), env={"OPENAI_API_KEY": KEY})
    assert result.exit_code == 1
    (line,) = read_results(project / "runs" / "echo2")
    assert line.error is not None and "***" in (line.error.last_output or "")
    assert KEY not in (project / "runs" / "echo2" / "extractions.jsonl").read_text()


# ---- tracebacks become one line --------------------------------------------------------------


@pytest.mark.parametrize("date", ["2024-13-45", "2024-02-30"])
def test_an_impossible_date_line_is_one_line(project: Path, date: str) -> None:
    (project / "bad.txt").write_text(f" date {date} A drone hit a base.")
    result = run_cli("extract", "bad.txt")
    assert result.exit_code == 2 and f"the date line says {date}" in one_error_line(result.output)


def test_a_prompt_or_config_that_is_not_utf8_is_one_line(project: Path) -> None:
    (project / "prompts" / "latin.jinja").write_bytes("{% block system %}caf\xe9{% endblock %}".encode("latin-1"))
    result = run_cli("extract", SEED, "--prompt", "latin")
    assert result.exit_code == 2 and "latin.jinja: the prompt template is not UTF-8" in one_error_line(result.output)
    (project / "llmx.toml").write_bytes('model = "caf\xe9"\n'.encode("latin-1"))
    result = run_cli("extract", SEED)
    assert result.exit_code == 2 and "llmx.toml: the config is not UTF-8" in one_error_line(result.output)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["score", "runs/r1", "--html", "missing/report.html"], "missing: no such folder"),
        (["export", "runs/r1", "-o", "runs"], "runs: is a folder"),
        (["export", "runs/r1", "-o", "missing/out.csv"], "missing: no such folder"),
    ],
)
def test_output_paths_that_cannot_be_written_are_one_line(seed_run: Path, args: list[str], needle: str) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2 and needle in one_error_line(result.output)


# ---- messages that say what and what to do ---------------------------------------------------


@pytest.mark.parametrize(("option", "value"), [("--concurrency", "0"), ("--timeout", "-1"), ("--reasks", "-1")])
def test_a_bad_option_value_is_blamed_on_the_option(project: Path, option: str, value: str) -> None:
    result = run_cli("extract", SEED, option, value)
    line = one_error_line(result.output)
    assert result.exit_code == 2 and line.startswith(f"error: {option} {value}") and "pyproject" not in line


@pytest.mark.parametrize("url", ["not-a-url", "ftp://example.org/v1", "127.0.0.1:8080/v1"])
def test_a_base_url_that_is_not_http_fails_at_once(project: Path, url: str) -> None:
    result = run_cli("extract", SEED, "--base-url", url, "--out", "runs/u")
    assert result.exit_code == 2 and "is not an http(s) URL" in one_error_line(result.output)


def test_a_refused_connection_stops_the_run_naming_the_url(project: Path, live_requests: None) -> None:
    result = run_cli(*extract_args("http://127.0.0.1:9/v1", "runs/refused"))
    line = one_error_line(result.output)
    assert (
        result.exit_code == 2 and "cannot connect to http://127.0.0.1:9/v1" in line and "is the server running" in line
    )


def test_a_404_page_stops_the_run_with_a_hint_not_html(project: Path, live_requests: None) -> None:
    with StubServer(
        script=lambda body, n: Reply(fault="status", status=404, error_message="<html>Not Found</html>")
    ) as s:
        result = run_cli(*extract_args(s.base_url, "runs/404", "--concurrency", "2"))
        assert len(s.requests) <= 2  # not retried, not repeated for every article (5): those in flight
    line = one_error_line(result.output)
    assert result.exit_code == 2 and "HTTP 404" in line and "end in /v1" in line and "<html" not in line


def test_a_broken_or_foreign_cassette_is_named(shipped_recordings: None, seed_run: Path, project: Path) -> None:
    used = next(r for r in read_results(seed_run) if r.article_id == "000_e376b6ba81a78c64")
    assert used.provenance is not None
    tape = project / "cassettes" / "000_e376b6ba81a78c64" / f"{used.provenance.cassette_keys[0][:20]}.json"
    data = json.loads(tape.read_text())
    data["version"] = 99
    tape.write_text(json.dumps(data))
    result = run_cli("extract", SEED, "--out", "runs/foreign")
    assert result.exit_code == 1 and f"{tape}: cassette version 99" in result.output


def test_a_miss_names_the_folder_and_gives_the_whole_command(project: Path) -> None:
    prompt = project / "prompts" / "incident.jinja"  # what the default strategy asks
    prompt.write_text(prompt.read_text().replace("You extract", "You carefully extract"))
    result = run_cli("extract", SEED, "--out", "runs/miss")
    assert result.exit_code == 3
    assert f"no cassette in {project / 'cassettes' / '000_e376b6ba81a78c64'}" in result.output
    assert f"llmx extract {SEED} --out runs/miss --auto --local" in result.output


@pytest.mark.parametrize("value", ["5", "-1", "0"])
def test_min_similarity_outside_0_1_is_refused(seed_run: Path, value: str) -> None:
    result = run_cli("score", "runs/r1", "--min-similarity", value)
    assert result.exit_code == 2 and "--min-similarity" in result.output


def test_llmx_debug_0_is_off_and_debugging_never_changes_the_exit_code(project: Path) -> None:
    off = run_cli("extract", "nowhere/", env={"LLMX_DEBUG": "0"})
    on = run_cli("extract", "nowhere/", env={"LLMX_DEBUG": "1"})
    assert off.exit_code == on.exit_code == 2
    assert "Traceback" not in off.output


def test_a_template_error_on_a_later_article_names_it_before_any_request(project: Path) -> None:
    (project / "prompts" / "picky.jinja").write_text(
        "{% block system %}x{% endblock %}{% block user %}{{ article.text }}"
        "{% if 'Hezbollah' in article.text %}{{ article.nothing.deeper }}{% endif %}{% endblock %}"
    )
    result = run_cli("extract", "seeds/", "--prompt", "picky", "--strategy", "single", "--out", "runs/picky")
    line = one_error_line(result.output)
    assert result.exit_code == 2 and "article 000_e376b6ba81a78c64" in line
    assert not (project / "runs" / "picky").exists()  # nothing started, nothing half-written


def test_a_schema_that_calls_sys_exit_is_reported(project: Path) -> None:
    (project / "schemas" / "quits.py").write_text("import sys\nsys.exit(3)\n")
    result = run_cli("extract", SEED, "--schema", "quits")
    assert result.exit_code == 2 and "quits.py: failed to import: SystemExit: 3" in one_error_line(result.output)


def test_bad_ids_say_what_is_allowed_and_the_limit(project: Path) -> None:
    (project / "ids.jsonl").write_text(json.dumps({"id": "x" * 201, "text": "A drone hit."}) + "\n")
    long_id = run_cli("extract", "ids.jsonl")
    assert long_id.exit_code == 2 and "over the 200-character limit" in one_error_line(long_id.output)
    (project / "ids.jsonl").write_text(json.dumps({"id": "a b", "text": "A drone hit."}) + "\n")
    spaced = run_cli("extract", "ids.jsonl")
    assert "Value error" not in spaced.output and "must be letters, digits" in one_error_line(spaced.output)


def test_a_run_folder_inside_the_input_folder_is_not_read_as_articles(project: Path, shipped_recordings: None) -> None:
    assert run_cli("extract", "seeds/", "--out", "seeds").exit_code == 0
    again = run_cli("extract", "seeds/", "--out", "runs/again")
    assert again.exit_code == 0, again.output
    assert len(read_results(project / "runs" / "again")) == 5
