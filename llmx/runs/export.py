"""Turn a run's results into a file for other tools. One table of formats serves both
``llmx extract --format`` and ``llmx export``; a new format is one function and one row."""

from __future__ import annotations

import csv
import enum
import io
import json
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from llmx.errors import OutputError
from llmx.runs.files import atomic_write, check_writable_file
from llmx.runs.results import ArticleResult


def to_csv(results: list[ArticleResult], kinds: ColumnKinds | None = None) -> str:
    """One row per incident (articles without any get one empty row), for spreadsheets.
    Values removed by verification are listed in ``verification`` so a reader sees every null's reason.
    With the schema's ``kinds``, every schema field is a column, in the schema's order, even in a run
    with no incident: two exports of one schema have the same header."""
    field_names = record_columns(results, kinds)
    sure = confidence_fields(results, kinds)
    columns = [
        "article_id",
        "status",
        "incident",
        *field_names,
        *(f"{name}_confidence" for name in sure),
        "grounding",
        "evidence_start",
        "evidence_end",
        "verification",
        "error",
    ]
    buffer = io.StringIO()
    writer = _SafeWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for result in sorted(results, key=lambda r: r.article_id):
        base = {
            "article_id": result.article_id,
            "status": result.status,
            "error": result.error.message if result.error else "",
        }
        if not result.incidents:
            writer.writerow(base)
        for number, item in enumerate(result.incidents, start=1):
            row = dict(base, incident=number, **{k: _cell(v) for k, v in item.record.items()})
            row.update({f"{name}_confidence": p for name, p in (item.confidence or {}).items() if name in sure})
            if item.grounding:
                row.update(
                    grounding=item.grounding.status,
                    evidence_start=item.grounding.start,
                    evidence_end=item.grounding.end,
                )
            row["verification"] = "; ".join(f"{c.field}={c.value!r}: {c.reason}" for c in item.verification)
            writer.writerow(row)
    return buffer.getvalue()


def confidence_fields(results: list[ArticleResult], kinds: ColumnKinds | None = None) -> list[str]:
    """The fields with a ``<field>_confidence`` column: with the schema's ``kinds``, every field
    but the quote (so two exports of one schema have one header, confidences or not); else those
    some record has a confidence for (none for a run made before confidences)."""
    if kinds is not None:
        return [name for name in kinds if name != "evidence"]
    return list(dict.fromkeys(name for r in results for item in r.incidents for name in item.confidence or {}))


def table_csv(columns: list[str], rows: Iterable[dict[str, Any]]) -> str:
    """Any table as CSV text through the same cell rules as the run export (``llmx events``):
    no cell a spreadsheet would run as a formula."""
    buffer = io.StringIO()
    writer = _SafeWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: _cell(value) for name, value in row.items()})
    return buffer.getvalue()


def to_jsonl(results: list[ArticleResult]) -> str:
    return "".join(r.model_dump_json(by_alias=True) + "\n" for r in results)


def to_parquet(results: list[ArticleResult], kinds: ColumnKinds | None = None) -> bytes:
    """The CSV's table (the same columns, rows and order; tests/test_corpus_formats.py holds them
    equal), each column with its own type. With the schema's ``kinds`` the types come from the
    schema (counts int64, ``intercepted`` bool, enums and dates text, nested values JSON text),
    every schema field is a column even in a run with no incident, so two exports of one schema
    concatenate; a value that does not fit its column is one error naming the article and field.
    Without them (no schema at hand) each column's type comes from its values, a mix as text.
    Read back with pandas, polars, DuckDB or pyarrow."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = record_columns(results, kinds)
    sure = confidence_fields(results, kinds)
    names = ["article_id", "status", "incident", *fields, *(f"{n}_confidence" for n in sure)]
    names += ["grounding", "evidence_start", "evidence_end"]
    columns: dict[str, list[Any]] = {name: [] for name in [*names, "verification", "error"]}
    for row in _parquet_rows(results, fields, sure):
        for name, value in zip(columns, row, strict=True):
            columns[name].append(value)
    fixed = {"article_id": "str", "status": "str", "incident": "int", "grounding": "str"}
    fixed |= {"evidence_start": "int", "evidence_end": "int", "verification": "str", "error": "str"}
    fixed |= {f"{n}_confidence": "float" for n in sure}  # a probability, even in a column of nulls
    arrays = {}
    for name, values in columns.items():
        kind = fixed.get(name) or (kinds or {}).get(name)
        arrays[name] = _typed_array(name, values, kind, columns["article_id"]) if kind else _guessed_array(values)
    sink = io.BytesIO()
    pq.write_table(pa.table(arrays), sink)
    return sink.getvalue()


def _parquet_rows(results: list[ArticleResult], fields: list[str], sure: list[str]) -> Iterator[list[Any]]:
    """One row per incident (an article with none: one row), in the Parquet table's column order."""
    for result in sorted(results, key=lambda r: r.article_id):
        error = result.error.message if result.error else None
        for number, item in enumerate(result.incidents or [None], start=1):
            if item is None:
                yield [result.article_id, result.status, None, *([None] * len(fields)), *([None] * len(sure)),
                       None, None, None, None, error]  # fmt: skip
                continue
            g = item.grounding
            checks = "; ".join(f"{c.field}={c.value!r}: {c.reason}" for c in item.verification)
            yield [
                result.article_id, result.status, number, *(_cell(item.record.get(f)) for f in fields),
                *((item.confidence or {}).get(n) for n in sure),
                *((g.status, g.start, g.end) if g else (None, None, None)), checks, error,
            ]  # fmt: skip


def _guessed_array(values: list[Any]) -> Any:
    """A column with no schema type: pyarrow's guess from the values; a mix of kinds as text."""
    import pyarrow as pa

    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):  # mixed types (a count and a word): text
        return pa.array([None if v is None else str(v) for v in values], pa.string())


# A column's type, from the schema: "int", "float", "bool", "str" or "json" (nested: JSON text).
ColumnKinds = dict[str, str]
ARROW_TYPES = {"int": "int64", "float": "float64", "bool": "bool_", "str": "string", "json": "string"}


def column_kinds(record_model: type[BaseModel]) -> ColumnKinds:
    """Each field of a schema's record model as a column type; a field that may hold values of
    two kinds (``int | str``) is text."""
    return {name: _kind(info.annotation) for name, info in record_model.model_fields.items()}


def _kind(annotation: Any) -> str:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin is not None and origin not in (typing.Union, types.UnionType):
        return "str" if origin is typing.Literal else "json"  # list[...], dict[...]
    if args:
        kinds = {_kind(a) for a in args}
        return kinds.pop() if len(kinds) == 1 else "str"
    if annotation is bool:
        return "bool"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "json"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "str"
    return {int: "int", float: "float"}.get(annotation, "str")


def record_columns(results: list[ArticleResult], kinds: ColumnKinds | None) -> list[str]:
    """The record columns: the schema's fields in order, then any other a record holds."""
    names = dict.fromkeys(kinds or {})
    names.update(dict.fromkeys(name for r in results for item in r.incidents for name in item.record))
    return list(names)


def _typed_array(name: str, values: list[Any], kind: str, article_ids: list[Any]) -> Any:
    import pyarrow as pa

    arrow_type = getattr(pa, ARROW_TYPES[kind])()
    if kind in ("str", "json"):
        values = [None if v is None else v if isinstance(v, str) else json.dumps(v) for v in values]
    try:
        return pa.array(values, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        for value, article_id in zip(values, article_ids, strict=True):
            try:
                pa.array([value], arrow_type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                raise OutputError(
                    f"article {article_id}, field {name}: {str(value)[:40]!r} does not fit the schema's "
                    f"{kind} column; export it as --format csv, or redo the article"
                ) from None
        raise


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (dict, list)) else value


# OWASP's CSV injection rule: a spreadsheet runs a cell that starts with one of these as a
# formula (=HYPERLINK(...), +cmd|..., @SUM...), tab and carriage return included.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A text cell no spreadsheet takes for a formula: a leading ``'`` when it starts like one
    (the text is kept; numbers stay numbers). Every text cell of the CSV goes through it."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class _SafeWriter(csv.DictWriter):  # type: ignore[type-arg]
    def writerow(self, rowdict: Any) -> Any:
        return super().writerow({k: safe_cell(v) for k, v in rowdict.items()})


FORMATS: dict[str, tuple[str, Callable[[list[ArticleResult], ColumnKinds | None], str | bytes]]] = {
    # name: (file suffix, render)
    "csv": (".csv", to_csv),
    "jsonl": (".jsonl", lambda results, kinds: to_jsonl(results)),
    "parquet": (".parquet", to_parquet),
}


def render(results: list[ArticleResult], fmt: str, kinds: ColumnKinds | None = None) -> str | bytes:
    return FORMATS[fmt][1](results, kinds)


def check_outside_run(output: Path, run: Path) -> None:
    """``llmx export RUN -o FILE``: FILE may not lie in RUN (``--force`` would replace the run's
    own files with the table made from them)."""
    target, folder = output.absolute().resolve(), run.absolute().resolve()
    if target == folder or folder in target.parents:
        raise OutputError(
            f"{output}: inside the run it exports ({run}); write it elsewhere, e.g. -o {folder.name}.csv",
            output,
        )


def write_export(
    results: list[ArticleResult], fmt: str, path: Path, force: bool = False, kinds: ColumnKinds | None = None
) -> Path:
    check_writable_file(path, force)
    atomic_write(path, render(results, fmt, kinds))
    return path
