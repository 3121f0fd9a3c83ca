"""Every cassette backend behaves alike (store, load, iterate, exists, a miss that names what
changed, secrets scrubbed on write), and `llmx cassettes pack|unpack|prune` moves cassettes
between them without changing one replayed answer."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from llmx.cassettes.backend import CassetteBackend
from llmx.cassettes.sqlite_store import FILE_NAME
from llmx.cassettes.store import Cassette, canonical_json, scrubbed
from llmx.cassettes.stores import open_store
from llmx.errors import CassetteError
from tests.helpers import run_cli

BASE = {"model": "m", "messages": [{"role": "user", "content": "Article one"}], "temperature": 0.0}
KINDS = ["folder", "sqlite"]


def cassette(
    article_id: str = "a1", content: str = "Article one", response: dict[str, object] | None = None
) -> Cassette:
    kwargs = {**BASE, "messages": [{"role": "user", "content": content}]}
    text, key = canonical_json(kwargs, "json_schema")
    return Cassette(
        key=key,
        article_id=article_id,
        attempt=0,
        recorded_at="t",
        latency_s=1.5,
        served_by={"base_url": "http://127.0.0.1:1/v1"},
        request=json.loads(text),
        response=response or {"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": "{}"}}]},
    )


@pytest.mark.parametrize("kind", KINDS)
def test_every_backend_stores_loads_iterates_and_deletes(tmp_path: Path, kind: str) -> None:
    store: CassetteBackend = open_store(kind, tmp_path)
    one, two = cassette(), cassette("a2", "Article two")
    assert store.load_answer("a1", one.key) is None and not store.exists("a1", one.key)
    store.save(one)
    store.save(two)
    assert store.load("a1", one.key) == scrubbed(one)  # as written: the allow-list applied
    answer = store.load_answer("a1", one.key)
    assert answer is not None and answer.latency_s == 1.5 and answer.response == scrubbed(one).response
    assert store.exists("a2", two.key) and not store.exists("a1", two.key)  # keyed by article too
    assert sorted(store.recorded_keys()) == [("a1", one.key), ("a2", two.key)]
    assert [c.article_id for c in store.iterate()] == ["a1", "a2"]
    assert store.recorded_for("a2") == [scrubbed(two)]
    store.delete("a1", one.key)
    assert not store.exists("a1", one.key) and store.exists("a2", two.key)
    store.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_miss_names_the_change_against_the_nearest_recorded_request(tmp_path: Path, kind: str) -> None:
    store = open_store(kind, tmp_path)
    store.save(cassette(content="Extract incidents from the article."))
    changed = json.loads(
        canonical_json({**BASE, "messages": [{"role": "user", "content": "Extract ALL incidents."}]}, "m")[0]
    )
    miss = store.miss("a1", 0, changed)
    assert "user prompt text at char 8: 'Extract incidents" in str(miss)
    assert str(tmp_path) in str(miss)
    assert "no cassette recorded for this article" in str(store.miss("other", 0, changed))


@pytest.mark.parametrize("kind", KINDS)
def test_secrets_are_scrubbed_on_write_in_every_backend(tmp_path: Path, kind: str) -> None:
    """Whoever builds the cassette, the backend keeps the response's allow-list and no URL credential."""
    leaky = cassette(response={"choices": [], "echo": {"authorization": "Bearer sk-live-SECRET"}})
    leaky.served_by = {"base_url": "https://user:hunter2pass@api.example/v1?key=sk-live-SECRET"}
    store = open_store(kind, tmp_path)
    store.save(leaky)
    store.close()
    stored = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    if kind == "sqlite":  # the blobs are compressed: look inside them too
        rows = sqlite3.connect(tmp_path / FILE_NAME).execute("SELECT answer, rest FROM cassettes").fetchall()
        stored += [zlib.decompress(blob) for row in rows for blob in row]
    assert stored and not any(b"SECRET" in data or b"hunter2pass" in data for data in stored)
    loaded = open_store(kind, tmp_path).load("a1", leaky.key)
    assert loaded is not None and "echo" not in loaded.response


def test_a_corrupt_sqlite_row_names_the_store_and_the_article(tmp_path: Path) -> None:
    store = open_store("sqlite", tmp_path)
    saved = cassette()
    store.save(saved)
    store.close()
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        db.execute("UPDATE cassettes SET answer = x'00ff'")
    with pytest.raises(CassetteError, match=r"cassettes.sqlite3#a1/.*corrupt cassette"):
        open_store("sqlite", tmp_path).load_answer("a1", saved.key)


WRITER = """
import sys
from pathlib import Path
from llmx.cassettes.stores import open_store
from tests.test_cassette_stores import cassette
store = open_store("sqlite", Path(sys.argv[1]))
for n in range(100000):
    c = cassette(f"a{n}", f"Article {n}")
    store.save(c)
    print(c.article_id, c.key, flush=True)
"""


def test_a_sqlite_writer_killed_mid_write_loses_nothing_it_acknowledged(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    acked = [proc.stdout.readline().split() for _ in range(300)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = open_store("sqlite", tmp_path)
    assert all(store.load_answer(article_id, key) is not None for article_id, key in acked)
    assert sqlite3.connect(tmp_path / FILE_NAME).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert sum(1 for _ in store.iterate()) >= len(acked)


def _results(run: Path) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in (run / "extractions.jsonl").read_text().splitlines()]
    for line in lines:  # where each answer came from differs by backend; the answers must not
        line["provenance"].pop("latency_s")
    return sorted(lines, key=lambda line: str(line["article_id"]))


def test_pack_replays_the_same_results_from_sqlite_and_unpack_prune_round_trip(
    project: Path, shipped_recordings: None
) -> None:
    assert run_cli("extract", "seeds/", "--out", "runs/folder").exit_code == 0
    shipped = len(list((project / "cassettes").rglob("*.json")))
    packed = run_cli("cassettes", "pack", "--remove")
    assert packed.exit_code == 0 and f"packed {shipped} cassette(s)" in packed.output
    assert not list((project / "cassettes").rglob("*.json"))  # moved, not copied
    replay = run_cli("extract", "seeds/", "--cassette-store", "sqlite", "--out", "runs/sqlite")
    assert replay.exit_code == 0, replay.output
    assert _results(project / "runs/folder") == _results(project / "runs/sqlite")
    # only what the seed run replays is kept; unpacked, it is the seeds' readable fixture folder again
    pruned = run_cli("cassettes", "prune", "runs/sqlite", "--store", "sqlite")
    assert pruned.exit_code == 0 and "deleted" in pruned.output
    assert run_cli("cassettes", "unpack", "runs/sqlite", "--to", "fixtures").exit_code == 0
    assert {p.parent.name for p in (project / "fixtures").rglob("*.json")} == {
        p.stem for p in (project / "seeds").glob("*.txt")
    }
    assert run_cli("cassettes", "unpack", "runs/sqlite").exit_code == 0
    folders = {p.parent.name for p in (project / "cassettes").rglob("*.json")}
    assert folders == {p.stem for p in (project / "seeds").glob("*.txt")}
    again = run_cli("extract", "seeds/", "--out", "runs/unpacked")
    assert again.exit_code == 0 and _results(project / "runs/unpacked") == _results(project / "runs/folder")


def test_a_miss_in_the_sqlite_store_names_what_changed(project: Path, shipped_recordings: None) -> None:
    assert run_cli("cassettes", "pack", "--remove").exit_code == 0
    prompt = project / "prompts" / "incident.jinja"  # what the default strategy asks
    prompt.write_text(prompt.read_text().replace("You extract", "You now extract", 1))
    result = run_cli("extract", "seeds/", "--cassette-store", "sqlite", "--replay", "--out", "runs/x")
    assert result.exit_code == 3
    assert f"no cassette in {project / 'cassettes' / FILE_NAME}" in result.output.replace("\n", "")
    assert "system prompt text at char" in result.output


def test_prune_needs_a_run_that_names_cassettes(project: Path) -> None:
    (project / "runs" / "empty").mkdir(parents=True)
    (project / "runs" / "empty" / "extractions.jsonl").write_text("")
    result = run_cli("cassettes", "prune", "runs/empty")
    assert result.exit_code == 2 and "nothing is pruned" in result.output
    assert list((project / "cassettes").rglob("*.json"))


def test_recording_into_the_sqlite_store_then_replaying(project: Path, live_requests: None) -> None:
    from llmx.testing.stub_server import StubServer

    with StubServer() as server:
        recorded = run_cli(
            "extract",
            "seeds/",
            "--base-url",
            server.base_url,
            "--cassettes",
            "tape",
            "--cassette-store",
            "sqlite",
            "--out",
            "runs/rec",
            "--record",
        )
    assert recorded.exit_code == 0, recorded.output
    assert (project / "tape" / FILE_NAME).is_file() and not list((project / "tape").rglob("*.json"))
    replayed = run_cli(
        "extract", "seeds/", "--cassettes", "tape", "--cassette-store", "sqlite", "--replay", "--out", "runs/rep"
    )
    assert replayed.exit_code == 0, replayed.output
    assert [r["incidents"] for r in _results(project / "runs/rec")] == [
        r["incidents"] for r in _results(project / "runs/rep")
    ]
