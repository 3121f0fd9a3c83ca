"""The promise "changing a schema is an edit to a file, never to code", kept: a new nullable field
in schemas/incident.py extracts (fake model), scores against the unchanged gold and exports."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from llmx.testing.stub_server import StubServer
from tests.helpers import recordings_current, run_cli

NEW_FIELD = """    reported_by: str | None = Field(
        description="Who the article cites for the attack (a ministry, a group, witnesses); null if no one.",
        json_schema_extra={"llmx": {"match": "fuzzy"}},
    )
"""


def add_field(project: Path) -> None:
    schema = project / "schemas" / "incident.py"
    text = schema.read_text()
    anchor = "    evidence: str = Field("
    assert anchor in text
    schema.write_text(text.replace(anchor, NEW_FIELD + anchor))


def test_a_new_schema_field_needs_no_code_and_invalidates_no_gold(project: Path, live_requests: None) -> None:
    add_field(project)
    assert not recordings_current(project)  # the cassettes answer the old schema: tests about them skip
    with StubServer() as server:
        extracted = run_cli(
            "extract", "seeds/", "--base-url", server.base_url, "--cassettes", "tape", "--out", "runs/n"
        )
        sent = [body["response_format"]["json_schema"]["schema"] for body in server.requests]
    assert extracted.exit_code == 0, extracted.output
    assert any("reported_by" in json.dumps(schema) for schema in sent)  # the fill requests ask for the new field
    lines = [json.loads(line) for line in (project / "runs" / "n" / "extractions.jsonl").read_text().splitlines()]
    assert all("reported_by" in item["record"] for line in lines for item in line["incidents"])

    checked = run_cli("gold", "check")
    assert checked.exit_code == 0 and "not annotated" in checked.output and "reported_by" in checked.output

    scored = json.loads(run_cli("score", "runs/n", "--json").output)
    assert scored["fields"]["reported_by"]["f1"] is None  # not annotated in gold: not scored, not a free 1.0
    assert scored["incidents"]["tp"] + scored["incidents"]["fn"] >= 10

    exported = run_cli("export", "runs/n")
    assert exported.exit_code == 0
    assert "reported_by" in next(csv.reader(io.StringIO(exported.output)))
