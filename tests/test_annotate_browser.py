"""The annotate page in real Chromium (Playwright for Python driving the system chromium; no
browser download): a person selects a sentence, adds an incident, edits fields, reloads — and
the file on disk is what they made, and `llmx score` scores it; two pages on one file lose
nothing; stopping the server mid-edit loses nothing the page showed as saved, and what was not
saved yet is sent when the server is back.

These tests skip without chromium (or playwright) unless LLMX_REQUIRE_BROWSER=1 (CI), as
tests/test_viewer.py does. LLMX_ANNOTATE_SCREENSHOT=PATH keeps a screenshot of the page (that is
how docs/annotate.png is made).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmx.app.gold.annotate_server import AnnotateServer
from llmx.app.gold.annotation import AnnotationSession
from llmx.inputs.config import load_settings
from tests.helpers import ROOT, run_cli

ARTICLE = "002_3967b8add1cdc5f9"
SENTENCE = "In retaliation for the attacks, Washington bombed sites in Syria linked to Iran."


def _required(why: str) -> None:
    if os.environ.get("LLMX_REQUIRE_BROWSER") == "1":
        pytest.fail(f"LLMX_REQUIRE_BROWSER=1 but {why}")
    pytest.skip(why)


@pytest.fixture
def browser(drafts: Path) -> Iterator[Any]:
    """Chromium, started after the run and the drafts: Playwright's driver holds an event loop
    in this thread while it runs, and `llmx extract` runs its own."""
    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if chromium is None:
        _required("chromium is not installed (apt-get install chromium); the browser tests need it")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _required("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def drafts(seed_run: Path) -> Path:
    assert run_cli("gold", "draft", "runs/r1", "--out", "drafts").exit_code == 0  # as a person types it
    # The page's work starts from one drafted incident, whatever the recordings drafted (the
    # strategy decides how many): the cards the tests address are then known.
    path = Path("drafts") / f"{ARTICLE}.json"
    draft = json.loads(path.read_text(encoding="utf-8"))
    draft["incidents"] = draft["incidents"][:1]
    path.write_text(json.dumps(draft, indent=2, ensure_ascii=False), encoding="utf-8")
    return Path("drafts")


@pytest.fixture
def server(seed_run: Path, drafts: Path) -> Iterator[str]:
    session = AnnotationSession.open(Path("runs/r1"), load_settings(), drafts)
    running = AnnotateServer(session, 0)
    threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield running.url
    running.shutdown()
    running.server_close()


def open_page(browser: Any, url: str, article: str = ARTICLE) -> Any:
    page = browser.new_context(viewport={"width": 1360, "height": 860}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    page.goto(f"{url}#{article}")
    page.wait_for_selector("body[data-ready='1']")
    return page


def saved(page: Any) -> None:
    """Wait until every edit of the page is answered and saved."""
    page.wait_for_function(
        "() => !llmxAnnotate.queue.length && !llmxAnnotate.sending"
        " && document.getElementById('state').className == 'saved'"
    )


def answered(page: Any) -> None:
    page.wait_for_function("() => !llmxAnnotate.queue.length && !llmxAnnotate.sending")


def set_text(page: Any, card: int, name: str, value: str) -> None:
    field = page.locator(f'.card[data-i="{card}"] [name="{name}"]')
    field.fill(value)
    field.press("Tab")  # a change is committed when the person leaves the field


def select_with_mouse(page: Any, sentence: str) -> None:
    """Drag the mouse over ``sentence`` in the article, as a person selects it."""
    box = page.evaluate(
        """(sentence) => {
        const text = document.getElementById("text"), at = text.textContent.indexOf(sentence);
        const walker = document.createTreeWalker(text, NodeFilter.SHOW_TEXT);
        const range = (offset) => {  // one character of the article
          walker.currentNode = text;
          let pos = 0, node;
          while ((node = walker.nextNode())) {
            if (offset < pos + node.length) {
              const r = document.createRange(); r.setStart(node, offset - pos); r.setEnd(node, offset - pos + 1);
              return r;
            }
            pos += node.length;
          }
        };
        text.scrollIntoView({block: "start"});  // the page, then the article's own scroll, to the sentence
        text.scrollTop += range(at).getBoundingClientRect().top - text.getBoundingClientRect().top - 80;
        const first = range(at).getClientRects()[0], last = range(at + sentence.length - 1).getClientRects()[0];
        return {start: {x: first.left + 1, y: first.top + first.height / 2},
                end: {x: last.right - 1, y: last.top + last.height / 2}};
    }""",
        sentence,
    )
    page.mouse.move(box["start"]["x"], box["start"]["y"])
    page.mouse.down()
    page.mouse.move(box["end"]["x"], box["end"]["y"], steps=8)
    page.mouse.up()
    assert page.evaluate("() => getSelection().toString()") == sentence


def on_disk(drafts: Path, article: str = ARTICLE) -> dict[str, Any]:
    return json.loads((drafts / f"{article}.json").read_text(encoding="utf-8"))


def test_select_add_edit_reload_and_the_file_is_what_the_person_made(browser: Any, server: str, drafts: Path) -> None:
    page = open_page(browser, server)
    drafted = on_disk(drafts)["incidents"][0]
    page.keyboard.press("a")  # accept the drafted incident
    saved(page)
    set_text(page, 0, "killed", "three")  # refused in the page, with the reason; never written
    answered(page)
    assert "valid integer" in page.locator('.card[data-i="0"] .err').inner_text()
    assert page.locator('.card[data-i="0"] [name="killed"]').input_value() == "three"
    assert on_disk(drafts)["incidents"][0]["killed"] == drafted["killed"]
    set_text(page, 0, "killed", "2")
    saved(page)
    select_with_mouse(page, SENTENCE)
    page.locator("#add-sel").click()
    saved(page)
    page.locator('.card[data-i="1"] select[name="weapon"]').select_option(label="air/drone strike")
    saved(page)
    set_text(page, 1, "location", "Syria")
    saved(page)
    set_text(page, 1, "attacker", "Washington")
    saved(page)
    page.locator('.card[data-i="1"] input.optional').check()
    saved(page)
    event = page.locator('.card[data-i="1"] input.event')
    event.fill("us-strikes-syria")
    event.press("Escape")  # leaves the field (a change) and gives the keys back to the page
    saved(page)
    page.keyboard.press("r")  # mark the file reviewed
    saved(page)
    if target := os.environ.get("LLMX_ANNOTATE_SCREENSHOT"):  # both highlights and the new card in view
        page.evaluate(
            """() => { document.querySelector('#text mark[data-incident="1"]').scrollIntoView({block: "center"});
                       document.getElementById("work").scrollTop = 0; }"""
        )
        page.screenshot(path=target)
    page.locator("#agree-btn").click()  # the reviewed file against the run it was drafted from
    page.wait_for_selector("#alpha")
    panel = page.locator("#agree").inner_text()
    assert "1 article(s) in both" in panel and "Krippendorff" in panel and "intercepted" in panel
    page.keyboard.press("Escape")
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#file-status").inner_text() == "reviewed"
    assert page.locator('.card[data-i="1"] [name="location"]').input_value() == "Syria"
    assert page.locator('.card[data-i="0"] [name="killed"]').input_value() == "2"
    gold = on_disk(drafts)
    assert gold["status"] == "reviewed"
    assert gold["incidents"][0] == {**{k: v for k, v in drafted.items() if k != "pending"}, "killed": 2}
    added = gold["incidents"][1]
    assert added["evidence"] == SENTENCE
    assert (added["weapon"], added["location"], added["attacker"]) == ("air/drone strike", "Syria", "Washington")
    assert (added["optional"], added["event"]) == (True, "us-strikes-syria")
    assert page.errors == []
    check = run_cli("gold", "check", drafts)
    assert check.exit_code == 0, check.output
    scored = json.loads(run_cli("score", "runs/r1", "--gold", drafts, "--json").output)
    assert list(scored["articles"]) == [ARTICLE] and scored["gold_drafts_left_out"] == sorted(
        p.stem for p in drafts.glob("*.json") if p.stem != ARTICLE
    )
    counts = scored["articles"][ARTICLE]
    assert counts["matched"] + counts["missed"] >= 1  # the required incident is scored


def test_two_pages_on_one_file_lose_nothing(browser: Any, server: str, drafts: Path) -> None:
    a, b = open_page(browser, server), open_page(browser, server)
    set_text(a, 0, "location", "Abu Ghraib")
    saved(a)
    set_text(b, 0, "target", "a vehicle")  # b has not seen a's edit: another field, applied on top
    saved(b)
    assert b.locator('.card[data-i="0"] [name="location"]').input_value() == "Abu Ghraib"
    set_text(a, 0, "injured", "5")
    saved(a)
    set_text(b, 0, "injured", "6")  # the same field a changed: refused, both values shown, b's kept
    answered(b)
    problem = b.locator('.card[data-i="0"] .err').inner_text()
    assert "another tab" in problem and "5" in problem and "6" in problem
    assert b.locator('.card[data-i="0"] [name="injured"]').input_value() == "6"
    incident = on_disk(drafts)["incidents"][0]
    assert (incident["location"], incident["target"], incident["injured"]) == ("Abu Ghraib", "a vehicle", 5)
    b.locator('.card[data-i="0"] button.mine').click()  # the person decides: theirs wins
    saved(b)
    assert on_disk(drafts)["incidents"][0]["injured"] == 6
    assert on_disk(drafts)["incidents"][0]["location"] == "Abu Ghraib"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_cli_server(port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "llmx", "annotate", "runs/r1", "--gold", "drafts", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        assert process.poll() is None, process.communicate()[0]
        time.sleep(0.1)
    process.kill()
    raise AssertionError("llmx annotate did not start")


def test_stopping_the_server_mid_edit_loses_nothing(browser: Any, drafts: Path) -> None:
    port = free_port()
    process = start_cli_server(port)
    try:
        page = open_page(browser, f"http://127.0.0.1:{port}/")
        set_text(page, 0, "location", "Mosul")
        saved(page)
        process.send_signal(signal.SIGTERM)  # stopped as a person or a system stops it
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
        assert "every change the page showed as saved" in output
        assert on_disk(drafts)["incidents"][0]["location"] == "Mosul"
        set_text(page, 0, "target", "a convoy")  # the server is gone: kept in the page, shown as not saved
        page.wait_for_function("() => document.getElementById('state').textContent.includes('not reachable')")
        assert "kept in this page" in page.locator("#banner").inner_text()
        assert on_disk(drafts)["incidents"][0]["target"] != "a convoy"
        process = start_cli_server(port)  # back: the page sends what it kept
        saved(page)
        incident = on_disk(drafts)["incidents"][0]
        assert (incident["location"], incident["target"]) == ("Mosul", "a convoy")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=30)
