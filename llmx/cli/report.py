"""Rich renderables for runs and scores. Pure: they take results and return renderables; the CLI
prints them (and records them for ``--html``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from llmx.cli.safe_text import markup, plain
from llmx.runs.results import RunSummary

if TYPE_CHECKING:  # scoring pulls in scipy; `llmx extract` only needs summary_table
    from llmx.core.scoring import PRF, ArticleScore, Score


def summary_table(
    summary: RunSummary, mode: str, run_dir: Path, resumed: int = 0, files: dict[str, str] | None = None
) -> Table:
    table = Table(title=f"llmx extract ({mode})", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("run", markup(run_dir))
    if files:  # what the model was asked with: edit one of these to change it
        table.add_row("files read", files_cell(files))
    table.add_row("articles", f"{summary.articles}" + (f" ({resumed} kept from before)" if resumed else ""))
    table.add_row("ok / failed", f"{summary.ok} / [red]{summary.failed}[/]" if summary.failed else f"{summary.ok} / 0")
    table.add_row("incidents", str(summary.incidents))
    table.add_row("ungrounded evidence", str(summary.ungrounded))
    table.add_row("grounding re-asks", str(summary.grounding_reasks))
    table.add_row("unsupported values removed", f"{summary.values_removed} ({summary.verification_reasks} re-asks)")
    table.add_row("duplicates removed / merged", f"{summary.duplicates_removed} / {summary.merged}")
    table.add_row("requests replayed / live", f"{summary.replayed_calls} / {summary.live_calls}")
    table.add_row(
        "tokens (prompt + completion)", f"{summary.usage.prompt_tokens:,} + {summary.usage.completion_tokens:,}"
    )
    if summary.usage.cached_tokens or summary.usage.reasoning_tokens:
        table.add_row(
            "cached prompt / reasoning tokens", f"{summary.usage.cached_tokens:,} / {summary.usage.reasoning_tokens:,}"
        )
    table.add_row("cost paid by this run (live, batch)", usd(summary.spent_usd))
    table.add_row("recorded cost (replayed answers too)", usd(summary.cost_usd))
    if summary.failures:
        table.add_row("failures", markup(", ".join(f"{kind}: {n}" for kind, n in sorted(summary.failures.items()))))
    table.add_row("wall time", f"{summary.wall_s:.1f} s")
    return table


def files_cell(files: dict[str, str]) -> str:
    """One line per file read, with the start of its sha256 (the recipe records it in full)."""
    return "\n".join(f"{markup(path)} [dim]{sha[:8]}[/]" for path, sha in files.items())


def usd(value: float | None, unknown: str = "unknown (no price)") -> str:
    """A cost, or "unknown" for a model with no known price (never a made-up number)."""
    return unknown if value is None else f"${value:.4f}"


def score_json(score: Score, facts: dict[str, Any]) -> dict[str, Any]:
    """Everything a script needs, down to which record matched which (so anyone can audit a match)."""
    macro = score.field_macro_f1
    scored = list(score.fields)

    def absent(gold: Mapping[str, Any]) -> list[str]:
        """Scored fields this gold incident leaves out: not annotated, so not scored (a null is)."""
        return [name for name in scored if name not in gold]

    return {
        "incidents": score.incidents.summary(),
        "fields": {name: prf.summary() for name, prf in score.fields.items()},
        "field_macro_f1": round(macro, 4) if macro is not None else None,
        "articles": {
            article_id: {
                "incidents": article.incidents.summary(),
                "failed": article.failed,
                "matched": len(article.matched),
                "missed": len(article.missed),
                "spurious": len(article.spurious),
                "pairs": [
                    {
                        "predicted": pair.predicted_index,
                        "gold": pair.gold_index,
                        "similarity": pair.similarity,
                        "optional": pair.optional,
                        "differing": pair.differing,
                        "not_annotated": absent(pair.gold),
                    }
                    for pair in article.matched
                ],
                "gold_not_annotated": {
                    str(index): absent(gold)
                    for index, gold in [(p.gold_index, p.gold) for p in article.matched]
                    + list(zip(article.missed_indices, article.missed, strict=False))
                    if absent(gold)
                },
                "missed_gold": article.missed_indices,
                "spurious_predicted": article.spurious_indices,
            }
            for article_id, article in score.articles.items()
        },
        **facts,
    }


def number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def counted_or_none(prf: PRF, value: float) -> float | None:
    """A precision, recall or F1 only when something was counted: else "n/a", as the JSON says null."""
    return value if prf.counted else None


def ci(interval: list[float] | None) -> str:
    """A 95% interval as the reports show it, "[lo, hi]"; "" when there is none."""
    return "" if interval is None else f"[dim][{interval[0]:.2f}, {interval[1]:.2f}][/]"


def headline(score: Score, facts: dict[str, Any], title: str, intervals: dict[str, Any]) -> Panel:
    i = score.incidents
    usage = facts["usage"]
    failures = markup(", ".join(f"{k} {v}" for k, v in facts["failures"].items()) or "none")
    text = Text.from_markup(
        f"[bold]incidents[/]  P {number(counted_or_none(i, i.precision))} {ci(intervals['incident_precision'])}  "
        f"R {number(counted_or_none(i, i.recall))} {ci(intervals['incident_recall'])}  "
        f"[bold]F1 {number(counted_or_none(i, i.f1))}[/] {ci(intervals['incident_f1'])}   "
        f"(tp {i.tp}, fp {i.fp}, fn {i.fn})\n"
        f"[bold]fields[/]     macro-F1 {number(score.field_macro_f1)} {ci(intervals['field_macro_f1'])}\n"
        f"[dim]\\[lo, hi]: 95% interval, a bootstrap over the {len(score.articles)} articles (seeded)[/]\n"
        f"[bold]grounding[/]  {facts['grounding']['ungrounded']} ungrounded, "
        f"{facts['grounding']['grounding_reasks']} re-asks   [bold]failures[/] {failures}\n"
        f"[bold]checks[/]     {facts['verification']['values_removed']} unsupported values removed, "
        f"{facts['verification']['verification_reasks']} re-asks, "
        f"{facts['verification']['duplicates_removed']} duplicates removed, {facts['verification']['merged']} merged\n"
        f"[bold]tokens[/]     {usage['prompt_tokens']:,} prompt + {usage['completion_tokens']:,} completion\n"
        f"[bold]cost[/]       {usd(facts.get('cost_usd'), 'unknown')} recorded, "
        f"{usd(facts.get('spent_usd'), 'unknown')} paid by the run (replays pay nothing)"
    )
    return Panel(text, title=markup(title), title_align="left", expand=False)


def _prf_table(title: str, first: str, rows: dict[str, PRF], intervals: dict[str, Any] | None = None) -> Table:
    """P/R/F1 and counts per row; with ``intervals`` (row name → [lo, hi]), F1's 95% interval too."""
    table = Table(title=title, title_justify="left")
    table.add_column(first)
    for name in ("P", "R", "F1", *(["F1 95% CI"] if intervals is not None else []), "tp", "fp", "fn"):
        table.add_column(name, justify="right")
    for raw_name, prf in rows.items():
        name = markup(raw_name)  # article ids come from a run folder: data
        spread = [ci(intervals.get(raw_name)) or "n/a"] if intervals is not None else []
        if not prf.counted:
            table.add_row(name, "n/a", "n/a", "[dim]n/a[/]", *spread, "0", "0", "0")
            continue
        style = "red" if prf.f1 < 0.5 else ("yellow" if prf.f1 < 0.8 else "green")
        f1 = f"[{style}]{number(prf.f1)}[/]"
        table.add_row(
            name, number(prf.precision), number(prf.recall), f1, *spread, str(prf.tp), str(prf.fp), str(prf.fn)
        )
    return table


def _record_cell(record: Mapping[str, Any], names: list[str], differing: set[str], gold: bool = False) -> Text:
    """A record's fields, one a line: null as ``null``; a field a gold incident leaves out as
    "not annotated" (it is not scored), never shown like an annotated null."""
    text = Text()
    for name in names:
        text.append(f"{plain(name)}: ", style="dim")
        if gold and name not in record:
            text.append("not annotated\n", style="dim italic")
            continue
        value = record.get(name)
        shown = json.dumps(value) if value is None or isinstance(value, bool) else plain(value)  # as the file says
        text.append(f"{shown}\n", style="bold red" if name in differing else "")
    return text


def article_detail(article: ArticleScore, field_names: list[str], evidence_field: str | None) -> Table:
    title = (
        f"{markup(article.article_id)}  F1 {number(article.incidents.f1 if article.incidents.counted else None)}"
        + (f"  [red]failed: {markup(article.failed)}[/]" if article.failed else "")
    )
    table = Table(title=title, title_justify="left", show_lines=True, expand=True)
    table.add_column("", width=9)
    table.add_column("predicted", ratio=1)
    table.add_column("gold", ratio=1)
    for pair in article.matched:
        label = "optional" if pair.optional else f"matched\n{pair.similarity:.2f}"
        table.add_row(
            label,
            _record_cell(pair.predicted, field_names, set(pair.differing)),
            _record_cell(pair.gold, field_names, set(pair.differing), gold=True),
        )
    for gold in article.missed:
        table.add_row("[red]missed[/]", "", _record_cell(gold, field_names, set(), gold=True))
    for predicted in article.spurious:
        table.add_row("[red]spurious[/]", _record_cell(predicted, field_names, set()), "")
    if evidence_field:
        quotes = [p.predicted.get(evidence_field) for p in article.matched] + [
            p.get(evidence_field) for p in article.spurious
        ]
        for quote in filter(None, quotes):
            table.add_row("[dim]evidence[/]", Text(f"“{plain(quote)}”", style="italic"), "")
    return table


def score_report(
    score: Score,
    facts: dict[str, Any],
    title: str,
    field_names: list[str],
    evidence_field: str | None,
    details: bool,
    intervals: dict[str, Any],
) -> RenderableType:
    parts: list[RenderableType] = [
        headline(score, facts, title, intervals),
        _prf_table("fields (on matched incidents)", "field", score.fields, intervals["fields"]),
    ]
    parts.append(_prf_table("articles", "article", {a: s.incidents for a, s in score.articles.items()}))
    if details:
        parts.extend(article_detail(article, field_names, evidence_field) for article in score.articles.values())
    return Group(*parts)
