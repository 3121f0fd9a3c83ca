"""A run's own files, when something is off with them, are named with what to do (issue 33):
``events.jsonl`` that is a folder names that path; an ``extractions.jsonl`` saved with a BOM
is read; ``view`` of a run whose articles moved says ``--articles`` fixes it; ``sample`` with
nothing left to annotate keeps the last list instead of overwriting it with an empty one."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_cli
from tests.test_gold_loop import article, incident, write_gold, write_run


def test_events_jsonl_that_is_a_folder_is_named(seed_run: Path) -> None:
    (seed_run / "events.jsonl").mkdir()
    result = run_cli("events", seed_run)
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1 and f"{seed_run / 'events.jsonl'}: a folder" in line, line


def test_extractions_jsonl_with_a_bom_is_read(seed_run: Path) -> None:
    plain = run_cli("export", seed_run)
    assert plain.exit_code == 0, plain.output
    results = seed_run / "extractions.jsonl"
    results.write_bytes(b"\xef\xbb\xbf" + results.read_bytes())  # saved by an editor that adds one
    for command in (("export", seed_run), ("score", seed_run)):
        result = run_cli(*command)
        assert result.exit_code == 0 and "not an llmx extraction line" not in result.output, result.output
    assert run_cli("export", seed_run).output == plain.output


def test_view_of_a_run_whose_articles_moved_says_articles_fixes_it(seed_run: Path, project: Path) -> None:
    manifest = json.loads((seed_run / "run.json").read_text())
    manifest["inputs"] = [str(project / "moved-away")]
    (seed_run / "run.json").write_text(json.dumps(manifest))
    result = run_cli("view", seed_run)
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1 and "moved-away" in line and "pass --articles" in line, line
    again = run_cli("view", seed_run, "--articles", "seeds/")
    assert again.exit_code == 0, again.output


def test_sample_with_nothing_left_keeps_the_last_list(project: Path) -> None:
    erbil = incident(location="Erbil", evidence="A drone struck Erbil.")
    write_run(Path("runs/a"), [article("one", [erbil]), article("two", [erbil], removed=1)])
    first = run_cli("sample", "runs/a", "--n", "2", "--gold", "g")
    assert first.exit_code == 0, first.output
    listed = Path("runs/a/sample.txt").read_text()
    assert "one" in listed and "two" in listed
    for aid in ("one", "two"):  # both annotated since: nothing left to sample
        write_gold(Path("g"), aid, [erbil])
    again = run_cli("sample", "runs/a", "--n", "2", "--gold", "g")
    assert again.exit_code == 0, again.output
    assert "nothing to annotate" in again.output and "left as it was" in again.output
    assert Path("runs/a/sample.txt").read_text() == listed


def test_sample_without_gold_on_a_fully_annotated_run_keeps_the_last_list(seed_run: Path) -> None:
    (seed_run / "sample.txt").write_text("# the list being annotated\n002_3967b8add1cdc5f9\n")
    result = run_cli("sample", seed_run, "--n", "3")  # the project's gold/ has every seed reviewed
    assert result.exit_code == 0, result.output
    assert "nothing to annotate" in result.output
    assert (seed_run / "sample.txt").read_text() == "# the list being annotated\n002_3967b8add1cdc5f9\n"
