"""A run's fused events as the rows events.jsonl, the CSV and the events page show: each event's
reports in the order they happened, each report with its evidence, offsets and dates, and the
events themselves in the order of their first report. The fusion itself is
:mod:`llmx.core.fusion` and :mod:`llmx.core.event_fields`; this module only lays it out."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

from llmx.core.event_columns import day_span
from llmx.core.event_fields import FusedEvent
from llmx.runs.events import DisputedValue, Event, EventReport, ReportKey
from llmx.runs.results import ExtractedRecord

Key = tuple[str, int]  # (article id, incident index): one report


def ordered_members(
    labels: Sequence[int],
    records: Sequence[dict[str, Any]],
    keys: Sequence[Key],
    days: Sequence[dt.date | None],
    window: str,
) -> list[list[int]]:
    """Report positions per event, each event's reports by their first day (their own date, else
    the publication date; undated last), and the events by their first report."""
    members: list[list[int]] = [[] for _ in range(max(labels, default=-1) + 1)]
    for position, label in enumerate(labels):
        members[label].append(position)

    def when(position: int) -> tuple[int, str, int]:
        value = records[position].get(window)
        span = day_span(value) if isinstance(value, str) else None
        day = days[position]
        first = span[0] if span else (day.toordinal() if day else 10**7)
        return first, *keys[position]

    for group in members:
        group.sort(key=when)
    members.sort(key=lambda group: when(group[0]))
    return members


def event_rows(
    fused: Sequence[FusedEvent],
    keys: Sequence[Key],
    items: Sequence[ExtractedRecord],
    days: Sequence[dt.date | None],
    evidence: str | None,
    window: str,
) -> list[Event]:
    """One :class:`Event` per fused event, its reports grounded in their articles."""
    events = []
    for event in fused:
        refs = [ReportKey(article_id=keys[p][0], incident=keys[p][1]) for p in event.reports]
        reports = [
            _report(ref, items[p], days[p], evidence, window) for ref, p in zip(refs, event.reports, strict=True)
        ]
        ref_of = dict(zip(event.reports, refs, strict=True))
        disputes = {
            name: [DisputedValue(value=d.value, reports=[ref_of[p] for p in d.reports]) for d in values]
            for name, values in event.disputes.items()
        }
        events.append(Event(event_id=event_id(refs), fields=event.fields, reports=reports, disputes=disputes))
    return events


def _report(
    ref: ReportKey, item: ExtractedRecord, day: dt.date | None, evidence: str | None, window: str
) -> EventReport:
    grounding = item.grounding
    return EventReport(
        **ref.model_dump(),
        evidence=item.record.get(evidence) if evidence else None,
        start=grounding.start if grounding else None,
        end=grounding.end if grounding else None,
        grounding=grounding.status if grounding else None,
        date=item.record.get(window),
        published=day.isoformat() if day else None,
    )


def event_id(reports: list[ReportKey]) -> str:
    """Stable across runs that hold the same reports: a hash of them, in a fixed order."""
    text = "\n".join(sorted(f"{r.article_id}\t{r.incident}" for r in reports))
    return "ev-" + hashlib.sha256(text.encode()).hexdigest()[:12]
