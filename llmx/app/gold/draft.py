"""Draft gold from a run: ``llmx gold draft``, and the annotate page's "draft from the run".

A draft is a gold file per article holding the run's records as they are after the checks:
every schema field, the evidence (the article's own words where the quote was found in it),
and a ``note`` a person can read saying what the checks removed and whether the quote was
found. The file says ``"status": "draft"`` and every incident ``"pending": true`` until a
person accepts it, so a draft is never scored as gold by mistake (see :mod:`llmx.inputs.gold`).
Existing gold is never overwritten; a failed article gets no draft (it has no records, and an
empty file would claim the article reports nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmx.errors import GoldError
from llmx.inputs.config import Settings
from llmx.inputs.gold import GOLD_VERSION, GoldFile, dump_gold
from llmx.inputs.schemas import SchemaSpec, load_schema
from llmx.runs.files import atomic_create
from llmx.runs.folder import read_results
from llmx.runs.results import ArticleResult, ExtractedRecord


@dataclass
class DraftOutcome:
    folder: Path
    written: list[str] = field(default_factory=list)  # article ids drafted
    kept: list[str] = field(default_factory=list)  # article ids that already had a gold file
    failed: list[str] = field(default_factory=list)  # article ids the run failed: nothing to draft


def draft_incident(item: ExtractedRecord, text: str | None, schema: SchemaSpec) -> dict[str, Any]:
    """One run record as a pending gold incident: every schema field, and a note of what the
    checks said about it."""
    record = item.record
    incident: dict[str, Any] = {name: record.get(name) for name in schema.record_model.model_fields}
    notes = [f"checks removed {c.field}: {c.reason}" for c in item.verification]
    evidence = schema.evidence_field
    g = item.grounding
    if evidence and isinstance(record.get(evidence), str):
        quote = record[evidence].strip()
        if g is not None and g.grounded and g.start is not None and g.end is not None and text is not None:
            in_article = text[g.start : g.end].strip()
            if in_article and in_article != quote:
                notes.append(f"evidence taken from the article (the model's quote matched it at {g.score:.0f}/100)")
            quote = in_article or quote
        elif g is not None and not g.grounded:
            notes.append("evidence NOT found in the article: select the sentence that reports it")
        incident[evidence] = quote
    if notes:
        incident["note"] = "; ".join(notes)
    incident["pending"] = True
    return incident


def draft_file(result: ArticleResult, text: str | None, schema: SchemaSpec, drafted_from: str) -> GoldFile:
    incidents = [draft_incident(item, text, schema) for item in result.incidents]
    return GoldFile(
        version=GOLD_VERSION,
        article_id=result.article_id,
        schema_name=schema.name,
        incidents=incidents,
        status="draft",
        drafted_from=drafted_from,
    )


def write_drafts(
    results: list[ArticleResult], texts: dict[str, str], schema: SchemaSpec, folder: Path, drafted_from: str
) -> DraftOutcome:
    """A draft per article of ``results`` that has no gold file in ``folder`` yet."""
    outcome = DraftOutcome(folder)
    for result in sorted(results, key=lambda r: r.article_id):
        target = folder / f"{result.article_id}.json"
        if target.exists():
            outcome.kept.append(result.article_id)
        elif result.status == "failed":
            outcome.failed.append(result.article_id)
        else:
            draft = draft_file(result, texts.get(result.article_id), schema, drafted_from)
            if atomic_create(target, dump_gold(draft)):  # never replaces a file made meanwhile
                outcome.written.append(result.article_id)
            else:
                outcome.kept.append(result.article_id)
    return outcome


def project_schema(results: list[ArticleResult], settings: Settings, schema_name: str | None = None) -> SchemaSpec:
    """The project's schema (or the one named on the command line), never a module a run folder
    names: a run is data. A run made with another schema is refused, naming both."""
    schema = load_schema(schema_name or settings.schema_name, settings.schemas_dir)
    made_with = {r.provenance.schema_name for r in results} - {schema.name}
    if made_with and schema_name is None:
        raise GoldError(
            f"the run was made with schema {', '.join(sorted(made_with))}, the project uses '{schema.name}'; "
            "pass --schema NAME"
        )
    return schema


def draft_gold(
    run: Path,
    settings: Settings,
    out: Path | None = None,
    articles: list[str] | None = None,
    schema_name: str | None = None,
) -> DraftOutcome:
    """``llmx gold draft RUN``: a draft gold file per article of the run, in ``out`` (default the
    project's gold folder); article texts from ``articles`` or the run's recorded inputs."""
    from llmx.app.evaluation.view_page import load_texts

    results = read_results(run)
    schema = project_schema(results, settings, schema_name)
    notes: list[str] = []
    texts = load_texts([run], articles or [], notes, required=False, settings=settings)
    return write_drafts(results, texts, schema, out or settings.gold, str(run))
