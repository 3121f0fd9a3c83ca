"""Cassette store damage is found before the first request (issue 33): a store that is no
database, a damaged one, or a cassette folder that is a file is one line and exit 2, with no
request sent, instead of one "invalid output" per article blaming the model; ``cassettes
unpack`` and ``prune`` on a damaged store are one line too, never a traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from llmx.cassettes.sqlite_store import FILE_NAME
from llmx.model import live
from llmx.testing.stub_server import StubServer
from tests.helpers import run_cli


def one_line(result: object, needle: str) -> str:
    output = getattr(result, "output", "")
    assert getattr(result, "exit_code", None) == 2, output
    lines = [line for line in output.strip().splitlines() if line.startswith("error")]
    assert len(lines) == 1 and needle in lines[0], output
    assert "Traceback" not in output and "invalid_output" not in output
    return lines[0]


def extract(*extra: str) -> tuple[object, int]:
    with StubServer() as server:
        result = run_cli("extract", "seeds/", "--base-url", server.base_url, "--auto", *extra)
    return result, len(server.requests)


@pytest.fixture
def recorded(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A run recorded into a SQLite store (the stub answers), its WAL folded into the file."""
    monkeypatch.setattr(live, "ALLOW_MODEL_REQUESTS", True)
    result, _ = extract("--cassette-store", "sqlite", "--cassettes", "tape", "--out", "runs/r")
    assert result.exit_code == 0, getattr(result, "output", "")  # type: ignore[attr-defined]
    store = project / "tape" / FILE_NAME
    with sqlite3.connect(store) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return store


def damage(store: Path) -> None:
    data = bytearray(store.read_bytes())
    data[100:] = b"\xa5" * (len(data) - 100)  # the header survives, every page after it is noise
    store.write_bytes(bytes(data))


def test_a_store_that_is_no_database_is_refused_before_any_request(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "ALLOW_MODEL_REQUESTS", True)
    (project / "tape").mkdir()
    (project / "tape" / FILE_NAME).write_text("these are notes, not a database\n")
    result, requests = extract("--cassette-store", "sqlite", "--cassettes", "tape", "--out", "runs/a")
    one_line(result, f"tape/{FILE_NAME}")
    assert requests == 0


def test_a_damaged_store_is_refused_before_any_request(recorded: Path) -> None:
    damage(recorded)
    result, requests = extract("--cassette-store", "sqlite", "--cassettes", "tape", "--out", "runs/b")
    assert "damaged cassette store" in one_line(result, FILE_NAME)
    assert requests == 0


def test_a_cassette_folder_that_is_a_file_is_refused_before_any_request(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "ALLOW_MODEL_REQUESTS", True)
    (project / "tape").write_text("not a folder\n")
    result, requests = extract("--cassettes", "tape", "--out", "runs/c")
    assert "not a cassette folder" in one_line(result, "tape")
    assert requests == 0
    replay = run_cli("extract", "seeds/", "--cassettes", "tape", "--out", "runs/d")  # no model at all
    assert "not a cassette folder" in one_line(replay, "tape")


def test_unpack_and_prune_of_a_damaged_store_are_one_line(recorded: Path) -> None:
    damage(recorded)
    one_line(run_cli("cassettes", "unpack", "--cassettes", "tape", "--to", "out"), FILE_NAME)
    one_line(run_cli("cassettes", "prune", "runs/r", "--store", "sqlite", "--cassettes", "tape"), FILE_NAME)
