"""What ``llmx events`` writes: one :class:`Event` per line of ``RUN/events.jsonl`` (and a row of
``events.csv``), each with its fused fields, every report it came from and its disputes.

Versioned like every file llmx writes, so a reader of an old or foreign file fails loudly.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from llmx.runs.export import table_csv

EVENTS_VERSION = 1


class ReportKey(BaseModel):
    article_id: str
    incident: int  # position in the article's incidents in extractions.jsonl, from 0

    def label(self) -> str:
        """As the viewer and the score report show it: ``article #1`` is incident 0."""
        return f"{self.article_id} #{self.incident + 1}"


class EventReport(ReportKey):
    """One report of the event: where it is in the run, its quote and where the quote is."""

    evidence: str | None = None
    start: int | None = None  # character offsets of the evidence in the article (grounding)
    end: int | None = None
    grounding: str | None = None  # exact, normalized, fuzzy or ungrounded
    date: str | None = None  # the report's own date
    published: str | None = None  # its article's publication date, when known


class DisputedValue(BaseModel):
    value: Any
    reports: list[ReportKey]


class FieldComparison(BaseModel):
    """One field of a pair of reports: how they compare and what it weighs (bits; < 0 apart)."""

    field: str
    level: str  # e.g. "same", "share a name", "different", "a day apart"
    weight: float


class EventLink(BaseModel):
    """A pair of reports whose match weight joined them into the event, and why."""

    reports: list[ReportKey]  # the two reports
    weight: float  # the pair's match weight (bits): at least the rule's threshold
    vetoed: bool = False  # a fact both cannot state (two explicit days, two named places): never one event
    compared: bool = True  # False: blocking never paired them (no place word or actor shared, or no date)
    agreed: list[FieldComparison] = []  # fields that weigh for one event
    disagreed: list[FieldComparison] = []  # fields that weigh against


class Event(BaseModel):
    version: int = EVENTS_VERSION
    event_id: str  # stable: derived from its reports, so the same reports keep the same id
    fields: dict[str, Any]
    reports: list[EventReport]
    disputes: dict[str, list[DisputedValue]] = {}
    links: list[EventLink] = []  # the pairs that joined its reports (one fewer than its reports)

    @property
    def size(self) -> int:
        return len(self.reports)


def events_jsonl(events: list[Event]) -> str:
    return "".join(event.model_dump_json() + "\n" for event in events)


def events_csv(events: list[Event], field_names: list[str]) -> str:
    """One row per event: its fused fields, its reports, and each dispute with its sources."""
    columns = ["event_id", "reports", "articles", *field_names, "disputed", "disputes", "sources", "why"]
    rows = []
    for event in events:
        row: dict[str, Any] = {
            "event_id": event.event_id,
            "reports": event.size,
            "articles": len({r.article_id for r in event.reports}),
            **{name: _flat(event.fields.get(name)) for name in field_names},
            "disputed": ", ".join(event.disputes),
            "disputes": "; ".join(
                f"{name}: " + ", ".join(f"{_flat(d.value)} [{', '.join(k.label() for k in d.reports)}]" for d in values)
                for name, values in event.disputes.items()
            ),
            "sources": "; ".join(r.label() for r in event.reports),
            "why": "; ".join(link_text(link) for link in event.links),
        }
        rows.append(row)
    return table_csv(columns, rows)


def _flat(value: Any) -> Any:
    """A list (a union field) as one cell: its values joined by " | "."""
    if isinstance(value, list):
        return " | ".join(str(v) for v in value)
    return value


def link_text(link: EventLink) -> str:
    """A link in one line: ``a #1 + b #1: 5.2 bits (location same +0.8, ...)``."""
    fields = ", ".join(f"{c.field} {c.level} {c.weight:+.1f}" for c in [*link.agreed, *link.disagreed])
    veto = ", vetoed: two facts that cannot both be true" if link.vetoed else ""
    veto += ", never compared: no place word or actor in common, or no date" if not link.compared else ""
    return f"{' + '.join(r.label() for r in link.reports)}: {link.weight:.1f} bits{veto} ({fields})"
