"""The corpus formats people have, through ``llmx extract`` against the stub server: CSV, TSV,
Parquet and JSONL with their own column names (options or config), saved HTML pages (main text
and date by trafilatura, kept in the run for the viewer), errors that name the file, the row and
the column before any request, and the Parquet export."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from llmx.errors import ArticleError
from llmx.inputs.corpus import TEXTS_FILE, Corpus
from llmx.inputs.tables import Columns
from llmx.runs.folder import read_manifest, read_results
from llmx.testing.stub_server import StubServer
from tests.helpers import run_cli
from tests.test_viewer import Page

ROWS = [
    {
        "doc_id": "a1",
        "body": "A drone hit a fuel depot in Hodeidah on Monday, killing two workers.",
        "published": "2024-06-11",
        "headline": "Depot hit",
    },
    {
        "doc_id": "a2",
        "body": "Rockets struck a base near Erbil on Sunday, officials said.",
        "published": "",
        "headline": "",
    },
]
OWN_COLUMNS = (
    "--id-column",
    "doc_id",
    "--text-column",
    "body",
    "--date-column",
    "published",
    "--title-column",
    "headline",
)


def write_table(path: Path, rows: list[dict[str, Any]]) -> Path:
    """``rows`` as the file its suffix names (CSV, TSV, JSONL or Parquet)."""
    if path.suffix == ".parquet":
        columns = {name: [row.get(name) or None for row in rows] for name in rows[0]}
        pq.write_table(pa.table(columns), path)
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps({k: v for k, v in row.items() if v != ""}) + "\n" for row in rows))
    else:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t" if path.suffix == ".tsv" else ",")
            writer.writeheader()
            writer.writerows(rows)
    return path


def extract(server: StubServer, *args: str, out: str = "runs/t") -> Any:
    # one request per article (single): the tests count them
    return run_cli(
        "extract", *args, "--strategy", "single", "--base-url", server.base_url, "--cassettes", "tape", "--out", out
    )


def user_message(request: dict[str, Any]) -> str:
    return next(m["content"] for m in request["messages"] if m["role"] == "user")


@pytest.mark.parametrize("name", ["news.csv", "news.tsv", "news.parquet", "news.jsonl"])
def test_a_table_corpus_with_its_own_column_names(project: Path, live_requests: None, name: str) -> None:
    write_table(project / name, ROWS)
    with StubServer() as server:
        result = extract(server, name, *OWN_COLUMNS)
    assert result.exit_code == 0, result.output
    assert sorted(r.article_id for r in read_results(project / "runs/t")) == ["a1", "a2"]
    sent = {json.loads(json.dumps(user_message(r))) for r in server.requests}
    assert any("Published: 2024-06-11" in m and "fuel depot in Hodeidah" in m for m in sent)
    assert any("Published: unknown" in m and "base near Erbil" in m for m in sent)  # an empty date is no date
    manifest = read_manifest(project / "runs/t")
    assert manifest is not None and manifest.settings["text_column"] == "body"
    # The viewer reads the recorded inputs with the recorded columns.
    page = run_cli("view", "runs/t")
    assert page.exit_code == 0 and "no text" not in page.output, page.output
    assert "fuel depot in Hodeidah" in Page((project / "runs/t/view.html").read_text()).text["a1"]


def test_column_names_from_the_config(project: Path, live_requests: None) -> None:
    config = project / "pyproject.toml"
    config.write_text(
        config.read_text().replace("[tool.llmx]\n", '[tool.llmx]\nid_column = "doc_id"\ntext_column = "body"\n')
    )
    write_table(project / "news.csv", [{"doc_id": r["doc_id"], "body": r["body"]} for r in ROWS])
    with StubServer() as server:
        result = extract(server, "news.csv")
    assert result.exit_code == 0, result.output
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("name", "rows", "options", "message"),
    [
        ("n.csv", [{"id": "a", "body": "x"}], (), "n.csv: no 'text' column for the article text (columns: id, body); "),
        (
            "n.csv",
            [
                {"id": "a", "text": "A strike.", "date": "2024-01-01"},
                {"id": "b", "text": "A raid.", "date": "03/04/2024"},
            ],
            (),
            "n.csv:3: row 2, column 'date': '03/04/2024' is not a date; write YYYY-MM-DD",
        ),
        ("n.csv", [{"id": "a", "text": "  "}], (), "n.csv:2: row 1, column 'text': article 'a' has empty text"),
        ("n.tsv", [{"id": "a", "text": "A strike."}], ("--date-column", "published"), "n.tsv: no 'published' column"),
        (
            "n.parquet",
            [{"id": "a", "text": "A strike."}, {"id": "../x", "text": "A raid."}],
            (),
            "n.parquet: row 2, column 'id': article id '../x' must be letters",
        ),
        (
            "n.parquet",
            [{"id": "a", "text": "A strike."}, {"id": None, "text": "A raid."}],
            (),
            "n.parquet: row 2, column 'id': no article id",
        ),
        (
            "n.parquet",
            [{"id": "a", "text": "A strike."}, {"id": "a", "text": "A raid."}],
            (),
            "n.parquet: row 2: duplicate article id 'a' (also in ",
        ),
        (
            "n.jsonl",
            [{"id": "a", "text": "A strike.", "date": "soon"}],
            (),
            "n.jsonl:1, column 'date': 'soon' is not a date",
        ),
    ],
)
def test_bad_corpus_rows_name_the_file_row_and_column_before_any_request(
    project: Path, live_requests: None, name: str, rows: list[dict[str, Any]], options: tuple[str, ...], message: str
) -> None:
    write_table(project / name, rows)
    with StubServer() as server:
        result = extract(server, name, *options)
    assert result.exit_code == 2, result.output
    line = result.output.strip().splitlines()[-1]
    assert message in line, line
    assert server.requests == [] and not (project / "runs/t").exists()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("l.csv", "id,text\na,caf\xe9 bombed\n".encode("latin-1"), "l.csv:2: not UTF-8"),
        ("b.tsv", b"id\ttext\na\tA strike.\textra\n", "b.tsv:2: row 1: 3 fields where the header has 2"),
        ("z.parquet", b"PAR1 not really", "z.parquet: not a readable Parquet file"),
        ("e.csv", b"id,text\n", "e.csv: a header and no rows"),
    ],
)
def test_bad_corpus_files_are_one_line(project: Path, name: str, data: bytes, message: str) -> None:
    (project / name).write_bytes(data)
    result = run_cli("extract", name, "--replay", "--out", "runs/t")
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_ids_are_checked_before_any_request_even_at_the_end_of_a_large_parquet(
    project: Path, live_requests: None
) -> None:
    ids = [f"n{number:05d}" for number in range(5_000)] + ["n00042"]
    pq.write_table(pa.table({"id": ids, "text": [f"A drone hit depot {i}." for i in ids]}), project / "big.parquet")
    with StubServer() as server:
        result = extract(server, "big.parquet")
    assert result.exit_code == 2 and "big.parquet: row 5001: duplicate article id 'n00042'" in result.output
    assert "(also in " in result.output and "row 43)" in result.output
    assert server.requests == []


def test_an_input_that_changes_during_the_run_is_refused_not_extracted_unchecked(tmp_path: Path) -> None:
    path = write_table(tmp_path / "c.csv", [{"id": "a", "text": "A strike."}])
    corpus = Corpus([path], Columns())
    assert [a.id for a in corpus.checked()] == ["a"]
    write_table(path, [{"id": "a", "text": "A strike."}, {"id": "b", "text": "A raid."}])
    with pytest.raises(ArticleError, match="article 'b' is not where it was when the run started"):
        list(corpus.again())
    write_table(path, [{"id": "b", "text": "A raid."}, {"id": "a", "text": "A strike."}])
    with pytest.raises(ArticleError, match=r"c.csv:2: row 1: article 'b' is not where it was"):
        next(corpus.again())


def test_a_run_whose_inputs_change_midway_stops_and_keeps_what_finished(project: Path, live_requests: None) -> None:
    from llmx.testing.fake_model import schema_answer

    (project / "a.txt").write_text("A drone hit a depot in Hodeidah.")
    (project / "more").mkdir()
    (project / "more" / "c.txt").write_text("Rockets struck a base near Erbil.")

    def add_a_file_then_answer(body: dict[str, Any], number: int) -> Any:
        (project / "more" / "b.txt").write_text("A new article, added during the run.")
        return schema_answer(body)

    with StubServer(script=add_a_file_then_answer) as server:
        result = extract(server, "a.txt", "more/", "--concurrency", "1")
    assert result.exit_code == 2, result.output
    assert "b.txt: article 'b' is not where it was when the run started" in result.output
    assert [r.article_id for r in read_results(project / "runs/t")] == ["a"]  # kept
    manifest = read_manifest(project / "runs/t")
    assert manifest is not None and manifest.status == "failed"


PAGE = """<html><head><title>Drone hits fuel depot - Example News</title>
<meta property="article:published_time" content="2024-05-02T10:00:00Z"></head>
<body><nav>Home | World | Sport | Login</nav>
<article><h1>Drone hits fuel depot</h1>
<p>A drone struck a fuel depot at the port of Hodeidah on Tuesday, killing two workers, officials said.</p>
<p>The attack was the third on the port this month. No group has claimed it, and the port authority
said repairs would take several weeks while ships wait offshore to unload their cargo.</p></article>
<footer>Copyright Example News. Subscribe to our newsletter.</footer></body></html>"""


def test_saved_html_pages_give_their_main_text_and_date_and_the_run_keeps_the_text(
    project: Path, live_requests: None
) -> None:
    (project / "pages").mkdir()
    (project / "pages" / "depot.html").write_text(PAGE)
    with StubServer() as server:
        result = extract(server, "pages/")
    assert result.exit_code == 0, result.output
    message = user_message(server.requests[0])
    assert "Published: 2024-05-02" in message and "port of Hodeidah" in message
    assert "Subscribe" not in message and "Login" not in message  # boilerplate left out
    kept = json.loads((project / "runs/t" / TEXTS_FILE).read_text())
    assert kept["id"] == "depot" and kept["date"] == "2024-05-02" and kept["title"] == "Drone hits fuel depot"
    [line] = read_results(project / "runs/t")
    item = line.incidents[0]
    assert item.grounding is not None and item.grounding.status == "exact"
    assert kept["text"][item.grounding.start : item.grounding.end] == item.record["evidence"]  # offsets: that text
    # The viewer shows the kept text, with the page itself gone.
    (project / "pages" / "depot.html").unlink()
    (project / "pages" / "other.txt").write_text("Another article.")  # the recorded input folder is still there
    page = run_cli("view", "runs/t")
    assert page.exit_code == 0 and "no text" not in page.output, page.output
    parsed = Page((project / "runs/t/view.html").read_text())
    assert parsed.marks[("depot", 0)] == item.record["evidence"]


def test_a_page_date_is_never_guessed_from_its_prose(project: Path, live_requests: None) -> None:
    undated = PAGE.replace('<meta property="article:published_time" content="2024-05-02T10:00:00Z">', "")
    (project / "undated.html").write_text(undated.replace("<h1>", "<p>Posted on 12 March 2024 by staff.</p><h1>"))
    with StubServer() as server:
        result = extract(server, "undated.html")
    assert result.exit_code == 0, result.output
    assert "Published: unknown" in user_message(server.requests[0])


def test_a_page_with_no_article_text_is_one_line(project: Path) -> None:
    (project / "empty.html").write_text("<html><body><script>var x = 1;</script><img src=a.png></body></html>")
    result = run_cli("extract", "empty.html", "--replay", "--out", "runs/t")
    assert result.exit_code == 2 and "empty.html: no article text found in this page" in result.output


MENU_ONLY = """<html><head><title>Example News - Home</title></head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<div class="cookie-banner" id="cookie-consent"><p>We use cookies to improve your experience on our website. By
continuing to browse, you agree to our use of cookies. <a href="/privacy">Learn more</a></p>
<button>Accept all cookies</button></div>
<footer><p>Copyright 2024 Example News. All rights reserved.</p><a href="/terms">Terms of use</a></footer>
</body></html>"""


def test_a_page_of_only_a_menu_a_cookie_banner_and_a_footer_is_refused_unsent(
    project: Path, live_requests: None
) -> None:
    (project / "menu.html").write_text(MENU_ONLY)
    (project / "short.html").write_text(  # a short real article next to its menu is still an article
        MENU_ONLY.replace(
            "<footer>", "<article><p>Rockets hit Kyiv overnight; three people were killed.</p></article><footer>"
        )
    )
    with StubServer() as server:
        result = extract(server, "menu.html")
        assert result.exit_code == 2 and server.requests == [], result.output
        assert "menu.html: no article text in this page, only a menu, a cookie notice or a footer" in result.output
        assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
        kept = extract(server, "short.html")
    assert kept.exit_code == 0, kept.output
    assert "Rockets hit Kyiv" in user_message(server.requests[0])


def test_parquet_export_has_the_csv_columns_rows_and_types(seed_run: Path, tmp_path: Path) -> None:
    assert run_cli("export", seed_run, "-o", tmp_path / "x.csv").exit_code == 0
    result = run_cli("export", seed_run, "--format", "parquet", "-o", tmp_path / "x.parquet")
    assert result.exit_code == 0, result.output
    with (tmp_path / "x.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    table = pq.read_table(tmp_path / "x.parquet")
    assert table.column_names == list(rows[0]) and table.num_rows == len(rows)
    assert [str(v) for v in table.column("article_id").to_pylist()] == [r["article_id"] for r in rows]
    assert pa.types.is_integer(table.schema.field("incident").type)
    assert pa.types.is_integer(table.schema.field("evidence_start").type)
    # every cell the CSV fills, the Parquet holds (as its own type)
    for row, record in zip(rows, table.to_pylist(), strict=True):
        for name, text in row.items():
            value = record[name]
            shown = "" if value is None else ("True" if value is True else "False" if value is False else str(value))
            assert shown == text, (name, text, value)


def test_extract_format_parquet_and_export_to_stdout(project: Path, live_requests: None) -> None:
    write_table(project / "news.csv", [{"id": r["doc_id"], "text": r["body"]} for r in ROWS])
    with StubServer() as server:
        result = extract(server, "news.csv", "--format", "parquet")
    assert result.exit_code == 0, result.output
    assert pq.read_table(project / "runs/t/extractions.parquet").num_rows == 2
    refused = run_cli("export", "runs/t", "--format", "parquet")
    assert refused.exit_code == 2 and "pass -o FILE" in refused.output


def test_the_python_api_reads_a_corpus_with_the_project_columns(project: Path, live_requests: None) -> None:
    import llmx

    write_table(project / "news.parquet", ROWS)
    columns = {"id_column": "doc_id", "text_column": "body", "date_column": "published", "title_column": "headline"}
    proj = llmx.load_project(project, cassettes=project / "tape", **columns)
    with StubServer() as server:
        run = llmx.extract(["news.parquet"], project=proj, base_url=server.base_url, in_memory=True)
    assert run.exit_code == 0 and [r.article_id for r in run.results] == ["a1", "a2"]


def test_the_html_hint_in_a_clone_is_its_editable_install(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "trafilatura", None)  # as if the [html] extra were not installed
    (project / "page.html").write_text(PAGE)
    result = run_cli("extract", "page.html", "--replay", "--out", "runs/t")
    assert result.exit_code == 2, result.output
    clone = Path(__file__).resolve().parent.parent
    assert "reading saved HTML pages needs trafilatura: pip install -e '.[html]'" in result.output, result.output
    assert str(clone) in result.output.replace("\n", "") and "llmx-incidents[html]" not in result.output
