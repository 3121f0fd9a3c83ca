"""A run's articles, read twice and never held: a first pass checks everything before any
request (ids, sizes, and whatever the caller checks, e.g. every prompt rendering), a second
feeds the extraction. Only the ids stay in memory, so a corpus of any size runs in flat memory.

The texts llmx derives itself (the main text of a saved HTML page) and the articles given in
memory (``llmx.extract([(id, text)])``: no file holds them) are kept in the run folder,
``RUN/articles.jsonl``, as they are extracted: evidence offsets refer to them, and the viewer
shows them (:func:`read_kept_texts`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from llmx.errors import ArticleError, OutputError
from llmx.inputs.articles import Article, ArticleInput, IdCheck, expand, read_file
from llmx.inputs.html_pages import HTML_SUFFIXES
from llmx.inputs.tables import Columns

TEXTS_FILE = "articles.jsonl"


class Corpus:
    """``checked()`` is the first pass (it records :attr:`ids`), ``again()`` the second."""

    def __init__(self, inputs: list[ArticleInput], columns: Columns | None = None):
        self.inputs = inputs
        self.columns = columns
        self.ids: list[str] = []  # the first pass's articles, in input order

    def _read(self) -> Iterator[tuple[Article, bool]]:
        """(article, whether the run keeps its text) for every article of the inputs, in order."""
        for item in self.inputs:
            if isinstance(item, Article):
                yield item, True  # given in memory: the run folder is the only place it will be
                continue
            for path in expand([str(item)]):
                derived = path.suffix.lower() in HTML_SUFFIXES
                for article in read_file(path, self.columns):
                    yield article, derived

    def checked(self) -> Iterator[Article]:
        """First pass: each article once its id is checked (format, duplicates)."""
        check = IdCheck(self.inputs, self.columns)
        self.ids = []
        for article, _ in self._read():
            self.ids.append(check(article).id)
            yield article

    def again(self, on_derived: Callable[[Article], None] = lambda article: None) -> Iterator[Article]:
        """Second pass, for the extraction: the same articles, read again, in the same order. An
        input that changed during the run (a row added, removed or moved) is an error rather
        than an article extracted unchecked."""
        ids = self.ids
        for position, (article, derived) in enumerate(self._read()):
            if position >= len(ids) or article.id != ids[position]:
                raise ArticleError(
                    f"{article.source}: article '{article.id}' is not where it was when the run started "
                    "(the inputs changed during the run); run the same command again to go on"
                )
            if derived:
                on_derived(article)
            yield article


class KeptTexts:
    """Appends derived texts to ``RUN/articles.jsonl`` (opened on the first); the last line of an id wins."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / TEXTS_FILE
        self.kept = kept_ids(run_dir)  # by earlier runs into this folder, then by this one
        self._added: set[str] = set()
        self._handle: IO[str] | None = None

    def add(self, article: Article) -> None:
        """Keep ``article``'s text, once per run (a --batch run reads its articles once a round)."""
        if article.id in self._added:
            return
        line = json.dumps(
            {
                "id": article.id,
                "text": article.text,
                "date": article.date.isoformat() if article.date else None,
                "title": article.title,
                "source": article.source,
            },
            ensure_ascii=False,
        )
        try:
            if self._handle is None:
                self._handle = self.path.open("a", encoding="utf-8")
            self._handle.write(line + "\n")
            self._handle.flush()
        except OSError as error:
            raise OutputError(f"{self.path}: cannot keep the article texts ({error.strerror})", self.path) from error
        self.kept.add(article.id)
        self._added.add(article.id)

    def close(self) -> None:
        if self._handle is not None and not self._handle.closed:
            os.fsync(self._handle.fileno())
            self._handle.close()


def _kept_lines(run_dir: Path) -> Iterator[dict[str, Any]]:
    """Each line of ``RUN/articles.jsonl`` as a dict, streamed; a half-written last line is skipped."""
    path = run_dir / TEXTS_FILE
    if not path.is_file():
        return
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
                if not isinstance(data, dict) or not isinstance(data.get("id"), str):
                    raise ValueError("no id")
            except ValueError:
                if not raw.endswith(b"\n"):
                    return  # the half-written last line of a killed run
                raise ArticleError(f"{path}:{number}: not a kept article line; delete it and extract again") from None
            yield data


def kept_ids(run_dir: Path) -> set[str]:
    return {data["id"] for data in _kept_lines(run_dir)}


def read_kept_texts(run_dir: Path) -> dict[str, Article]:
    """The texts a run kept (id → article; the last line of an id wins); none if it kept none."""
    kept: dict[str, Article] = {}
    for data in _kept_lines(run_dir):
        try:
            kept[data["id"]] = Article.model_validate(data)
        except ValueError:
            raise ArticleError(
                f"{run_dir / TEXTS_FILE}: the line of '{data['id']}' is not a kept article; delete it and extract again"
            ) from None
    return kept
