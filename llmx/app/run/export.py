"""``llmx export`` and ``extract --format``: a run as a table typed from its schema.

The column types come from the schema the run was made with (by its name, from the project's
``schemas_dir``: a run folder is data and never names code to import), so every schema field is a
column even in a run with no incident and two exports of one schema concatenate. Without a
project that has that schema, the types come from the values (:mod:`llmx.runs.export`).
"""

from __future__ import annotations

from pathlib import Path

from llmx.errors import LlmxError
from llmx.inputs.config import Settings, load_settings
from llmx.inputs.schemas import load_schema
from llmx.runs.export import ColumnKinds, check_outside_run, column_kinds, render, write_export
from llmx.runs.files import check_writable_file
from llmx.runs.folder import read_results
from llmx.runs.results import ArticleResult


def schema_kinds(results: list[ArticleResult], settings: Settings | None = None) -> ColumnKinds | None:
    """The column types of the one schema ``results`` were made with; None without it."""
    names = {r.provenance.schema_name for r in results}
    try:
        settings = settings or load_settings()
        name = names.pop() if len(names) == 1 else settings.schema_name if not names else None
        return column_kinds(load_schema(name, settings.schemas_dir).record_model) if name else None
    except LlmxError:
        return None


def export_run(run: Path, fmt: str, output: Path | None, force: bool = False) -> str | bytes | Path:
    """The run as ``fmt``: written to ``output`` (never inside the run) and its path returned, or
    the text itself."""
    if output is not None:
        check_outside_run(output, run)
        check_writable_file(output, force)  # before reading: a mistake costs nothing
    results = read_results(run)
    kinds = schema_kinds(results)
    if output is None:
        return render(results, fmt, kinds)
    return write_export(results, fmt, output, force, kinds)
