"""Model output is untrusted text: terminal escape codes in it are printed as visible escapes by
every report, and CSV cells that a spreadsheet would run as a formula are neutralised (OWASP)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from llmx.cli.safe_text import markup, plain
from llmx.runs.export import safe_cell
from llmx.testing.fake_model import Reply, schema_answer
from llmx.testing.stub_server import StubServer
from tests.helpers import extract_args, run_cli

SEED = "seeds/000_e376b6ba81a78c64.txt"
# set the window title, clear the screen, a one-byte CSI, a right-to-left override, rich markup
HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eevil[/][bold]"


def raw_control(text: str) -> list[str]:
    return [c for c in ("\x1b", "\x07", "\x9b", "\u202e") if c in text]


def test_terminal_escapes_in_model_output_are_shown_not_obeyed(project: Path, live_requests: None) -> None:
    def hostile(body: dict[str, Any], number: int) -> Reply:
        return schema_answer(body, target=HOSTILE, country=HOSTILE)

    with StubServer(script=hostile) as server:
        result = run_cli(*extract_args(server.base_url, "runs/h", inputs=SEED))
    assert result.exit_code == 0, result.output
    line = json.loads((project / "runs/h/extractions.jsonl").read_text().splitlines()[0])
    assert line["incidents"][0]["record"]["target"] == HOSTILE  # the data keeps it as it came
    score = run_cli("score", "runs/h", "--details")
    assert score.exit_code == 0, score.output
    assert raw_control(score.output) == [] and "\\x1b]0;pwned" in score.output
    compare = run_cli("compare", "runs/h", "runs/h")
    assert compare.exit_code == 0 and raw_control(compare.output) == []


def test_a_refusal_with_escapes_is_one_visible_line(project: Path, live_requests: None) -> None:
    with StubServer(script=lambda body, n: Reply(fault="refusal", content=HOSTILE)) as server:
        result = run_cli(*extract_args(server.base_url, "runs/r", inputs=SEED))
    assert result.exit_code == 1 and "failed 000_e376b6ba81a78c64 (refused)" in result.output
    assert raw_control(result.output) == []


@pytest.mark.parametrize("value", ['=HYPERLINK("http://x.example","y")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_start_a_formula_are_neutralised(project: Path, live_requests: None, value: str) -> None:
    with StubServer(script=lambda body, n: schema_answer(body, target=value)) as server:
        result = run_cli(*extract_args(server.base_url, "runs/c", "--format", "csv", inputs=SEED))
    assert result.exit_code == 0, result.output
    exported = run_cli("export", "runs/c").output
    with open(project / "runs/c/extractions.csv", newline="", encoding="utf-8") as written:
        saved = written.read()
    for text in (exported, saved):
        (row,) = list(csv.DictReader(io.StringIO(text)))
        assert row["target"] == "'" + value
    line = json.loads((project / "runs/c/extractions.jsonl").read_text().splitlines()[0])
    assert line["incidents"][0]["record"]["target"] == value  # the data itself is unchanged


def test_the_neutralisers() -> None:
    assert plain("a\x1b[2Jb\u202ec") == "a\\x1b[2Jb\\u202ec" and plain("tab\tand\nnewline") == "tab\tand\nnewline"
    assert markup("[bold]x[/]") == "\\[bold]x\\[/]"
    assert safe_cell("=1") == "'=1" and safe_cell("a=1") == "a=1" and safe_cell(-1) == -1
