"""Turn a run's results into a file for other tools. One table of formats serves both
``llmx extract --format`` and ``llmx export``; a new format is one function and one row."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from llmx.runs.files import atomic_write, check_writable_file
from llmx.runs.results import ArticleResult


def to_csv(results: list[ArticleResult]) -> str:
    """One row per incident (articles without any get one empty row), for spreadsheets.
    Values removed by verification are listed in ``verification`` so a reader sees every null's reason."""
    field_names: list[str] = []
    for result in results:
        for item in result.incidents:
            field_names += [name for name in item.record if name not in field_names]
    sure = confidence_fields(results)
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


def confidence_fields(results: list[ArticleResult]) -> list[str]:
    """The fields some record has a confidence for: each gets a ``<field>_confidence`` column
    (none for a run made before confidences, so its export is as it was)."""
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


def to_parquet(results: list[ArticleResult]) -> bytes:
    """The CSV's table (the same columns, rows and order; tests/test_corpus_formats.py holds them
    equal), each column with its own type: counts are integers, ``intercepted`` a boolean,
    offsets numbers; a column whose values mix types holds them as text. Nested values are JSON,
    as in the CSV. Read back with pandas, polars, DuckDB or pyarrow."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = list(dict.fromkeys(name for r in results for item in r.incidents for name in item.record))
    sure = confidence_fields(results)
    names = ["article_id", "status", "incident", *fields, *(f"{n}_confidence" for n in sure)]
    names += ["grounding", "evidence_start", "evidence_end"]
    columns: dict[str, list[Any]] = {name: [] for name in [*names, "verification", "error"]}
    for result in sorted(results, key=lambda r: r.article_id):
        error = result.error.message if result.error else None
        for number, item in enumerate(result.incidents or [None], start=1):  # an article with none: one row
            g = item.grounding if item else None
            record = item.record if item else {}
            row = [result.article_id, result.status, number if item else None, *(_cell(record.get(f)) for f in fields)]
            row += [((item.confidence or {}).get(n) if item else None) for n in sure]
            row += [g.status, g.start, g.end] if g else [None, None, None]
            checks = item.verification if item else []
            row += ["; ".join(f"{c.field}={c.value!r}: {c.reason}" for c in checks) if item else None, error]
            for name, value in zip(columns, row, strict=True):
                columns[name].append(value)
    arrays = {}
    for name, values in columns.items():
        try:
            arrays[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types (a count and a word): text
            arrays[name] = pa.array([None if v is None else str(v) for v in values], pa.string())
    sink = io.BytesIO()
    pq.write_table(pa.table(arrays), sink)
    return sink.getvalue()


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


FORMATS: dict[str, tuple[str, Callable[[list[ArticleResult]], str | bytes]]] = {
    # name: (file suffix, render)
    "csv": (".csv", to_csv),
    "jsonl": (".jsonl", to_jsonl),
    "parquet": (".parquet", to_parquet),
}


def render(results: list[ArticleResult], fmt: str) -> str | bytes:
    return FORMATS[fmt][1](results)


def write_export(results: list[ArticleResult], fmt: str, path: Path, force: bool = False) -> Path:
    check_writable_file(path, force)
    atomic_write(path, render(results, fmt))
    return path
