"""Rich renderables for the gold loop: agreement between two annotations, and the sample of
articles to annotate next. Pure: data in, renderables out; the commands print them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:  # scoring pulls in scipy
    from llmx.app.gold.agreement import Agreement
    from llmx.app.gold.sampling import Sample

SHOWN_DISAGREEMENTS = 40


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _v(value: Any) -> str:
    from llmx.core.agreement import MISSING

    return "(not annotated)" if value is MISSING else json.dumps(value, ensure_ascii=False)


def agreement_report(agreement: Agreement, name_a: str, name_b: str) -> RenderableType:
    parts: list[RenderableType] = [_summary(agreement, name_a, name_b), _fields(agreement)]
    if agreement.disagreements:
        parts.append(_disagreements(agreement, name_a, name_b))
        more = len(agreement.disagreements) - SHOWN_DISAGREEMENTS
        if more > 0:
            parts.append(Text(f"… and {more} more (--json lists them all)", style="dim"))
    else:
        parts.append(Text("no disagreement", style="green"))
    parts.append(
        Text("alpha ≥ 0.80 is reliable, ≥ 0.667 tentative (Krippendorff); n/a: every value the same", style="dim")
    )
    return Group(*parts)


def _summary(agreement: Agreement, name_a: str, name_b: str) -> Table:
    inc = agreement.score.incidents
    head = Table(title=f"llmx gold agree {name_a} {name_b}", show_header=False, title_justify="left")
    head.add_column(style="bold")
    head.add_column(justify="right")
    head.add_row("articles in both", str(len(agreement.articles)))
    head.add_row("incidents matched", f"{inc.tp}  ({inc.fn} only in {name_a}, {inc.fp} only in {name_b})")
    head.add_row(f"P / R / F1 of {name_b} against {name_a}", f"{inc.precision:.2f} / {inc.recall:.2f} / {inc.f1:.2f}")
    for side, label in ((agreement.a, name_a), (agreement.b, name_b)):
        if side.drafts:
            head.add_row(f"drafts left out ({label})", str(len(side.drafts)))
        if side.failed:
            head.add_row(f"failed articles left out ({label})", str(len(side.failed)))
    if agreement.only_a or agreement.only_b:
        head.add_row(
            "articles only in one", f"{len(agreement.only_a)} in {name_a}, {len(agreement.only_b)} in {name_b}"
        )
    return head


def _fields(agreement: Agreement) -> Table:
    fields = Table(title="Per field, on the matched incidents (Krippendorff's alpha, nominal)", title_justify="left")
    fields.add_column("field")
    fields.add_column("alpha", justify="right")
    fields.add_column("agreed", justify="right")
    fields.add_column("units", justify="right")
    for name, f in agreement.fields.items():
        colour = "" if f.alpha is None else ("green" if f.alpha >= 0.8 else ("yellow" if f.alpha >= 0.667 else "red"))
        alpha = Text(_f(f.alpha), style=colour)
        fields.add_row(name, alpha, "–" if f.percent is None else f"{f.percent:.0%}", str(f.units))
    return fields


def _disagreements(agreement: Agreement, name_a: str, name_b: str) -> Table:
    listed = Table(title="Disagreements", title_justify="left")
    listed.add_column("article", no_wrap=True)
    for column in ("what", name_a, name_b):
        listed.add_column(column, overflow="fold")
    for d in agreement.disagreements[:SHOWN_DISAGREEMENTS]:
        if d.kind == "field":
            listed.add_row(d.article_id, f"#{(d.a_index or 0) + 1} {d.field}", _v(d.a_value), _v(d.b_value))
        elif d.kind == "only_a":
            listed.add_row(d.article_id, f"only in {name_a}", f"#{(d.a_index or 0) + 1} “{d.evidence or ''}”", "–")
        else:
            listed.add_row(d.article_id, f"only in {name_b}", "–", f"#{(d.b_index or 0) + 1} “{d.evidence or ''}”")
    return listed


def sample_report(found: Sample) -> RenderableType:
    table = Table(title=f"next {len(found.chosen)} of {found.candidates} article(s) to annotate", title_justify="left")
    table.add_column("article", no_wrap=True, min_width=max((len(d.article_id) for d in found.chosen), default=7))
    for column in ("points", "disagreement", "removed", "ungrounded", "likely wrong", "failed"):
        table.add_column(column, justify="right")
    for d in found.chosen:
        table.add_row(
            d.article_id,
            f"{d.points:g}",
            f"{d.disagreement:g}",
            f"{d.removed:g}",
            f"{d.ungrounded:g}",
            f"{d.unsure:g}" if d.unsure else "",
            str(d.failed or ""),
        )
    return table
