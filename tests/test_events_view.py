"""The events page (``llmx view RUN --events``): the renderer, the command, and the page as headless
chromium sees it (skipped without chromium unless LLMX_REQUIRE_BROWSER=1, like tests/test_viewer.py)."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

from llmx.core.event_scoring import score_events
from llmx.inputs.articles import load_articles
from llmx.runs.events import DisputedValue, Event, EventReport, ReportKey
from llmx.viewer.events_page import render_events
from tests.helpers import run_cli
from tests.test_events import GROUPS, INPUTS, oracle_run
from tests.test_viewer import chromium


class EventsPage(HTMLParser):
    """Per event: its flags, whether hidden, its reports' marked text, its disputed fields."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.events: dict[str, dict[str, object]] = {}
        self.marks: dict[tuple[str, str, int], str] = {}  # (event, article, incident) → marked text
        self.event: str | None = None
        self.report: tuple[str, int] | None = None
        self.in_mark = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "section" and "ev" in classes:
            self.event = str(a["data-id"])
            flags = [f for f in str(a["data-flags"]).split(",") if f]
            self.events[self.event] = {"flags": flags, "hidden": "hidden" in a, "disputed": [], "reports": []}
        elif tag == "dd" and "disp" in classes and self.event:
            self.events[self.event]["disputed"].append(a["data-field"])  # type: ignore[attr-defined]
        elif tag == "div" and "rep" in classes and self.event:
            self.report = (str(a["data-article"]), int(str(a["data-incident"])))
            self.events[self.event]["reports"].append(self.report)  # type: ignore[attr-defined]
        elif tag == "mark":
            self.in_mark += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark":
            self.in_mark -= 1

    def handle_data(self, data: str) -> None:
        if self.in_mark and self.event and self.report:
            key = (self.event, *self.report)
            self.marks[key] = self.marks.get(key, "") + data


def test_the_renderer_escapes_marks_and_flags() -> None:
    text = "Intro. A <b>drone</b> hit Erbil & more. Tail."
    quote = "A <b>drone</b> hit Erbil & more."
    start = text.index(quote)
    reports = [
        EventReport(article_id=aid, incident=0, evidence=quote, start=start, end=start + len(quote), grounding="exact")
        for aid in ("x", "y")
    ]
    event = Event(
        event_id="ev-1",
        fields={"location": "Erbil <i>", "killed": 2},
        reports=reports,
        disputes={"killed": [DisputedValue(value=2, reports=[ReportKey(article_id="x", incident=0)]),
                             DisputedValue(value=3, reports=[ReportKey(article_id="y", incident=0)])]},
    )  # fmt: skip
    lonely = Event(event_id="ev-2", fields={"location": None}, reports=[EventReport(article_id="z", incident=0)])
    score = score_events([(("x", 0), 1, "g1"), (("y", 0), 1, "g2"), (("z", 0), 2, "g2")])
    html = render_events([lonely, event], {"x": text, "y": text}, "run <script>", ["location", "killed"], score)
    assert "<b>drone</b>" not in html and "Erbil &lt;i&gt;" in html and "run <script>" not in html
    page = EventsPage(html)
    assert list(page.events) == ["ev-1", "ev-2"]  # several reports first
    assert page.events["ev-1"]["flags"] == ["several", "disputed", "false merge", "missed merge"]
    assert page.events["ev-1"]["disputed"] == ["killed"] and "3 <span>← y #1</span>" in html.replace("&lt;", "<")
    assert page.marks[("ev-1", "x", 0)] == quote and page.marks[("ev-1", "y", 0)] == quote
    assert "false merge: gold has x #1 and y #1 in two events" in html
    assert "missed merge: gold has y #1 in one event with z #1 (ev-2)" in html
    assert "Article text not available" in html  # z has no text


def test_view_events_writes_the_page(project: Path) -> None:
    run = oracle_run(project, "runs/v")
    shown = run_cli("view", "runs/v", "--events")
    assert shown.exit_code == 0, shown.output
    assert shown.output.strip().endswith("runs/v/events.html")
    page = EventsPage((run / "events.html").read_text())
    assert not (run / "events.jsonl").exists()  # the page fuses the run itself; events.jsonl is `llmx events`'
    several = {frozenset(a for a, _ in e["reports"]) for e in page.events.values() if len(e["reports"]) > 1}
    assert several == {frozenset(g) for g in GROUPS.values()}


def test_browser_shows_reports_side_by_side_with_evidence_marked(project: Path, tmp_path: Path) -> None:
    run = oracle_run(project, "runs/b")
    assert run_cli("view", "runs/b", "--events").exit_code == 0
    assert run_cli("events", "runs/b").exit_code == 0
    url = (run / "events.html").as_uri()
    dom = chromium(tmp_path, url, "--dump-dom")
    assert 'data-ready="1"' in dom
    page = EventsPage(dom)
    texts = {a.id: a.text for a in load_articles(INPUTS)}
    for event in (json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()):
        shown = page.events[event["event_id"]]
        assert shown["reports"] == [(r["article_id"], r["incident"]) for r in event["reports"]]
        assert sorted(shown["disputed"]) == sorted(event["disputes"])  # type: ignore[arg-type]
        for r in event["reports"]:
            marked = page.marks[(event["event_id"], r["article_id"], r["incident"])]
            assert marked == texts[r["article_id"]][r["start"] : r["end"]]
    dom = chromium(tmp_path, url + "#s=disputed", "--dump-dom")
    visible = {k for k, e in EventsPage(dom).events.items() if not e["hidden"]}
    assert visible == {k for k, e in page.events.items() if "disputed" in e["flags"]} and len(visible) == 4
    assert f"{len(visible)} of {len(page.events)} events" in dom
