"""Read articles from files, folders and globs: text files, table corpora (CSV, TSV, Parquet,
JSONL: :mod:`llmx.inputs.tables`) and saved HTML pages (:mod:`llmx.inputs.html_pages`).

A text file's id is its stem, and a first line that starts with `` date YYYY-MM-DD`` gives its
publication date (the rest of that line is article text). A table row's id, text, date and
title come from the columns :class:`~llmx.inputs.tables.Columns` names; an HTML page's id is its
stem. Ids end up in file names (cassettes, gold), so an id that could escape a folder is refused.
Everything is read lazily (:func:`iter_articles`); :func:`load_articles` is the list, for the
small corpora of the viewer and tests (a run streams: :mod:`llmx.inputs.corpus`).
"""

from __future__ import annotations

import datetime as dt
import glob
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import BaseModel, ValidationError, field_validator

from llmx.errors import ArticleError
from llmx.inputs.html_pages import HTML_SUFFIXES, read_page
from llmx.inputs.tables import Columns, TableRow, read_delimited, read_jsonl, read_parquet, unicode_problem
from llmx.runs.folder import OWN_FILES, is_run_folder

MAX_ID_CHARS = 200
SAFE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
DATE_LINE = re.compile(r"^\s*date (\d{4}-\d{2}-\d{2})[ \t]*")
# A first line meant as a date line but not written YYYY-MM-DD (` date 3 March 2024`, `date:
# 2024/03/03`): short, a digit in it. Taken as text, it would leave the article undated in silence.
NEAR_DATE_LINE = re.compile(r"^\s*date\b[ \t]*[:=]?[ \t]*([^\n]{1,40})$")
DATE_LIKE = re.compile(
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d"
    r"|\d{1,2}\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)",
    re.IGNORECASE,
)


# Date lines as scrapers and people write them that read one way only; "03.04.2024" does not
# (3 April or March 4) and is refused.
WRITTEN_DATES = ("%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y", "%Y/%m/%d", "%Y.%m.%d")


def _written_date(text: str) -> dt.date | None:
    cleaned = text.strip().rstrip(".")
    for pattern in WRITTEN_DATES:
        try:
            return dt.datetime.strptime(cleaned, pattern).date()
        except ValueError:
            continue
    return None


class Article(BaseModel):
    id: str
    text: str
    date: dt.date | None = None
    source: str = ""
    title: str | None = None

    @field_validator("id")
    @classmethod
    def _safe_id(cls, value: str) -> str:
        if len(value) > MAX_ID_CHARS:
            raise ValueError(f"article id of {len(value)} characters is over the {MAX_ID_CHARS}-character limit")
        if not SAFE_ID.match(value) or ".." in value:
            raise ValueError(
                f"article id {value!r} must be letters, digits, '.', '_' or '-' and start with a letter or digit"
                " (it names files)"
            )
        return value

    @field_validator("text", "title")
    @classmethod
    def _unicode(cls, value: str | None) -> str | None:
        problem = unicode_problem(value) if value else None
        if problem:
            raise ValueError(problem)
        return value


def parse_text(article_id: str, raw: str, source: str) -> Article:
    published = None
    if match := DATE_LINE.match(raw):
        try:
            published = dt.date.fromisoformat(match.group(1))
        except ValueError:
            raise ArticleError(
                f"{source}: the date line says {match.group(1)}, which is not a date; write ` date YYYY-MM-DD`"
            ) from None
        raw = raw[match.end() :]
    elif (near := NEAR_DATE_LINE.match(raw.split("\n", 1)[0])) is not None and DATE_LIKE.search(near.group(1)):
        published = _written_date(near.group(1))
        if published is None:
            raise ArticleError(
                f"{source}: the first line looks like a date line, but {near.group(1).strip()!r} is not a date "
                "that reads one way only; write ` date YYYY-MM-DD` (or start the article with its own text)"
            )
        raw = raw[near.end() :]
    text = raw.strip()
    if not text:
        raise ArticleError(f"{source}: the article is empty; remove it or add its text")
    return _article(id=article_id, text=text, date=published, source=source)


def _article(**fields: object) -> Article:
    try:
        return Article.model_validate(fields)
    except ValidationError as error:
        raise ArticleError(f"{fields['source']}: {_message(error)}") from error


def _message(error: ValidationError) -> str:
    """pydantic's message without its "Value error, " prefix."""
    return str(error.errors()[0]["msg"]).removeprefix("Value error, ")


def decode(data: bytes, source: str) -> str:
    if b"\x00" in data[:8192]:
        raise ArticleError(f"{source}: looks binary (NUL bytes); give llmx UTF-8 text articles")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ArticleError(
            f"{source}: not UTF-8 (byte {error.start}); convert it, e.g. `iconv -f latin1 -t utf-8`"
        ) from error


# Suffixes a folder is searched for (a file named on its own is read as text whatever its suffix).
TABLE_SUFFIXES = (".jsonl", ".csv", ".tsv", ".parquet")
ARTICLE_SUFFIXES = (".txt", *TABLE_SUFFIXES, *HTML_SUFFIXES)


def read_file(path: Path, columns: Columns | None = None) -> Iterator[Article]:
    """The articles of one file, by its suffix: a table (one per row), an HTML page, or text."""
    columns = columns or Columns()
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        yield from (_row_article(row, columns) for row in _table_rows(path, suffix, columns))
        return
    if suffix in HTML_SUFFIXES:
        page = read_page(path)
        yield _article(id=path.stem, text=page.text, date=page.date, title=page.title, source=str(path))
        return
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ArticleError(f"{path}: cannot read the article ({error.strerror}); check its permissions") from error
    if not data.strip():
        raise ArticleError(f"{path}: the file is empty; remove it or add the article text")
    yield parse_text(path.stem, decode(data, str(path)), str(path))


def _table_rows(path: Path, suffix: str, columns: Columns) -> Iterator[TableRow]:
    if suffix == ".jsonl":
        return read_jsonl(path, columns)
    if suffix == ".parquet":
        return read_parquet(path, columns)
    return read_delimited(path, columns, "\t" if suffix == ".tsv" else ",")


def _row_article(row: TableRow, columns: Columns) -> Article:
    try:
        return Article(id=row.id, text=row.text, date=row.date, title=row.title, source=row.where)
    except ValidationError as error:  # the id: every other value was checked by the reader
        raise ArticleError(f"{row.where}, column '{columns.id}': {_message(error)}") from error


def expand(inputs: Iterable[str]) -> list[Path]:
    """Files named, article files in folders (:data:`ARTICLE_SUFFIXES`), and glob matches, in order."""
    paths: list[Path] = []
    for item in inputs:
        path = Path(item)
        if any(ch in item for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not matches:
                raise ArticleError(f"{item}: the pattern matches no file")
            paths.extend(matches)
        elif path.is_dir():
            # A run folder written inside the input folder is llmx's own output, not articles.
            try:
                found = sorted(
                    p
                    for p in path.iterdir()
                    if p.is_file()
                    and p.suffix.lower() in ARTICLE_SUFFIXES
                    and not (p.name in OWN_FILES and is_run_folder(path))
                )
            except OSError as error:
                raise ArticleError(
                    f"{path}: cannot list the folder ({error.strerror}); check its permissions"
                ) from error
            if not found:
                raise ArticleError(f"{path}: no articles in this folder (no {', '.join(ARTICLE_SUFFIXES)} files)")
            paths.extend(found)
        elif path.is_file():
            paths.append(path)
        else:
            raise ArticleError(f"{item}: no such file or folder")
    return paths


# What a run takes as articles: paths, folders and globs of files, or articles already in memory.
ArticleInput = str | Path | Article


def iter_articles(
    inputs: Iterable[ArticleInput], columns: Columns | None = None, html: bool = True
) -> Iterator[Article]:
    """Every article of ``inputs``, in order, read one at a time (nothing is checked across
    articles); with ``html`` False, saved HTML pages are left out (their texts are in the run)."""
    for item in inputs:
        if isinstance(item, Article):
            yield item
            continue
        for path in expand([str(item)]):
            if html or path.suffix.lower() not in HTML_SUFFIXES:
                yield from read_file(path, columns)


class IdCheck:
    """Ids seen so far: a duplicate names both places. Length is not refused here: an article over
    ``max_article_chars`` fails alone when it is extracted (``too_long``), the rest go on.

    Only the ids are kept (not where each came from: at 100,000 rows that would be most of the
    memory a run holds); the first place of a duplicate is found by reading ``inputs`` again."""

    def __init__(self, inputs: Iterable[ArticleInput], columns: Columns | None) -> None:
        self.inputs, self.columns = inputs, columns
        self.seen: set[str] = set()

    def __call__(self, article: Article) -> Article:
        if article.id in self.seen:
            first = next(a.source for a in iter_articles(self.inputs, self.columns) if a.id == article.id)
            raise ArticleError(f"{article.source}: duplicate article id '{article.id}' (also in {first})")
        self.seen.add(article.id)
        return article


def load_articles(inputs: Iterable[ArticleInput], columns: Columns | None = None, html: bool = True) -> list[Article]:
    """Every article of ``inputs`` in a list, ids checked (small corpora; a run streams them)."""
    inputs = list(inputs)
    check = IdCheck(inputs, columns)
    return [check(article) for article in iter_articles(inputs, columns, html)]
