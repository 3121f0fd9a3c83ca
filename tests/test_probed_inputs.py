"""Bad inputs found by ``bench/bad_inputs.py`` (issue 33), each fixed for its class and tested
through the CLI: one clear line and a non-zero exit, or a correct result, never a traceback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from llmx.inputs.articles import parse_text
from tests.helpers import run_cli
from tests.test_silent_cases import error_line

TEXT = "On 3 March 2024 a drone struck a depot in Hodeidah, killing two guards.\n"


@pytest.mark.parametrize("first", ["date 03.04.2024", " date 3/4/24", "date: 12-11-2024"])
def test_a_date_line_that_reads_two_ways_is_refused(project: Path, first: str) -> None:
    (project / "in").mkdir()
    (project / "in" / "a.txt").write_text(f"{first}\n{TEXT}")
    result = run_cli("extract", "in/", "--out", "runs/x")
    line = error_line(result.output)
    assert result.exit_code == 2 and "looks like a date line" in line and "write ` date YYYY-MM-DD`" in line


@pytest.mark.parametrize(
    "first", [" date 3 March 2024", "date: 2024/03/03", " date March 3, 2024", "date: 3 Mar 2024", "date Mar 3 2024."]
)
def test_a_date_line_written_in_words_dates_the_article(first: str) -> None:
    article = parse_text("a", f"{first}\n{TEXT}", "in/a.txt")
    assert article.date == dt.date(2024, 3, 3) and article.text == TEXT.strip()


@pytest.mark.parametrize("first", ["Date palms burned near Basra in 2024 after a drone strike.", "Date 12 attacks"])
def test_a_first_line_that_only_starts_with_date_is_text(project: Path, first: str) -> None:
    (project / "in").mkdir()
    (project / "in" / "a.txt").write_text(f"{first}\n{TEXT}")
    result = run_cli("extract", "in/", "--out", "runs/x")
    assert "looks like a date line" not in result.output and result.exit_code == 3, result.output  # a miss, offline


@pytest.mark.parametrize(
    "added",
    ["\n{{ artcle.text }}\n", "\nAlso extract the weather.\n", "\n{% if true %}more rules{% endif %}\n"],
)
def test_template_text_outside_the_blocks_is_refused(project: Path, added: str) -> None:
    template = project / "prompts" / "incident.jinja"
    template.write_text(template.read_text() + added)
    result = run_cli("extract", "seeds/", "--out", "runs/x")
    line = error_line(result.output)
    assert result.exit_code == 2 and "prompts/incident.jinja:" in line and "never sent to the model" in line


def test_a_csv_quote_never_closed_is_refused(project: Path) -> None:
    (project / "n.csv").write_text('id,text\na,"A drone struck a depot.\nb,Another strike.\nc,A third.\n')
    result = run_cli("extract", "n.csv", "--out", "runs/x")
    line = error_line(result.output)
    assert result.exit_code == 2 and "n.csv:2: a quoted field opened on this line is never closed" in line


def test_a_negative_count_in_gold_is_refused(project: Path) -> None:
    import json

    path = project / "gold" / "000_e376b6ba81a78c64.json"
    gold = json.loads(path.read_text())
    gold["incidents"][0]["killed"] = -3
    path.write_text(json.dumps(gold))
    result = run_cli("gold", "check")
    line = error_line(result.output)
    assert result.exit_code == 2 and "incident 1, field 'killed': -3 is a negative count" in line


def test_a_schema_failing_on_a_multi_line_error_is_one_line_naming_its_line(project: Path) -> None:
    (project / "schemas" / "events.yaml").write_text("rule: {agree: [blok\n")
    result = run_cli("extract", "seeds/", "--out", "runs/x")
    line = error_line(result.output)
    assert result.exit_code == 2 and "schemas/incident.py: failed to import: ParserError" in line
    assert "(at line " in line
    assert result.output.strip().splitlines()[-1] == line  # nothing of the YAML error below it


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["score", "RUN", "--min-f1", "nan"], "--min-f1"),
        (["score", "RUN", "--min-similarity", "nan"], "--min-similarity"),
        (["events", "RUN", "--threshold", "nan"], "--threshold"),
        (["extract", "seeds/", "--timeout", "inf", "--out", "runs/t"], "--timeout"),
        (["extract", "seeds/", "--max-cost", "nan", "--out", "runs/t"], "--max-cost"),
    ],
)
def test_nan_and_inf_options_are_refused(seed_run: Path, args: list[str], option: str) -> None:
    result = run_cli(*[str(seed_run) if a == "RUN" else a for a in args])
    assert result.exit_code == 2 and f"Invalid value for '{option}'" in result.output
    assert "is not a finite number" in result.output


def test_a_nan_setting_is_refused(project: Path) -> None:
    from tests.test_silent_cases import configure

    configure(project, "max_wait = nan")
    result = run_cli("extract", "seeds/", "--out", "runs/x")
    assert result.exit_code == 2 and "'max_wait': Input should be a finite number" in error_line(result.output)
