"""How event fusion scores are shown: in ``llmx score`` (a panel, and ``"events"`` in --json) and
in ``llmx compare`` (the change). Pure: event scores in, renderables and dicts out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from llmx.core.event_scoring import EventScore, ReportRef

SHOWN = 20  # merges listed in the terminal; --json lists them all


def _ref(report: ReportRef) -> dict[str, Any]:
    return {"article_id": report[0], "incident": report[1]}


def _label(report: ReportRef) -> str:
    return f"{report[0]} #{report[1] + 1}"


def events_json(events: EventScore | None) -> dict[str, Any] | None:
    """``"events"`` of ``llmx score --json``: None when gold names no event (not annotated)."""
    if events is None:
        return None
    return {
        "pairwise": events.pairwise.summary(),
        "bcubed": events.bcubed.summary() if events.reports else None,
        "reports": events.reports,
        "predicted_events": events.predicted_events,
        "gold_events": events.gold_events,
        "false_merges": [[_ref(a), _ref(b)] for a, b in events.false_merges],
        "missed_merges": [[_ref(a), _ref(b)] for a, b in events.missed_merges],
        "why": [events.why[pair] for pair in [*events.false_merges, *events.missed_merges] if pair in events.why],
    }


def _why(link: dict[str, Any] | None) -> str:
    """A pair's weight and its fields, as events.jsonl explains a link."""
    if not link:
        return ""
    fields = ", ".join(f"{c['field']} {c['level']} {c['weight']:+.1f}" for c in [*link["agreed"], *link["disagreed"]])
    veto = (" vetoed" if link.get("vetoed") else "") + ("" if link.get("compared", True) else " never compared")
    return f"  {link['weight']:.1f} bits{veto} ({fields})"


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def events_panel(events: EventScore) -> RenderableType:
    pw = events.pairwise
    b3 = events.bcubed if events.reports else None  # no matched report: nothing was measured
    lines = Text.from_markup(
        f"[bold]pairwise[/]  P {_f(pw.precision if pw.counted else None)}  R {_f(pw.recall if pw.counted else None)}  "
        f"[bold]F1 {_f(pw.f1 if pw.counted else None)}[/]   (pairs: tp {pw.tp}, false merges {pw.fp}, "
        f"missed merges {pw.fn})\n"
        f"[bold]B³[/]        P {_f(b3.precision if b3 else None)}  R {_f(b3.recall if b3 else None)}  "
        f"[bold]F1 {_f(b3.f1 if b3 else None)}[/]   ({events.reports} matched reports: "
        f"{events.predicted_events} predicted events, {events.gold_events} gold events)"
    )
    parts: list[RenderableType] = [lines]
    for title, pairs, style in (
        ("false merges (one predicted event, two gold events)", events.false_merges, "red"),
        ("missed merges (one gold event, two predicted events)", events.missed_merges, "yellow"),
    ):
        if pairs:
            shown = [f"  {_label(a)}  +  {_label(b)}{_why(events.why.get((a, b)))}" for a, b in pairs[:SHOWN]]
            more = [f"  … and {len(pairs) - SHOWN} more (--json lists them all)"] if len(pairs) > SHOWN else []
            parts.append(Text("\n".join([title, *shown, *more]), style=style))
    return Panel(Group(*parts), title="events (fusion across articles, on matched incidents)", title_align="left")


def events_compare(a: EventScore | None, b: EventScore | None, name_a: str, name_b: str) -> RenderableType | None:
    """The change in event fusion between two runs (None when neither was scored for events)."""
    if a is None and b is None:
        return None
    table = Table(title="events (fusion)", title_justify="left")
    table.add_column("")
    table.add_column(name_a, justify="right")
    table.add_column(name_b, justify="right")

    def pairwise(score: EventScore | None) -> float | None:
        return score.pairwise.f1 if score and score.pairwise.counted else None

    def bcubed(score: EventScore | None) -> float | None:
        return score.bcubed.f1 if score and score.reports else None

    for label, get in (("pairwise F1", pairwise), ("B³ F1", bcubed)):
        before, after = get(a), get(b)
        change = "" if before is None or after is None or abs(after - before) < 0.005 else f"{after - before:+.2f}"
        colour = "green" if change.startswith("+") else "red"
        table.add_row(
            label, _f(before), f"{_f(after)}  [{colour}]{change}[/]" if change else f"{_f(after)}  [dim]±0[/]"
        )
    for label, count in (
        ("false merges", lambda s: len(s.false_merges)),
        ("missed merges", lambda s: len(s.missed_merges)),
    ):
        table.add_row(label, str(count(a)) if a else "n/a", str(count(b)) if b else "n/a")
    return table
