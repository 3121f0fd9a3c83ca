"""Exports typed from the schema (issue 33): the Parquet and CSV exports of a run have every
schema field as a column, with the schema's type, even when the run found no incident, so two
exports of one schema concatenate; a value that does not fit its column is one line naming it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from llmx.inputs.schemas import load_schema
from llmx.model import live
from llmx.testing.fake_model import always, schema_answer
from llmx.testing.stub_server import StubServer
from tests.helpers import run_cli

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
SCHEMA_FIELDS = list(load_schema("incident", SCHEMAS).record_model.model_fields)


def extract(out: str, records: int, **values: object) -> None:
    with StubServer(script=always(lambda body: schema_answer(body, records=records, **values))) as server:
        args = ["extract", "seeds/", "--base-url", server.base_url, "--cassettes", f"tape-{out}"]
        args += ["--out", f"runs/{out}"]
        result = run_cli(*args, "--strategy", "single", "--format", "parquet")
    assert result.exit_code == 0, result.output


@pytest.fixture
def two_runs(project: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setattr(live, "ALLOW_MODEL_REQUESTS", True)
    extract("some", 1, killed=3, intercepted=True)
    extract("none", 0)
    return project / "runs" / "some", project / "runs" / "none"


def test_parquet_columns_and_types_come_from_the_schema_even_in_an_empty_run(two_runs: tuple[Path, Path]) -> None:
    some, none = two_runs
    for run in (some, none):
        assert run_cli("export", run, "--format", "parquet", "-o", f"{run.name}.parquet").exit_code == 0
    tables = [pq.read_table(f"{run.name}.parquet") for run in (some, none)]
    for table in [*tables, pq.read_table(none / "extractions.parquet")]:  # extract --format too
        assert set(SCHEMA_FIELDS) <= set(table.column_names)
        assert table.schema.field("killed").type == pa.int64()
        assert table.schema.field("intercepted").type == pa.bool_()
        assert table.schema.field("weapon").type == pa.string() and table.schema.field("date").type == pa.string()
    assert tables[0].schema == tables[1].schema
    both = pa.concat_tables(tables)
    assert both.num_rows == tables[0].num_rows + tables[1].num_rows
    assert tables[1].column("killed").null_count == tables[1].num_rows  # no incident: one empty row each


def test_csv_headers_of_one_schema_are_equal(two_runs: tuple[Path, Path]) -> None:
    headers = []
    for run in two_runs:
        result = run_cli("export", run)
        assert result.exit_code == 0, result.output
        headers.append(next(csv.reader(io.StringIO(result.output))))
    assert headers[0] == headers[1] and headers[0][3 : 3 + len(SCHEMA_FIELDS)] == SCHEMA_FIELDS


def test_a_count_too_big_for_its_column_in_an_old_run_is_one_line(two_runs: tuple[Path, Path]) -> None:
    some = two_runs[0]
    lines = [json.loads(line) for line in (some / "extractions.jsonl").read_text().splitlines()]
    lines[0]["incidents"][0]["record"]["killed"] = 10**20  # written by an llmx that did not bound counts
    (some / "extractions.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = run_cli("export", some, "--format", "parquet", "-o", "big.parquet")
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1 and f"article {lines[0]['article_id']}, field killed" in line, line
    assert "Traceback" not in result.output and not Path("big.parquet").exists()
