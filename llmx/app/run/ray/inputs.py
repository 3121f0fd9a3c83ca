"""The Ray engine's inputs: every corpus becomes one Ray Dataset, read by Ray in parallel, with
the columns the plain engine names (settings ``id_column``, ``text_column``, ``date_column``,
``title_column``; default id, text, date, title).

Parquet files or folders, JSONL, CSV, and folders (or globs) of ``.txt`` articles (the id is the
file stem, a first line `` date YYYY-MM-DD`` the publication date, as the plain engine reads
them). A row is checked where it is extracted (:func:`row_to_article`), not on the driver: at
ten million rows nothing reads them all first, and a bad row fails its own article only.
"""

from __future__ import annotations

import datetime as dt
import functools
import glob
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import ray.data

from llmx.errors import ArticleError, UsageError
from llmx.inputs.articles import Article, parse_text
from llmx.inputs.config import Settings
from llmx.inputs.tables import Columns, make_row

COLUMNS = ("id", "text", "date", "title")
TABLES = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".csv": "csv", ".txt": "text"}


def _kind(path: Path) -> str:
    if path.is_dir():
        suffixes = {p.suffix for p in path.iterdir() if p.is_file() and p.suffix in TABLES}
        if len(suffixes) != 1:
            found = ", ".join(sorted(suffixes)) or "none"
            raise UsageError(
                f"{path}: a Ray input folder holds one kind of file (.parquet, .jsonl, .csv or .txt); found {found}"
            )
        return TABLES[suffixes.pop()]
    if path.suffix not in TABLES:
        raise UsageError(f"{path}: the Ray engine reads .parquet, .jsonl, .csv and .txt (or folders of them)")
    return TABLES[path.suffix]


def _paths(item: str) -> list[Path]:
    if any(ch in item for ch in "*?["):
        found = sorted(Path(p) for p in glob.glob(item, recursive=True))
        if not found:
            raise ArticleError(f"{item}: the pattern matches no file")
        return found
    path = Path(item)
    if not path.exists():
        raise ArticleError(f"{item}: no such file or folder")
    return [path]


def read_dataset(inputs: Iterable[str | Path], settings: Settings) -> ray.data.Dataset:
    """One dataset of (id, text, date, title) strings, from every input, in parallel."""
    by_kind: dict[str, list[str]] = {}
    for item in inputs:
        for path in _paths(str(item)):
            by_kind.setdefault(_kind(path), []).append(str(path.absolute()))
    names = {"id": settings.id_column, "text": settings.text_column, "date": settings.date_column}
    names["title"] = settings.title_column
    parts = []
    for kind, paths in by_kind.items():
        if kind == "text":
            files = ray.data.read_binary_files(paths, include_paths=True, file_extensions=["txt"])
            parts.append(files.map(_text_file))
            continue
        reader = {"parquet": ray.data.read_parquet, "json": ray.data.read_json, "csv": ray.data.read_csv}[kind]
        parts.append(reader(paths, include_paths=True).map(functools.partial(_table_row, names=names)))
    if not parts:
        raise ArticleError("no inputs given")
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):  # NaN: an empty CSV cell
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    return str(value)


def _table_row(row: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """A table row as the plain engine reads one (:func:`llmx.inputs.tables.make_row`: the same
    id, text, date and title rules and messages), or the row with what is wrong with it."""
    where = f"{row.get('path') or 'table'}, article {_text(row.get(names['id']))}"
    columns = Columns(**names)
    try:
        present = columns.required([name for name in row if name != "path"], where)
        values = {role: row.get(name) for role, name in present.items()}
        checked = make_row(values, present, where)
    except ArticleError as error:
        raw = {role: _text(row.get(name)) for role, name in names.items()}
        return {**raw, "source": where, "problem": str(error)}
    date = checked.date.isoformat() if checked.date else None
    return {
        "id": checked.id,
        "text": checked.text,
        "date": date,
        "title": checked.title,
        "source": where,
        "problem": None,
    }


def _text_file(row: dict[str, Any]) -> dict[str, Any]:
    path = Path(row["path"])
    try:
        article = parse_text(path.stem, row["bytes"].decode("utf-8"), str(path))
    except (UnicodeDecodeError, ArticleError) as error:
        return {"id": path.stem, "text": None, "date": None, "title": None, "source": str(path), "problem": str(error)}
    date = _text(article.date)
    return {"id": article.id, "text": article.text, "date": date, "title": None, "source": str(path), "problem": None}


def row_to_article(row: dict[str, Any]) -> Article:
    """The article a row holds, or :class:`ArticleError` naming what is wrong with it."""
    where = row.get("source") or "row"
    if row.get("problem"):
        raise ArticleError(f"{where}: {row['problem']}")
    text = (row.get("text") or "").strip()
    if not text:
        raise ArticleError(f"{where}: article {row.get('id')!r} has no text (text_column)")
    date = None
    if row.get("date"):
        try:
            date = dt.date.fromisoformat(str(row["date"])[:10])
        except ValueError:
            raise ArticleError(f"{where}: article {row.get('id')!r}: date {row['date']!r} is not YYYY-MM-DD") from None
    fields: dict[str, Any] = {"id": str(row.get("id")), "text": text, "date": date, "source": str(where)}
    if row.get("title") and "title" in Article.model_fields:  # the plain engine's headline, where it has one
        fields["title"] = row["title"]
    try:
        return Article(**fields)
    except ValueError as error:
        raise ArticleError(f"{where}: {str(error).splitlines()[-1].strip()}") from None


def safe_id(row: dict[str, Any]) -> str:
    """An id to name a bad row's failed line by: its own when it is usable, else one from its content."""
    value = str(row.get("id") or "")
    try:
        return Article(id=value, text="-").id
    except ValueError:
        digest = hashlib.sha256(repr(sorted(row.items())).encode()).hexdigest()[:12]
        return f"bad-row-{digest}"
