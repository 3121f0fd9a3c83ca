"""The HTML viewer: the pure renderer, ``llmx view``, and the page as a real browser sees it.

The browser tests run Debian's headless chromium on the page for the seed run and read back the
DOM after the page's JS ran. They skip when chromium is not installed, unless
LLMX_REQUIRE_BROWSER=1 (CI), where that is a failure. LLMX_SCREENSHOT=PATH keeps the screenshot
(that is how docs/viewer.png is made).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field

from llmx.core.grounding import Grounding, ground
from llmx.core.scoring import score_run
from llmx.inputs.aliases import load_aliases
from llmx.inputs.articles import load_articles
from llmx.inputs.schemas import load_schema
from llmx.runs.results import ArticleResult, ExtractedRecord, Failure, Provenance
from llmx.viewer.highlight import highlight
from llmx.viewer.page import ViewRun, render_view
from tests.helpers import ROOT, run_cli


class Page(HTMLParser):
    """What the checks need from a page: the text inside each incident's marks (pieces joined
    in document order), the cards per article, and well-formedness of the marks."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.marks: dict[tuple[str, int], str] = {}
        self.open_marks: list[tuple[str, int]] = []
        self.cards: list[dict[str, Any]] = []  # {article, classes, incident}
        self.sections: dict[str, dict[str, str | None]] = {}
        self.text: dict[str, str] = {}  # article id -> text of its (first) .text paragraph
        self.article: str | None = None
        self.in_text = 0
        self.elements: dict[str, dict[str, str | None]] = {}
        self.feed(html)
        self.close()
        assert not self.open_marks, "unclosed <mark>"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.elements[str(a["id"])] = a
        classes = (a.get("class") or "").split()
        if tag == "section" and "art" in classes:
            self.article = a["data-id"]
            self.sections[str(self.article)] = a
        elif tag == "p" and "text" in classes:
            self.in_text = 1
        elif tag == "mark":
            self.open_marks.append((str(a["data-article"]), int(str(a["data-incident"]))))
        elif tag == "div" and "card" in classes:
            incident = a.get("data-incident")
            self.cards.append({"article": self.article, "classes": classes, "incident": incident})

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark":
            assert self.open_marks, "</mark> without <mark>"
            self.open_marks.pop()
        elif tag == "p" and self.in_text:
            self.in_text = 0

    def handle_data(self, data: str) -> None:
        for key in set(self.open_marks):
            self.marks[key] = self.marks.get(key, "") + data
        if self.in_text and self.article is not None:
            self.text[self.article] = self.text.get(self.article, "") + data


def provenance() -> Provenance:
    return Provenance(model="m", prompt="p", prompt_sha256="0", schema="incident", schema_sha256="0", mode="replay")


def record(evidence: str, **fields: Any) -> dict[str, Any]:
    base = dict.fromkeys(["date", "location", "country", "attacker", "killed"])
    return {**base, "weapon": "drone", **fields, "evidence": evidence}


def result(article_id: str, text: str, records: list[dict[str, Any]]) -> ArticleResult:
    items = [ExtractedRecord(record=r, grounding=ground(r["evidence"], text)) for r in records]
    return ArticleResult(article_id=article_id, status="ok", incidents=items, provenance=provenance())


# --- the renderer, no browser ---------------------------------------------------------------


def test_article_text_and_model_output_are_escaped() -> None:
    text = 'Before. <script>alert("pwned")</script> A drone hit Erbil & more. <img src=x onerror=alert(1)>'
    r = result("a1", text, [record("A drone hit Erbil & more.", location="<b>Erbil</b>")])
    page = render_view([ViewRun("run <i>x</i>", [r], {"a1": text})])
    assert page.count("<script>") == 1  # the page's own
    assert "alert(&#34;pwned&#34;)" not in page and '&lt;script&gt;alert("pwned")&lt;/script&gt;' in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>Erbil</b>" not in page and "&lt;b&gt;Erbil&lt;/b&gt;" in page
    assert "run <i>x</i>" not in page
    parsed = Page(page)
    assert parsed.text["a1"] == text
    assert parsed.marks[("a1", 0)] == "A drone hit Erbil & more."


def test_overlapping_evidence_gives_each_incident_its_marks() -> None:
    text = "One. The drone struck the base at dawn, officials said. Two."
    same = "The drone struck the base at dawn, officials said."
    records = [record(same), record(same), record("struck the base at dawn, officials said. Two."), record("One. The")]
    page = Page(render_view([ViewRun("r", [result("a", text, records)], {"a": text})]))
    for i, item in enumerate(records):
        assert page.marks[("a", i)] == item["evidence"]
    assert page.text["a"] == text


@given(
    st.text(alphabet='ab <&>"\n', min_size=1, max_size=40),
    st.lists(st.tuples(st.integers(0, 45), st.integers(0, 45)), max_size=6),
)
def test_highlight_is_well_formed_for_any_spans(text: str, spans: list[tuple[int, int]]) -> None:
    marked = [(s, e, i) for i, (s, e) in enumerate(spans)]
    page = Page(f'<section class="art" data-id="x"><p class="text">{highlight(text, marked, "x")}</p></section>')
    assert page.text.get("x", "") == text
    for s, e, i in marked:
        expected = text[max(0, s) : min(len(text), e)]
        assert page.marks.get(("x", i), "") == expected


def test_cards_show_gold_status_differences_grounding_and_verification() -> None:
    text = "A drone hit Erbil on Monday. Rockets hit Kirkuk. A drone hit Mosul."

    class Checked(ExtractedRecord):  # ExtractedRecord may later carry this field
        verification: list[dict[str, Any]] = Field(default_factory=list)

    matched = record("A drone hit Erbil on Monday.", location="Erbil", killed=2)
    spurious = record("A drone hit Mosul.", location="Mosul")
    lost = record("Not in the article at all.", location="Basra")
    items = [
        Checked(
            record=matched,
            grounding=ground(matched["evidence"], text),
            verification=[{"field": "killed", "value": 2, "reason": "the article gives no toll"}],
        ),
        ExtractedRecord(record=spurious, grounding=ground(spurious["evidence"], text)),
        ExtractedRecord(record=lost, grounding=Grounding(status="ungrounded")),
    ]
    run = ArticleResult(article_id="a", status="ok", incidents=items, provenance=provenance())
    gold = [record("A drone hit Erbil on Monday.", location="Erbil", killed=None), record("Rockets hit Kirkuk.")]
    gold[1].update(location="Kirkuk", weapon="rocket")
    schema = load_schema("incident", ROOT / "schemas")
    predictions = {"a": [item.record for item in items]}
    score = score_run(predictions, {"a": gold}, schema.fields, load_aliases(ROOT / "schemas/aliases.yaml"), "evidence")
    page = render_view([ViewRun("r", [run], {"a": text}, score)])
    parsed = Page(page)
    assert [(c["incident"], c["classes"][-1]) for c in parsed.cards] == [
        ("0", "matched"),
        ("1", "spurious"),
        ("2", "spurious"),
        (None, "missed"),
    ]
    assert "gold: –" in page  # killed differs: 2 predicted, null in gold
    assert "the article gives no toll" in page and 'class="ver"' in page
    assert "⚠ ungrounded evidence" in page and "Not in the article at all." in page
    assert ("a", 2) not in parsed.marks  # ungrounded: no mark
    assert parsed.sections["a"]["data-flags"] == "missed spurious ungrounded"
    assert "Rockets hit Kirkuk." in page  # the missed gold record's evidence


def test_without_score_and_failed_articles() -> None:
    ok = result("a", "A drone hit Erbil.", [record("A drone hit Erbil.")])
    error = Failure(kind="invalid_output", message="never valid")
    failed = ArticleResult(article_id="b", status="failed", error=error, provenance=provenance())
    page = render_view([ViewRun("r", [ok, failed], {"a": "A drone hit Erbil."})])
    parsed = Page(page)
    assert "not scored" in page and "invalid_output: never valid" in page
    assert parsed.sections["b"]["data-flags"] == "failed"
    assert "Article text not available" in page  # b has no text


def test_two_runs_side_by_side_changed_first() -> None:
    text = {k: f"A drone hit {k}." for k in ("a", "b", "c")}
    before = [result(k, text[k], [record(text[k], location=k)]) for k in ("a", "b", "c")]
    after = [result(k, text[k], [record(text[k], location=k.upper() if k == "c" else k)]) for k in ("a", "b", "c")]
    page = render_view([ViewRun("before", before, text), ViewRun("after", after, text)])
    parsed = Page(page)
    assert list(parsed.sections) == ["c", "a", "b"]
    assert parsed.sections["c"]["data-flags"] == "changed"
    assert len(parsed.cards) == 6 and page.count('class="pane"') == 6
    assert 'value="changed"' in page


# --- llmx view, the command -------------------------------------------------------------------


def test_view_writes_the_page_next_to_the_run(seed_run: Path) -> None:
    shown = run_cli("view", "runs/r1")
    assert shown.exit_code == 0, shown.output
    assert shown.output.strip().endswith("runs/r1/view.html")
    page = Page((seed_run / "view.html").read_text())
    assert len(page.sections) == 5 and page.marks
    scored = run_cli("score", "runs/r1", "--html", "scored.html")
    assert scored.exit_code == 0 and "data-incident" in Path("scored.html").read_text()


def test_view_two_runs_and_explicit_articles(seed_run: Path) -> None:
    edited = seed_run.parent / "r2"
    shutil.copytree(seed_run, edited)
    lines = (edited / "extractions.jsonl").read_text().splitlines()
    lines[-1] = lines[-1].replace('"weapon":"drone"', '"weapon":"missile"', 1)
    (edited / "extractions.jsonl").write_text("\n".join(lines) + "\n")
    shown = run_cli("view", "runs/r1", "runs/r2", "--articles", "seeds/", "-o", "both.html")
    assert shown.exit_code == 0, shown.output
    page = Page(Path("both.html").read_text())
    changed = json.loads(lines[-1])["article_id"]
    assert next(iter(page.sections)) == changed and page.sections[changed]["data-flags"].endswith("changed")
    score = json.loads(run_cli("score", "runs/r1", "--json").output)
    incidents = sum(len(json.loads(line)["incidents"]) for line in lines)
    missed = sum(article["missed"] for article in score["articles"].values())
    assert len(page.cards) == 2 * incidents + 2 * missed  # each run's incidents and missed gold, twice


def test_view_without_gold_shows_the_run_unscored(seed_run: Path) -> None:
    shown = run_cli("view", "runs/r1", "--gold", "nowhere", "-o", "plain.html")
    assert shown.exit_code == 0, shown.output
    assert "not scored" in shown.output and "not scored" in Path("plain.html").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["view", "seeds"], "seeds: not a run"),
        (["view", "runs/r1", "-o", "missing/dir/view.html"], "missing/dir: no such folder"),
        (["view", "runs/r1", "--articles", "nothing/"], "nothing/: no such file or folder"),
    ],
)
def test_view_errors_are_one_line_exit_2(seed_run: Path, args: list[str], message: str) -> None:
    failed = run_cli(*args)
    assert failed.exit_code == 2 and message in failed.output
    assert "Traceback" not in failed.output and len(failed.output.strip().splitlines()) == 1


def test_view_of_a_run_that_does_not_record_its_inputs_asks_for_them(seed_run: Path) -> None:
    manifest = json.loads((seed_run / "run.json").read_text())
    manifest["inputs"] = []  # as written before llmx recorded them
    (seed_run / "run.json").write_text(json.dumps(manifest))
    failed = run_cli("view", "runs/r1")
    assert failed.exit_code == 2 and "pass --articles" in failed.output
    assert run_cli("view", "runs/r1", "--articles", "seeds/").exit_code == 0


# --- the page in a real browser -----------------------------------------------------------------

BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium(tmp_path: Path, url: str, *args: str) -> str:
    binary = shutil.which("chromium")
    if binary is None:
        if os.environ.get("LLMX_REQUIRE_BROWSER") == "1":
            pytest.fail("LLMX_REQUIRE_BROWSER=1 but chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium); the browser tests need it")
    command = [binary, *BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'chromium'}", *args, url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture
def seed_page(seed_run: Path) -> Path:
    assert run_cli("view", "runs/r1").exit_code == 0
    return seed_run / "view.html"


def test_browser_dom_marks_cards_and_gold_counts(seed_page: Path, tmp_path: Path) -> None:
    dom = chromium(tmp_path, seed_page.as_uri(), "--dump-dom")
    page = Page(dom)
    assert page.elements["count"] and 'data-ready="1"' in dom  # the page's JS ran to the end
    assert "5 of 5 articles" in dom
    texts = {a.id: a.text for a in load_articles(["seeds/"])}
    results = [json.loads(line) for line in (seed_page.parent / "extractions.jsonl").read_text().splitlines()]
    assert page.text == texts
    for r in results:
        aid = r["article_id"]
        for i, item in enumerate(r["incidents"]):
            g = item["grounding"]
            if g["status"] != "ungrounded":
                assert page.marks[(aid, i)] == texts[aid][g["start"] : g["end"]]
        cards = [c for c in page.cards if c["article"] == aid and c["incident"] is not None]
        assert [int(c["incident"]) for c in cards] == list(range(len(r["incidents"])))
    scored = run_cli("score", "runs/r1", "--json")
    articles = json.loads(scored.output)["articles"]
    for aid, counts in articles.items():
        classes = [c["classes"] for c in page.cards if c["article"] == aid]
        assert sum("missed" in c for c in classes) == counts["missed"]
        assert sum("spurious" in c for c in classes) == counts["spurious"]
    assert page.elements["q"]["type"] == "search"
    assert dom.count('name="status"') == 4
    for status in ("missed", "spurious", "ungrounded", "failed"):
        assert f'value="{status}"' in dom


def test_browser_filters_from_the_url(seed_page: Path, tmp_path: Path) -> None:
    scored = json.loads(run_cli("score", "runs/r1", "--json").output)["articles"]
    with_missed = {aid for aid, counts in scored.items() if counts["missed"]}
    dom = chromium(tmp_path, seed_page.as_uri() + "#s=missed", "--dump-dom")
    page = Page(dom)
    shown = {aid for aid, attrs in page.sections.items() if "hidden" not in attrs}
    assert shown == with_missed and f"{len(with_missed)} of 5 articles" in dom
    dom = chromium(tmp_path, seed_page.as_uri() + "#q=002_3967", "--dump-dom")
    shown = {aid for aid, attrs in Page(dom).sections.items() if "hidden" not in attrs}
    assert shown == {"002_3967b8add1cdc5f9"}


def test_browser_screenshot(seed_page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "viewer.png"
    chromium(tmp_path, seed_page.as_uri(), f"--screenshot={shot}", "--window-size=1400,2000")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000  # a blank page is a few kB
    if target := os.environ.get("LLMX_SCREENSHOT"):
        shutil.copy(shot, target)
