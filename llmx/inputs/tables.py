"""Corpora as tables: CSV, TSV, Parquet and JSONL, one article per row, streamed.

The columns that hold an article's id, text, publication date and title are named by
:class:`Columns` (``--id-column`` … or ``id_column`` … in the config; default id, text, date,
title). Id and text are required; a date or title column that is absent under its default name
is simply not there, one named on purpose must be. Rows are read one at a time (Parquet in
record batches, only the columns named), so a corpus of any size is read in flat memory.

Every error names the file, the row (and for text formats its line) and the column.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, BinaryIO

from llmx.errors import ArticleError

PARQUET_BATCH_ROWS = 1_000  # rows held at once while reading Parquet
# News articles are longer than the csv module's 128 KiB default field limit.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(frozen=True)
class Columns:
    """Which column holds each part of an article."""

    id: str = "id"
    text: str = "text"
    date: str = "date"
    title: str = "title"

    @classmethod
    def named(cls, id: str | None, text: str | None, date: str | None, title: str | None) -> Columns:
        given = {"id": id, "text": text, "date": date, "title": title}
        return cls(**{role: name for role, name in given.items() if name})

    @classmethod
    def of(cls, settings: Any) -> Columns:
        """From settings, or from the settings a run recorded in run.json (a dict)."""
        get = settings.get if isinstance(settings, dict) else lambda name: getattr(settings, name, None)
        return cls.named(get("id_column"), get("text_column"), get("date_column"), get("title_column"))

    def required(self, present: Iterable[str], source: str) -> dict[str, str]:
        """role → column, for the columns this table has; a required or deliberately named one
        that is missing is an error naming the columns there are."""
        have = list(present)
        found = {}
        for item in fields(self):
            role, name = item.name, getattr(self, item.name)
            if name in have:
                found[role] = name
            elif role in ("id", "text") or name != item.default:
                shown = ", ".join(have[:12]) + (", …" if len(have) > 12 else "")
                raise ArticleError(
                    f"{source}: no '{name}' column for the article {role} (columns: {shown or 'none'}); "
                    f"name yours with --{role}-column or {role}_column in llmx.toml"
                )
        return found


@dataclass(frozen=True)
class TableRow:
    """One article's values, checked for type; ``where`` names the file and row (and line)."""

    where: str
    id: str
    text: str
    date: dt.date | None
    title: str | None


def _id(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a numeric id column read as floats
    return value.strip() if isinstance(value, str) else None


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value.strip()).date()
    raise ValueError(value)


def lone_surrogate(text: str) -> str | None:
    """Where ``text`` holds a lone surrogate (a JSON ``"\\ud800"`` with no pair), which no UTF-8
    request can carry: "character N (\\ud800)", or None."""
    for number, char in enumerate(text):
        if "\ud800" <= char <= "\udfff":
            return f"character {number} (\\u{ord(char):04x})"
    return None


def unicode_problem(text: str) -> str | None:
    where = lone_surrogate(text) if not text.isascii() else None
    if where is None:
        return None
    return f"a lone surrogate at {where} is not Unicode text; fix that escape in the source (or drop it)"


def make_row(values: dict[str, Any], present: dict[str, str], where: str) -> TableRow:
    """Values by role (raw, as read) → a :class:`TableRow`, or an error naming the column."""

    def fail(role: str, problem: str) -> ArticleError:
        return ArticleError(f"{where}, column '{present[role]}': {problem}")

    article_id = _id(values.get("id"))
    if not article_id:
        raise fail("id", f"no article id ({values.get('id')!r}); every row needs one")
    text = values.get("text")
    if text is not None and not isinstance(text, str):
        raise fail("text", f"holds {type(text).__name__}, not text")
    if not text or not text.strip():
        raise fail("text", f"article '{article_id}' has empty text")
    for role in ("text", "title"):
        value = values.get(role)
        problem = unicode_problem(value) if isinstance(value, str) else None
        if problem:
            raise fail(role, f"article '{article_id}': {problem}")
    published = values.get("date")
    if published in (None, ""):
        published = None
    else:
        try:
            published = _date(published)
        except ValueError:
            raise fail("date", f"{published!r} is not a date; write YYYY-MM-DD (or an ISO date-time)") from None
    title = values.get("title")
    title = title.strip() or None if isinstance(title, str) else None
    return TableRow(where, article_id, text.strip(), published, title)


def _lines(handle: BinaryIO, source: str) -> Iterator[str]:
    """Decoded lines of a text table, split on ``\\n`` only; a byte that is not UTF-8 names its line."""
    for number, raw in enumerate(handle, start=1):
        if b"\x00" in raw:
            raise ArticleError(f"{source}:{number}: looks binary (NUL bytes); give llmx UTF-8 text")
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise ArticleError(
                f"{source}:{number}: not UTF-8 (byte {error.start} of the line); "
                "convert it, e.g. `iconv -f latin1 -t utf-8`"
            ) from error


def read_delimited(path: Path, columns: Columns, delimiter: str) -> Iterator[TableRow]:
    """CSV (``,``) or TSV (tab): a header row, then one article per row (quoted fields may span lines)."""
    kind = "TSV" if delimiter == "\t" else "CSV"
    number = line = 0
    with path.open("rb") as handle:
        # strict: a quote never closed is an error, not the rest of the file read as one field
        reader = csv.reader(_lines(handle, str(path)), delimiter=delimiter, strict=True)
        try:
            header = [name.strip() for name in next(reader, None) or []]
            if not header:
                raise ArticleError(f"{path}: the file is empty; remove it or add a header and articles")
            present = columns.required(header, str(path))
            index = {role: header.index(name) for role, name in present.items()}
            line = reader.line_num
            for cells in reader:
                start, line = line + 1, reader.line_num
                if not any(cell.strip() for cell in cells):
                    continue  # a blank line
                number += 1
                where = f"{path}:{start}: row {number}"
                if len(cells) != len(header):
                    raise ArticleError(
                        f"{where}: {len(cells)} fields where the header has {len(header)}; "
                        "quote fields that hold the delimiter"
                    )
                yield make_row({role: cells[i] for role, i in index.items()}, present, where)
        except csv.Error as error:
            if "end of data" in str(error):
                raise ArticleError(
                    f"{path}:{line + 1}: a quoted field opened on this line is never closed (the rest of the file "
                    'would be one field); close it, or write a quote inside a field as ""'
                ) from error
            raise ArticleError(f"{path}:{reader.line_num}: not valid {kind} ({error})") from error
    if number == 0:
        raise ArticleError(f"{path}: a header and no rows; add articles or leave the file out")


def read_jsonl(path: Path, columns: Columns) -> Iterator[TableRow]:
    """One JSON object per line (blank lines skipped), the columns as keys."""
    need = f'each line needs {{"{columns.id}", "{columns.text}"}}'
    any_line = False
    with path.open("rb") as handle:
        for number, line in enumerate(_lines(handle, str(path)), start=1):
            if not line.strip():
                continue
            any_line = True
            where = f"{path}:{number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as error:
                raise ArticleError(f"{where}: not valid JSON ({error.msg}); {need}") from error
            if not isinstance(data, dict):
                raise ArticleError(f"{where}: a JSON {type(data).__name__}, not an object; {need}")
            present = {role: getattr(columns, role) for role in ("id", "text", "date", "title")}
            for role in ("id", "text"):
                if present[role] not in data:
                    raise ArticleError(f"{where}: no '{present[role]}'; {need}")
            yield make_row({role: data.get(name) for role, name in present.items()}, present, where)
    if not any_line:
        raise ArticleError(f"{path}: the file is empty; remove it or add the articles")


def read_parquet(path: Path, columns: Columns) -> Iterator[TableRow]:
    """A Parquet file, read in record batches of only the columns named (flat memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ArticleError(f"{path}: not a readable Parquet file ({detail})") from error
    present = columns.required(table.schema_arrow.names, str(path))
    number, pool = 0, pa.default_memory_pool()
    try:
        for batch in table.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=list(present.values())):
            values = {role: batch.column(name).to_pylist() for role, name in present.items()}
            rows = batch.num_rows
            del batch  # only the Python values are used from here
            # Arrow's allocator keeps freed pages: without this, memory grew with every batch
            # read (+100 MB at 100k rows, bench/corpus_memory.py); with it, it stays flat.
            pool.release_unused()
            for offset in range(rows):
                number += 1
                row = {role: column[offset] for role, column in values.items()}
                yield make_row(row, present, f"{path}: row {number}")
    except pa.ArrowException as error:
        raise ArticleError(f"{path}: cannot read from row {number + 1} on ({str(error).splitlines()[0]})") from error
    if number == 0:
        raise ArticleError(f"{path}: no rows; add articles or leave the file out")
