from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from llmx.errors import ArticleError
from llmx.inputs.articles import load_articles
from tests.helpers import ROOT


def test_seeds_load_with_ids_and_publication_dates() -> None:
    articles = load_articles([str(ROOT / "seeds")])
    assert [a.id for a in articles] == [p.stem for p in sorted((ROOT / "seeds").glob("*.txt"))]
    first = articles[0]
    assert first.date == dt.date(2024, 9, 22)
    # The date prefix is removed and the rest of that line is article text.
    assert first.text.startswith("An ambulance and a fire truck")
    assert articles[1].date is None


def test_jsonl_and_globs(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        '{"id": "a1", "text": "Rockets hit a base.", "date": "2024-01-02"}\n\n{"id": "a2", "text": "x"}\n'
    )
    (tmp_path / "b.txt").write_text("A drone hit a truck.")
    articles = load_articles([str(tmp_path / "*.jsonl"), str(tmp_path / "b.txt")])
    assert [(a.id, a.date) for a in articles] == [("a1", dt.date(2024, 1, 2)), ("a2", None), ("b", None)]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: d / "nope.txt", "no such file or folder"),
        (lambda d: (d / "empty").mkdir() or d / "empty", "no articles in this folder"),
        (lambda d: (d / "e.txt").write_text("  \n") and d / "e.txt", "the file is empty"),
        (lambda d: (d / "b.txt").write_bytes(b"\x00\x01\x02binary") and d / "b.txt", "looks binary"),
        (lambda d: (d / "l.txt").write_bytes("caf\xe9".encode("latin-1")) and d / "l.txt", "not UTF-8"),
        (lambda d: (d / "c.jsonl").write_text('{"id": "a", "text": "ok"}\n{"id": 1,\n') and d / "c.jsonl", "c.jsonl:2"),
        (lambda d: (d / "m.jsonl").write_text('{"text": "no id"}\n') and d / "m.jsonl", "m.jsonl:1: no 'id'"),
        (lambda d: (d / "t.jsonl").write_text('{"id": "../../etc/x", "text": "t"}\n') and d / "t.jsonl", "names files"),
        (lambda d: d / "*.none", "matches no file"),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path: Path, setup, message: str) -> None:  # type: ignore[no-untyped-def]
    target = setup(tmp_path)
    with pytest.raises(ArticleError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        load_articles([str(target)])
    assert "\n" not in str(caught.value)


def test_a_long_article_is_read_not_refused(tmp_path: Path) -> None:
    """Length is no reason to refuse a corpus: an article over max_article_chars fails alone when
    extracted (tests/test_evidence_first.py)."""
    (tmp_path / "long.txt").write_text("word " * 100_000)
    (article,) = load_articles([str(tmp_path)])
    assert len(article.text) == 499_999


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one")
    (tmp_path / "c.jsonl").write_text('{"id": "a", "text": "two"}\n')
    with pytest.raises(ArticleError, match="duplicate article id 'a'"):
        load_articles([str(tmp_path)])
