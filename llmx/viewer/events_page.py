"""The events page (``llmx view RUN --events``): each event with its reports side by side, the
evidence highlighted in each report's article, disputed fields marked with every value and its
sources, and, against gold, the false and missed merges.

Pure: :func:`render_events` takes events, article texts and an optional event score, and
returns one self-contained page (no network), like :mod:`llmx.viewer.page`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from markupsafe import Markup

from llmx.runs.events import Event, EventReport, link_text
from llmx.viewer.highlight import COLOURS, highlight
from llmx.viewer.jinja_templates import template
from llmx.viewer.page import _fmt

if TYPE_CHECKING:
    from llmx.core.event_scoring import EventScore

FLAGS = ("several", "disputed", "false merge", "missed merge")


@dataclass
class FieldRow:
    name: str
    value: str
    null: bool
    disputed: list[tuple[str, str]] = field(default_factory=list)  # (value, its reports)


@dataclass
class ReportPane:
    report: EventReport
    text: Markup | None
    colour: int


@dataclass
class EventView:
    event: Event
    rows: list[FieldRow]
    panes: list[ReportPane]
    flags: list[str]
    merges: list[str]  # what gold says about this event's reports
    why: list[str] = field(default_factory=list)  # the pairs that joined it, with their weights


def render_events(
    events: Sequence[Event],
    texts: Mapping[str, str],
    title: str,
    field_names: Sequence[str],
    score: EventScore | None = None,
) -> str:
    """The page: events with several reports first (then by time, as given), every event kept."""
    false_with: dict[tuple[str, int], list[tuple[str, int]]] = {}
    missed_with: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for pairs, found in ((score.false_merges, false_with), (score.missed_merges, missed_with)) if score else ():
        for a, b in pairs:
            found.setdefault(a, []).append(b)
            found.setdefault(b, []).append(a)
    event_of = {(r.article_id, r.incident): e.event_id for e in events for r in e.reports}
    views = [_event_view(e, texts, field_names, false_with, missed_with, event_of) for e in events]
    views.sort(key=lambda v: v.event.size == 1)  # stable: time order within each group
    counts = {flag: sum(flag in v.flags for v in views) for flag in FLAGS}
    return template("events.html.jinja").render(
        title=title,
        views=views,
        counts=counts,
        flags=[f for f in FLAGS if score or "merge" not in f],
        reports=sum(e.size for e in events),
        score=score,
        colours=COLOURS,
    )


def _label(ref: tuple[str, int]) -> str:
    return f"{ref[0]} #{ref[1] + 1}"


def _event_view(
    event: Event,
    texts: Mapping[str, str],
    field_names: Sequence[str],
    false_with: Mapping[tuple[str, int], list[tuple[str, int]]],
    missed_with: Mapping[tuple[str, int], list[tuple[str, int]]],
    event_of: Mapping[tuple[str, int], str],
) -> EventView:
    rows = []
    for name in field_names:
        value = event.fields.get(name)
        shown = " | ".join(_fmt(v) for v in value) if isinstance(value, list) else _fmt(value)
        disputes = [(_fmt(d.value), ", ".join(k.label() for k in d.reports)) for d in event.disputes.get(name, [])]
        rows.append(FieldRow(name, shown, value is None or value == [], disputes))
    panes = []
    for report in event.reports:
        text = texts.get(report.article_id)
        spans = [(report.start, report.end, report.incident)] if report.start is not None and report.end else []
        marked = highlight(text, spans, report.article_id) if text is not None else None
        panes.append(ReportPane(report, marked, report.incident % COLOURS))
    flags = [*(["several"] if event.size > 1 else []), *(["disputed"] if event.disputes else [])]
    merges = _merge_errors(event, false_with, missed_with, event_of)
    why = [link_text(link) for link in event.links]
    flags += [f for f in ("false merge", "missed merge") if any(m.startswith(f) for m in merges)]
    return EventView(event, rows, panes, flags, merges, why)


def _merge_errors(
    event: Event,
    false_with: Mapping[tuple[str, int], list[tuple[str, int]]],
    missed_with: Mapping[tuple[str, int], list[tuple[str, int]]],
    event_of: Mapping[tuple[str, int], str],
) -> list[str]:
    """What gold says this event's fusion got wrong: reports it joined that gold keeps apart,
    and reports gold joins with one of another event."""
    merges = []
    for report in event.reports:
        ref = (report.article_id, report.incident)
        for other in false_with.get(ref, []):
            if ref < other:  # each pair once
                merges.append(f"false merge: gold has {_label(ref)} and {_label(other)} in two events")
        for other in missed_with.get(ref, []):
            merges.append(f"missed merge: gold has {_label(ref)} in one event with {_label(other)} ({event_of[other]})")
    return merges
