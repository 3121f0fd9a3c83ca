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
    columns = [
        "article_id",
        "status",
        "incident",
        *field_names,
        "grounding",
        "evidence_start",
        "evidence_end",
        "verification",
        "error",
    ]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
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
            if item.grounding:
                row.update(
                    grounding=item.grounding.status,
                    evidence_start=item.grounding.start,
                    evidence_end=item.grounding.end,
                )
            row["verification"] = "; ".join(f"{c.field}={c.value!r}: {c.reason}" for c in item.verification)
            writer.writerow(row)
    return buffer.getvalue()


def table_csv(columns: list[str], rows: Iterable[dict[str, Any]]) -> str:
    """Any table as CSV text through the same cell rules as the run export (``llmx events``)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: _cell(value) for name, value in row.items()})
    return buffer.getvalue()


def to_jsonl(results: list[ArticleResult]) -> str:
    return "".join(r.model_dump_json(by_alias=True) + "\n" for r in results)


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (dict, list)) else value


FORMATS: dict[str, tuple[str, Callable[[list[ArticleResult]], str]]] = {
    # name: (file suffix, render)
    "csv": (".csv", to_csv),
    "jsonl": (".jsonl", to_jsonl),
}


def render(results: list[ArticleResult], fmt: str) -> str:
    return FORMATS[fmt][1](results)


def write_export(results: list[ArticleResult], fmt: str, path: Path, force: bool = False) -> Path:
    check_writable_file(path, force)
    atomic_write(path, render(results, fmt))
    return path
