"""The annotate server over HTTP, as the page talks to it: every edit validated as `gold check`
validates and written before the answer, stale edits from another tab refused instead of lost,
edits only from its own page. The page itself, in Chromium, is tests/test_annotate_browser.py."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from llmx.app.gold.annotate_server import AnnotateServer
from llmx.app.gold.annotation import AnnotationSession
from llmx.inputs.articles import load_articles
from llmx.inputs.config import load_settings
from tests.helpers import run_cli

ARTICLE = "002_3967b8add1cdc5f9"  # a seed with one incident in the shipped recordings


@dataclass
class Served:
    url: str
    server: AnnotateServer
    run: Path
    gold: Path

    def file(self, article_id: str = ARTICLE) -> Path:
        return self.gold / f"{article_id}.json"

    def get(self, article_id: str = ARTICLE) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}api/article/{article_id}") as response:
            return json.load(response)["article"]

    def post(self, edit: dict[str, Any], article_id: str = ARTICLE, **headers: str) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            f"{self.url}api/article/{article_id}/edit",
            data=json.dumps(edit).encode(),
            headers={"Content-Type": "application/json", **headers},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)


def start(run: Path, gold: Path) -> Served:
    session = AnnotationSession.open(run, load_settings(), gold)
    server = AnnotateServer(session, 0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return Served(server.url, server, run, gold)


def stop(served: Served) -> None:
    served.server.shutdown()
    served.server.server_close()


@pytest.fixture
def served(seed_run: Path) -> Iterator[Served]:
    assert run_cli("gold", "draft", seed_run, "--out", "drafts").exit_code == 0
    # The work starts from one drafted incident, whatever the recordings drafted (the strategy
    # decides how many): the cards the tests address are then known.
    path = Path("drafts") / f"{ARTICLE}.json"
    draft = json.loads(path.read_text(encoding="utf-8"))
    draft["incidents"] = draft["incidents"][:1]
    path.write_text(json.dumps(draft, indent=2, ensure_ascii=False), encoding="utf-8")
    running = start(seed_run, Path("drafts"))
    yield running
    stop(running)


def op(kind: str, inc: dict[str, Any], index: int = 0, **extra: Any) -> dict[str, Any]:
    return {"op": kind, "id": inc["id"], "index": index, "before": inc["data"], **extra}


def test_an_invalid_value_is_refused_with_the_reason_and_nothing_is_written(served: Served) -> None:
    before = served.file().read_bytes()
    inc = served.get()["incidents"][0]
    for field, value, reason in [
        ("killed", "three", "valid integer"),
        ("weapon", "laser", "Input should be 'drone'"),
        ("weapon", None, "drone"),  # weapon is required and not nullable
        ("no_such_field", 1, "no field 'no_such_field'"),
    ]:
        status, body = served.post(op("set", inc, field=field, value=value))
        assert status == 422 and reason in body["error"], (field, body)
        assert body["article"]["incidents"][0]["data"] == inc["data"]
    assert served.file().read_bytes() == before


def test_edits_are_saved_at_once_and_the_file_is_gold_that_scores(served: Served) -> None:
    inc = served.get()["incidents"][0]
    status, body = served.post(op("set", inc, field="killed", value="2"))
    assert status == 200, body
    assert json.loads(served.file().read_text())["incidents"][0]["killed"] == 2  # on disk, as a number
    inc = body["article"]["incidents"][0]
    status, body = served.post({"op": "status", "value": "reviewed"})
    assert status == 422 and "#1 still pending" in body["error"]
    assert served.post(op("accept", inc))[0] == 200
    text = {a.id: a.text for a in load_articles(["seeds/"])}[ARTICLE]
    sentence = text.split(". ")[-1].strip()
    start = text.index(sentence)
    status, body = served.post({"op": "add", "start": start - 1, "end": start + len(sentence), "quote": sentence})
    assert status == 200, body
    added = body["article"]["incidents"][-1]
    assert added["data"]["evidence"] == sentence  # from the article's own text, white space trimmed
    assert added["span"] is not None
    for field, value in (("weapon", "rocket"), ("location", "Baghdad"), ("event", " strike-1 "), ("optional", True)):
        status, body = served.post(op("set", added, 1, field=field, value=value))
        assert status == 200, body
        added = body["article"]["incidents"][1]
    status, body = served.post({"op": "status", "value": "reviewed"})
    assert status == 200, body
    saved = json.loads(served.file().read_text())
    assert saved["status"] == "reviewed" and "pending" not in saved["incidents"][0]
    assert saved["incidents"][1] == {**added["data"], "event": "strike-1", "optional": True}
    assert run_cli("gold", "check", "drafts").exit_code == 0
    scored = json.loads(run_cli("score", served.run, "--gold", "drafts", "--json").output)
    assert list(scored["articles"]) == [ARTICLE]
    assert scored["articles"][ARTICLE]["incidents"]["tp"] + scored["articles"][ARTICLE]["missed"] == 1  # one required


def test_two_tabs_lose_no_edit(served: Served) -> None:
    tab_a, tab_b = served.get(), served.get()  # both read the file, then edit it
    status, body = served.post(op("set", tab_a["incidents"][0], field="location", value="Abu Ghraib"))
    assert status == 200
    status, body = served.post(op("set", tab_b["incidents"][0], field="target", value="a base"))
    assert status == 200, body  # another field: applied on top of tab A's edit
    saved = json.loads(served.file().read_text())["incidents"][0]
    assert (saved["location"], saved["target"]) == ("Abu Ghraib", "a base")
    status, body = served.post(op("set", tab_b["incidents"][0], field="location", value="Baghdad"))
    assert status == 409  # the same field tab A changed: refused, naming both
    assert "'Abu Ghraib'" in body["error"] and "'Baghdad'" in body["error"]
    assert body["article"]["incidents"][0]["data"]["location"] == "Abu Ghraib"  # the page reloads it
    status, body = served.post(op("reject", tab_b["incidents"][0]))
    assert status == 409 and json.loads(served.file().read_text())["incidents"]  # not deleted unseen
    fresh = served.get()["incidents"][0]
    assert served.post(op("set", fresh, field="location", value="Baghdad"))[0] == 200  # seen: now it wins


def test_an_edit_made_before_a_restart_is_applied_after_it(served: Served) -> None:
    inc = served.get()["incidents"][0]
    stop(served)
    again = start(served.run, served.gold)  # new ids: the old one is unknown
    try:
        status, body = again.post(op("set", inc, field="injured", value=4))
        assert status == 200, body  # found by content instead
        assert json.loads(again.file().read_text())["incidents"][0]["injured"] == 4
    finally:
        served.server = again.server


def test_only_its_own_page_can_edit(served: Served) -> None:
    before = served.file().read_bytes()
    inc = served.get()["incidents"][0]
    status, body = served.post(op("set", inc, field="killed", value=9), Origin="http://evil.example")
    assert status == 403 and "only from the annotate page" in body["error"]
    request = urllib.request.Request(f"{served.url}api/articles", headers={"Host": "evil.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 403
    status, _ = served.post(op("set", inc, field="killed", value=9), **{"Content-Type": "text/plain"})
    assert status == 415
    assert served.file().read_bytes() == before
    port = served.server.server_address[1]
    assert served.post(op("set", inc, field="killed", value=9), Origin=f"http://127.0.0.1:{port}")[0] == 200


def test_a_file_broken_on_disk_is_shown_and_never_overwritten(served: Served) -> None:
    served.file().write_text('{"version": 1, "article_id": "' + ARTICLE + '", "schema": "incident", "incidents": [')
    broken = served.file().read_bytes()
    article = served.get()
    assert "not valid JSON" in article["problem"]
    status, body = served.post({"op": "status", "value": "reviewed"})
    assert status == 422 and "not valid JSON" in body["error"]
    assert served.file().read_bytes() == broken


def test_an_article_without_gold_is_drafted_or_started_in_the_page(served: Served) -> None:
    served.file().unlink()
    assert served.get()["exists"] is False
    status, body = served.post({"op": "create", "from": "run"})
    assert status == 200 and body["article"]["status"] == "draft"
    assert body["article"]["incidents"][0]["data"]["pending"] is True
    assert served.post({"op": "create", "from": "empty"})[0] == 409  # it exists now: never replaced


def test_annotate_on_a_port_in_use_is_one_clear_line(seed_run: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_cli("annotate", seed_run, "--port", taken.getsockname()[1])
    assert result.exit_code == 2 and "pass another --port" in result.output and "Traceback" not in result.output


def test_evidence_is_set_from_a_selection_of_the_article(served: Served) -> None:
    text = {a.id: a.text for a in load_articles(["seeds/"])}[ARTICLE]
    sentence = "The vehicle that was hit was part of a caravan of four cars."
    start = text.index(sentence)
    inc = served.get()["incidents"][0]
    status, body = served.post(op("set", inc, field="evidence", start=start, end=start + len(sentence) + 1))
    assert status == 200, body
    assert json.loads(served.file().read_text())["incidents"][0]["evidence"] == sentence
    assert body["article"]["incidents"][0]["span"] == [start, start + len(sentence)]
    status, body = served.post(op("set", body["article"]["incidents"][0], field="evidence", start=5, end=2))
    assert status == 422 and "select the sentence" in body["error"]


def test_two_servers_on_one_gold_folder_lose_no_confirmed_edit(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two `llmx annotate` processes on one gold folder: each edit is applied to the file as the
    other left it (one lock per gold folder, across processes: an flock, which two sessions in
    one process contend for as two processes do), so every edit both servers answered 200 is in
    the file. A slow disk widens the window between reading the file and writing it."""
    import llmx.app.gold.annotation as annotation

    def slow_write(path: Path, text: str | bytes) -> None:
        time.sleep(0.02)
        write(path, text)

    write = annotation.atomic_write
    monkeypatch.setattr(annotation, "atomic_write", slow_write)
    other = start(served.run, served.gold)
    confirmed: list[int] = []
    text = {a.id: a.text for a in load_articles(["seeds/"])}[ARTICLE]
    starts = [i for i, c in enumerate(text) if not c.isspace()][:40]  # 40 distinct selections

    def add_many(server: Served, mine: list[int]) -> None:
        for begin in mine:
            status, body = server.post({"op": "add", "start": begin, "end": len(text)})
            assert status == 200, body
            confirmed.append(status)

    try:
        halves = (starts[0::2], starts[1::2])
        workers = [threading.Thread(target=add_many, args=(s, h)) for s, h in zip((served, other), halves, strict=True)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
    finally:
        stop(other)
    assert len(confirmed) == 40
    assert len(json.loads(served.file().read_text())["incidents"]) == 1 + 40
    assert run_cli("gold", "check", served.gold).exit_code in (0, 1)  # valid JSON gold (drafts pending)
