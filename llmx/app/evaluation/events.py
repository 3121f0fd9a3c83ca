"""From reports to events: fuse a run's incidents across its articles, the use case behind
``llmx events`` (and the event scores of ``llmx score``, the events page of ``llmx view``).

The rule is the schema's ``EVENT``; the algorithm :mod:`llmx.core.fusion`; fused fields and
disputes :mod:`llmx.core.event_fields`. Undated reports are placed by their article's publication
date, which each result carries (older runs: the inputs run.json recorded, or ``articles``);
without it they are fused with nothing, and a note says so. A failed article has no reports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmx.app.evaluation.event_rows import event_rows, ordered_members
from llmx.core.event_fields import fuse_fields
from llmx.core.event_scoring import EventScore, score_events
from llmx.core.event_weights import Weights
from llmx.core.fusion import Fusion, fuse, gold_weights
from llmx.core.scoring import Score
from llmx.errors import RunError, SchemaError, UsageError
from llmx.inputs.aliases import load_aliases
from llmx.inputs.articles import iter_articles
from llmx.inputs.config import Settings
from llmx.inputs.corpus import read_kept_texts
from llmx.inputs.gold import load_gold
from llmx.inputs.schemas import SchemaSpec, load_schema
from llmx.inputs.tables import Columns
from llmx.runs.events import (
    Event,
    EventLink,
    FieldComparison,
    ReportKey,
    events_csv,
    events_jsonl,
)
from llmx.runs.files import atomic_write
from llmx.runs.folder import read_manifest, read_results
from llmx.runs.results import ArticleResult

EVENTS_FILE = "events.jsonl"
EVENTS_CSV = "events.csv"


@dataclass
class RunEvents:
    """A run's events, earliest first, and what a reader should know about how they were made."""

    run: Path
    events: list[Event]
    schema: SchemaSpec
    failed: dict[str, str] = field(default_factory=dict)  # article id → failure kind: no reports
    notes: list[str] = field(default_factory=list)
    candidate_pairs: int = 0  # pairs the blocking let through to the rule (not all pairs)
    fusion: Fusion | None = None  # the pairs' weights, to explain any two reports
    positions: dict[tuple[str, int], int] = field(default_factory=dict)  # report → position in fusion
    threshold: float = 0.0  # the match weight (bits) at which two reports joined

    def explain(self, a: tuple[str, int], b: tuple[str, int]) -> EventLink:
        """Why two reports of the run are (or are not) one event: the pair's weight and fields."""
        assert self.fusion is not None
        why = self.fusion.explain(self.positions[a], self.positions[b])
        fields = [FieldComparison(**f) for f in why.pop("fields")]
        agreed, disagreed = [f for f in fields if f.weight > 0], [f for f in fields if f.weight <= 0]
        refs = [ReportKey(article_id=a[0], incident=a[1]), ReportKey(article_id=b[0], incident=b[1])]
        return EventLink(reports=refs, agreed=agreed, disagreed=disagreed, **why)

    @property
    def reports(self) -> int:
        return sum(event.size for event in self.events)

    def event_of(self) -> dict[tuple[str, int], str]:
        """(article id, incident index) → the id of the event that report is in."""
        return {(r.article_id, r.incident): event.event_id for event in self.events for r in event.reports}


def publication_dates(
    run: Path,
    articles: list[str],
    notes: list[str],
    settings: Settings | None = None,
    results: list[ArticleResult] | None = None,
) -> dict[str, dt.date | None]:
    """Article id → publication date: from ``articles``, else the results (run version 2 on), else
    (older runs) the inputs run.json recorded; articles the run kept itself (HTML pages) win."""
    if not articles and results is not None and all(r.carries_facts for r in results):
        return {r.article_id: r.published for r in results}
    kept = {aid: article.date for aid, article in read_kept_texts(run).items()}
    if articles:
        read = iter_articles(articles, Columns.of(settings) if settings else None)
        return {**{article.id: article.date for article in read}, **kept}
    manifest = read_manifest(run)
    if manifest is None or not manifest.inputs:
        if not kept:
            notes.append(f"no publication dates: {run}/run.json does not say where the articles are (pass --articles)")
        return kept
    try:
        read = iter_articles(manifest.inputs, Columns.of(manifest.settings), html=False)
        return {**{article.id: article.date for article in read}, **kept}
    except UsageError as error:  # inputs moved since the run: fuse on the records' own dates
        notes.append(f"no publication dates: the run's inputs cannot be read ({error}); pass --articles")
        return kept


def event_schema(results: list[ArticleResult], settings: Settings, schema_name: str | None = None) -> SchemaSpec:
    named = schema_name or next((r.provenance.schema_name for r in results), settings.schema_name)
    schema = load_schema(named, settings.schemas_dir)
    if schema.event is None:
        raise SchemaError(
            f"{schema.path}: declares no event rule; add EVENT = {{field: {{'agree': ..., 'fuse': ...}}}} "
            "(see schemas/incident.py and docs/codebook.md, 'From reports to events')"
        )
    return schema


def fuse_results(
    run: Path,
    results: list[ArticleResult],
    settings: Settings,
    schema: SchemaSpec,
    published: dict[str, dt.date | None],
    threshold: float | None = None,
) -> RunEvents:
    """The events of every incident of ``results``; reports join at ``threshold`` bits (or the rule's)."""
    assert schema.event is not None
    keys = sorted((r.article_id, i) for r in results for i in range(len(r.incidents)))
    by_id = {r.article_id: r for r in results}
    items = [by_id[aid].incidents[i] for aid, i in keys]
    records = [item.record for item in items]
    articles = [aid for aid, _ in keys]
    days = [published.get(aid) for aid in articles]
    aliases = load_aliases(settings.aliases)
    notes: list[str] = []
    weights = (
        _gold_weights(settings, schema, published, aliases, notes) if schema.event.link.estimate == "gold" else None
    )
    fusion = fuse(records, articles, days, schema.event, schema.fields, aliases, weights=weights, threshold=threshold)
    if fusion.weights is not None:
        notes.append(f"match weights: {fusion.weights.source}")
    window = schema.event.window.name
    members = ordered_members(fusion.labels.tolist(), records, keys, days, window)
    names = list(schema.record_model.model_fields)
    fused = fuse_fields(records, members, names, schema.event, schema.fields, aliases)
    events = event_rows(fused, keys, items, days, schema.evidence_field, window)
    failed = {r.article_id: r.error.kind for r in results if r.error}
    cut = schema.event.link.threshold if threshold is None else threshold
    made = RunEvents(
        run, events, schema, failed, notes, fusion.candidate_pairs, fusion, {k: i for i, k in enumerate(keys)}, cut
    )
    event_of = made.event_of()
    by_event = {e.event_id: e for e in events}
    for link in fusion.links:
        a, b = keys[link.left], keys[link.right]
        by_event[event_of[a]].links.append(made.explain(a, b))
    return made


def _gold_weights(
    settings: Settings, schema: SchemaSpec, published: dict[str, dt.date | None], aliases: Any, notes: list[str]
) -> Weights | None:
    """m and u from the project's gold events (None: the project has none, EM decides)."""
    assert schema.event is not None
    if not settings.gold.is_dir():
        return None
    try:
        gold = load_gold(settings.gold, schema)
    except (UsageError, SchemaError) as error:
        notes.append(f"gold events not read ({error}): match weights by EM")
        return None
    if not gold_has_events(gold):
        return None
    keys = sorted((aid, i) for aid, records in gold.items() for i in range(len(records)))
    records = [gold[aid][i] for aid, i in keys]
    return gold_weights(
        records,
        [aid for aid, _ in keys],
        [published.get(aid) for aid, _ in keys],
        [r.get("event") for r in records],
        schema.event,
        schema.fields,
        aliases,
    )


def fuse_run(
    run: Path,
    settings: Settings,
    articles: list[str] | None = None,
    schema_name: str | None = None,
    threshold: float | None = None,
) -> RunEvents:
    """The events of a run folder; publication dates from ``articles`` or the run's own inputs."""
    if not (run / "extractions.jsonl").is_file():
        raise RunError(f"{run}: not a run (no extractions.jsonl); pass a folder written by `llmx extract`")
    results = read_results(run)
    schema = event_schema(results, settings, schema_name)
    notes: list[str] = []
    published = publication_dates(run, articles or [], notes, settings, results)
    fused = fuse_results(run, results, settings, schema, published, threshold)
    fused.notes = notes + fused.notes
    return fused


def write_events(fused: RunEvents, csv: bool = False) -> list[Path]:
    """``RUN/events.jsonl`` (and ``RUN/events.csv``), each written whole or not at all."""
    written = [fused.run / EVENTS_FILE]
    atomic_write(written[0], events_jsonl(fused.events))
    if csv:
        written.append(fused.run / EVENTS_CSV)
        atomic_write(written[1], events_csv(fused.events, list(fused.schema.record_model.model_fields)))
    return written


def gold_has_events(gold: dict[str, list[dict[str, Any]]]) -> bool:
    """Gold annotated for events (any ``event`` key): a record without one is an event alone."""
    return any("event" in record for records in gold.values() for record in records)


def score_run_events(
    run: Path,
    results: list[ArticleResult],
    settings: Settings,
    schema: SchemaSpec,
    gold: dict[str, list[dict[str, Any]]],
    score: Score,
) -> tuple[EventScore | None, list[str]]:
    """Event fusion against gold, on the predicted incidents that matched a required gold
    record; None when the schema declares no event rule or the gold names no event."""
    if schema.event is None or not gold_has_events(gold):
        return None, []
    notes: list[str] = []
    fused = fuse_results(run, results, settings, schema, publication_dates(run, [], notes, settings, results))
    return score_fused(fused, score), notes


def score_fused(fused: RunEvents, score: Score) -> EventScore:
    """The events of ``fused`` against gold, through the matched pairs of ``score``."""
    event_of = fused.event_of()
    items: list[tuple[tuple[str, int], Hashable, Hashable]] = []
    for article_id, article in score.articles.items():
        for pair in article.matched:
            if pair.optional:
                continue  # background: neither rewarded nor penalised, in fusion too
            named = pair.gold.get("event")
            truth = ("event", named) if named else ("single", article_id, pair.gold_index)
            report = (article_id, pair.predicted_index)
            items.append((report, event_of[report], truth))
    scored = score_events(items)
    for a, b in [*scored.false_merges, *scored.missed_merges]:
        link = fused.explain(a, b)
        scored.why[(a, b)] = link.model_dump(mode="json")
    return scored
