"""The rich report of ``llmx compare``: both runs' scores on the articles both finished, each
difference with its paired 95% interval and the verdict the interval gives ("better", "worse",
"not distinguishable"), never the sign alone. Pure: it returns renderables; the CLI prints them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from llmx.cli.report import counted_or_none, number, usd
from llmx.cli.safe_text import markup, plain

if TYPE_CHECKING:
    from llmx.app.evaluation.score import Comparison, Scored
    from llmx.core.scoring import PRF

VERDICT_STYLE = {"better": "green", "worse": "red", "not distinguishable": "dim", "n/a": "dim"}


def change_cells(row: dict[str, Any]) -> tuple[str, str, str]:
    """B's value, the change with its 95% interval, and the verdict, coloured by the verdict."""
    style = VERDICT_STYLE[row["verdict"]]
    if row["delta"] is None or row["ci95"] is None:
        return number(row["b"]), "[dim]n/a[/]", f"[dim]{row['verdict']}[/]"
    low, high = row["ci95"]
    change = f"[{style}]{row['delta']:+.2f}[/] [dim][{low:+.2f}, {high:+.2f}][/]"
    return number(row["b"]), change, f"[{style}]{row['verdict']}[/]"


def _f1(prf: PRF) -> float | None:
    return prf.f1 if prf.counted else None


def _cost_rows(a: Scored, b: Scored) -> Iterator[tuple[str, str, str]]:
    """Recorded cost, and what it bought: per incident found (matched to gold) and per point of F1."""
    costs = a.facts.get("cost_usd"), b.facts.get("cost_usd")
    yield "recorded cost", usd(costs[0]), usd(costs[1])

    def per(cost: float | None, amount: float) -> str:
        return usd(cost / amount) if cost is not None and amount > 0 else ("n/a" if cost is not None else "unknown")

    found = a.score.incidents.tp, b.score.incidents.tp
    yield "cost per incident found", per(costs[0], found[0]), per(costs[1], found[1])
    points = (_f1(a.score.incidents) or 0.0) * 100, (_f1(b.score.incidents) or 0.0) * 100
    yield "cost per point of F1", per(costs[0], points[0]), per(costs[1], points[1])


def _table(title: str, name_a: str, name_b: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("", no_wrap=True)  # a row's name on one line: the numbers wrap, not what they are
    table.add_column(name_a, justify="right")
    table.add_column(name_b, justify="right")
    table.add_column("Δ [95% CI]", justify="right")
    table.add_column("verdict")
    return table


def compare_report(comparison: Comparison, name_a: str, name_b: str) -> RenderableType:
    a, b = comparison.a.score, comparison.b.score
    intervals = comparison.intervals
    name_a, name_b = markup(name_a), markup(name_b)  # folder names: the user's, but still text
    head = _table(
        f"{name_a} → {name_b}  ({len(a.articles)} articles both runs finished; Δ = {name_b} − {name_a}, "
        "its 95% interval a paired bootstrap over those articles)",
        name_a,
        name_b,
    )
    ia = a.incidents
    for label, key, x in (
        ("incident P", "incident_precision", counted_or_none(ia, ia.precision)),
        ("incident R", "incident_recall", counted_or_none(ia, ia.recall)),
        ("incident F1", "incident_f1", counted_or_none(ia, ia.f1)),
        ("field macro-F1", "field_macro_f1", a.field_macro_f1),
    ):
        head.add_row(label, number(x), *change_cells(intervals[key]))
    for label, key in (("prompt tokens", "prompt_tokens"), ("completion tokens", "completion_tokens")):
        x_tokens, y_tokens = comparison.a.facts["usage"][key], comparison.b.facts["usage"][key]
        head.add_row(label, f"{x_tokens:,}", f"{y_tokens:,}", "", "")
    for label, x_text, y_text in _cost_rows(comparison.a, comparison.b):
        head.add_row(label, x_text, y_text, "", "")
    fields = _table("fields F1", name_a, name_b)
    for name, row in intervals["fields"].items():
        fields.add_row(markup(name), number(row["a"]), *change_cells(row))
    articles = Table(title="articles F1 (one article: no interval, no verdict)", title_justify="left")
    for column in ("", name_a, name_b):
        articles.add_column(column, justify="right" if column else "left")
    for article_id, before in a.articles.items():
        after = b.articles.get(article_id)
        x, y = _f1(before.incidents), _f1(after.incidents) if after else None
        change = "" if x is None or y is None or abs(y - x) < 0.005 else f" [dim]{y - x:+.2f}[/]"
        articles.add_row(markup(article_id), number(x), number(y) + change)
    tables: list[RenderableType] = [head, fields, articles]
    apart = [
        *(f"only in {name_a}: {aid}" for aid in comparison.only_a),
        *(f"only in {name_b}: {aid}" for aid in comparison.only_b),
        *(f"failed in {name_a}: {aid} ({kind})" for aid, kind in comparison.failed_a.items()),
        *(f"failed in {name_b}: {aid} ({kind})" for aid, kind in comparison.failed_b.items()),
    ]
    if apart:
        tables.append(
            Panel(
                Text(plain("\n".join(apart))),
                title="not compared (kept out of the deltas)",
                title_align="left",
                border_style="yellow",
                expand=False,
            )
        )
    return Group(*tables)
