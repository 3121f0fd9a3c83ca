"""Read articles from files, folders, globs and JSONL corpora.

An article's id is its file stem (or the ``id`` of a JSONL line). A first line that starts with
`` date YYYY-MM-DD`` gives its publication date; the rest of that line is article text.
Ids end up in file names (cassettes, gold), so an id that could escape a folder is refused.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import BaseModel, ValidationError, field_validator

from llmx.errors import ArticleError
from llmx.runs.files import jsonl_lines
from llmx.runs.folder import OWN_FILES, is_run_folder

MAX_ID_CHARS = 200
SAFE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
DATE_LINE = re.compile(r"^\s*date (\d{4}-\d{2}-\d{2})[ \t]*")


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


class _JsonlArticle(BaseModel):
    id: str
    text: str
    date: dt.date | None = None


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


def read_file(path: Path) -> Iterator[Article]:
    data = path.read_bytes()
    if not data.strip():
        raise ArticleError(f"{path}: the file is empty; remove it or add the article text")
    if path.suffix == ".jsonl":
        yield from read_jsonl(decode(data, str(path)), str(path))
    else:
        yield parse_text(path.stem, decode(data, str(path)), str(path))


def read_jsonl(text: str, source: str) -> Iterator[Article]:
    for number, line in jsonl_lines(text):
        where = f"{source}:{number}"
        try:
            row = _JsonlArticle.model_validate(json.loads(line))
        except json.JSONDecodeError as error:
            raise ArticleError(f'{where}: not valid JSON ({error.msg}); each line needs {{"id", "text"}}') from error
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "line"
            raise ArticleError(f'{where}: \'{field}\': {_message(error)}; each line needs {{"id", "text"}}') from error
        if not row.text.strip():
            raise ArticleError(f"{where}: article '{row.id}' has empty text")
        yield _article(id=row.id, text=row.text.strip(), date=row.date, source=where)


def expand(inputs: Iterable[str]) -> list[Path]:
    """Files named, files in folders (``*.txt``, ``*.jsonl``), and glob matches, in order."""
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
            found = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and p.suffix in (".txt", ".jsonl") and not (p.name in OWN_FILES and is_run_folder(path))
            )
            if not found:
                raise ArticleError(f"{path}: no .txt or .jsonl articles in this folder")
            paths.extend(found)
        elif path.is_file():
            paths.append(path)
        else:
            raise ArticleError(f"{item}: no such file or folder")
    return paths


# What a run takes as articles: paths, folders and globs of files, or articles already in memory.
ArticleInput = str | Path | Article


def _read_all(inputs: Iterable[ArticleInput]) -> Iterator[Article]:
    for item in inputs:
        if isinstance(item, Article):
            yield item
            continue
        for path in expand([str(item)]):
            yield from read_file(path)


def load_articles(inputs: Iterable[ArticleInput]) -> list[Article]:
    """Every article, ids checked unique. Length is not refused here: an article over
    ``max_article_chars`` fails alone when it is extracted (``too_long``), the rest go on."""
    articles: list[Article] = []
    seen: dict[str, str] = {}
    for article in _read_all(inputs):
        if article.id in seen:
            raise ArticleError(f"{article.source}: duplicate article id '{article.id}' (also in {seen[article.id]})")
        seen[article.id] = article.source
        articles.append(article)
    return articles
