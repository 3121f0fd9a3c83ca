"""The live smoke test: the real local model, end to end, with no cassette to fall back on.

It runs when the local server is installed (`llmx local install`); CI sets LLMX_REQUIRE_LIVE=1
so that a missing install fails instead of skipping.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmx.inputs.schemas import load_schema
from llmx.model import local_server as local
from tests.helpers import ROOT, run_cli

installed = local.server_binary().is_file() and local.model_path().is_file()


@pytest.fixture
def local_server() -> Iterator[None]:
    """Leave the machine as found: stop the server if this test started it."""
    was_running = local.status() is not None
    yield
    if not was_running:
        local.down()


@pytest.mark.live
@pytest.mark.skipif(not installed and not os.environ.get("LLMX_REQUIRE_LIVE"), reason="run `llmx local install` first")
def test_live_extract_on_the_local_model(project: Path, live_requests: None, local_server: None) -> None:
    article = project / "short.txt"
    article.write_text((ROOT / "tests" / "data" / "short.txt").read_text())
    result = run_cli("extract", str(article), "--local", "--record", "--cassettes", "live-tape", "--out", "runs/live")
    assert result.exit_code == 0, result.output
    (line,) = (project / "runs" / "live" / "extractions.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record["status"] == "ok" and record["provenance"]["live_calls"] >= 1
    assert record["incidents"], "the model found no incident in a one-incident article"
    schema = load_schema("incident", project / "schemas")
    for item in record["incidents"]:
        schema.record_model.model_validate(item["record"])
        assert item["grounding"]["status"] != "ungrounded", item
    tapes = sorted((project / "live-tape" / "short").glob("*.json"))  # mark, fill(s), maybe confirm
    assert 1 <= len(tapes) <= record["provenance"]["live_calls"]
    for tape in tapes:
        assert json.loads(tape.read_text())["served_by"]["model_sha256"] == local.MODEL_SHA256
