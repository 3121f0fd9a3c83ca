"""One self-contained HTML page that shows a run (or two) and its score: ``llmx view``.

Pure: :func:`render_view` takes already-loaded data (results, article texts, an optional score)
and returns the page as a string; reading runs, gold and articles is the caller's job. The page
needs no network: CSS and a little JS are inline, the chart is inline SVG.

Evidence is highlighted at the grounding offsets. Two incidents often quote the same or
overlapping sentences, so highlights are laid out as well-formed nested ``<mark>`` elements,
split where spans cross; every piece carries its incident's ``data-incident``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from llmx.runs.results import ArticleResult, ExtractedRecord, RunSummary
from llmx.viewer.highlight import COLOURS, escape_text, highlight
from llmx.viewer.jinja_templates import template

if TYPE_CHECKING:  # scoring pulls in numpy and scipy; the viewer only reads its results
    from llmx.core.scoring import ArticleScore, Pair, Score

STATUSES = ("missed", "spurious", "ungrounded", "failed")
ANNOTATION_KEYS = ("optional", "note", "event")


@dataclass
class ViewRun:
    """One run as the viewer needs it. ``facts`` is :func:`llmx.cli.report.run_facts`'s dict: the
    page shows its ``cost_usd`` when known (tokens and failures it counts from ``results``)."""

    name: str
    results: list[ArticleResult]
    texts: Mapping[str, str]
    score: Score | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)
    evidence_field: str = "evidence"
    confidence: Mapping[str, Any] | None = None  # app/evaluation/calibration.confidence_report: the reliability diagram


SURE = 0.9  # a value at least this sure is hidden by the page's "hide sure values"


@dataclass
class Row:
    name: str
    value: str
    null: bool
    gold: str | None = None  # gold's value, shown only where the field differs
    flagged: bool = False  # a verification note names this field
    confidence: float | None = None  # how sure llmx is of the value (None: the run has no confidences)


@dataclass
class Card:
    index: int | None  # the record's index in the run's incidents list; None for a missed gold record
    status: str  # matched, optional, spurious, missed, or "" when the article has no gold
    rows: list[Row]
    similarity: float | None = None
    grounding: str = ""
    grounded: bool = True
    quote: str | None = None  # evidence shown in the card: a missed gold record's, or an ungrounded one
    note: str | None = None
    verification: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Pane:
    """One run's view of one article."""

    text: Markup | None
    cards: list[Card] = field(default_factory=list)
    failed: str | None = None
    absent: bool = False  # the article is not in this run
    f1: float | None = None
    flags: set[str] = field(default_factory=set)


@dataclass
class ArticleView:
    id: str
    panes: list[Pane]
    changed: bool = False

    @property
    def flags(self) -> list[str]:
        found = set().union(*(pane.flags for pane in self.panes)) | ({"changed"} if self.changed else set())
        return [flag for flag in (*STATUSES, "changed") if flag in found]


def render_view(runs: Sequence[ViewRun]) -> str:
    """The page for one run, or two side by side (articles whose result changed first)."""
    if len(runs) not in (1, 2):
        raise ValueError(f"render_view takes one or two runs, not {len(runs)}")
    by_id = [{r.article_id: r for r in run.results} for run in runs]
    ids = sorted(set().union(*by_id))
    articles = []
    for article_id in ids:
        results = [found.get(article_id) for found in by_id]
        panes = [_pane(run, article_id, result) for run, result in zip(runs, results, strict=True)]
        articles.append(ArticleView(article_id, panes, len(runs) == 2 and _changed(*results)))
    articles.sort(key=lambda a: not a.changed)  # stable: by id within each group
    counts = {flag: sum(flag in a.flags for a in articles) for flag in (*STATUSES, "changed")}
    return template("viewer.html.jinja").render(
        runs=runs,
        heads=[_head(run) for run in runs],
        paired=_paired(runs),
        bars=_bars(runs),
        articles=articles,
        counts=counts,
        statuses=[*STATUSES, *(["changed"] if len(runs) == 2 else [])],
        sure=SURE,
        any_confidence=any(item.confidence for run in runs for r in run.results for item in r.incidents),
        colours=COLOURS,
    )


def _changed(a: ArticleResult | None, b: ArticleResult | None) -> bool:
    if a is None or b is None:
        return True
    return a.status != b.status or [i.record for i in a.incidents] != [i.record for i in b.incidents]


def _pane(run: ViewRun, article_id: str, result: ArticleResult | None) -> Pane:
    text = run.texts.get(article_id)
    if result is None:
        return Pane(text=Markup(escape_text(text)) if text is not None else None, absent=True)
    scored = run.score.articles.get(article_id) if run.score else None
    cards = _cards(result, scored, run.evidence_field)
    spans = [
        (g.start, g.end, i)
        for i, item in enumerate(result.incidents)
        if (g := item.grounding) and g.grounded and g.start is not None and g.end is not None
    ]
    pane = Pane(
        text=highlight(text, spans, article_id) if text is not None else None,
        cards=cards,
        failed=f"{result.error.kind}: {result.error.message}" if result.error else None,
        f1=scored.incidents.f1 if scored else None,
    )
    pane.flags = {card.status for card in cards if card.status in ("missed", "spurious")}
    pane.flags |= {"ungrounded"} if any(not c.grounded for c in cards) else set()
    pane.flags |= {"failed"} if result.status == "failed" else set()
    return pane


def _cards(result: ArticleResult, scored: ArticleScore | None, evidence_field: str) -> list[Card]:
    """A card per predicted incident, in the run's order, then one per missed gold record."""
    outcome: dict[int, tuple[str, Pair | None]] = {}
    if scored:
        # Score pairs hold the run's own record dicts; equality is the fallback if a scorer copies them.
        unused = {id(item.record): i for i, item in enumerate(result.incidents)}

        def index_of(record: Mapping[str, Any]) -> int | None:
            i = unused.pop(id(record), None)
            if i is None:
                i = next((j for j in sorted(unused.values()) if result.incidents[j].record == record), None)
                if i is not None:
                    del unused[id(result.incidents[i].record)]
            return i

        for pair in scored.matched:
            if (i := index_of(pair.predicted)) is not None:
                outcome[i] = ("optional" if pair.optional else "matched", pair)
        for record in scored.spurious:
            if (i := index_of(record)) is not None:
                outcome[i] = ("spurious", None)
    cards = [_card(i, item, *outcome.get(i, ("", None)), evidence_field) for i, item in enumerate(result.incidents)]
    for gold in scored.missed if scored else []:
        names = [k for k in gold if k not in ANNOTATION_KEYS and k != evidence_field]
        rows = [_row(name, gold.get(name)) for name in names]
        cards.append(Card(None, "missed", rows, quote=gold.get(evidence_field), note=gold.get("note")))
    return cards


def _card(index: int, item: ExtractedRecord, status: str, pair: Pair | None, evidence_field: str) -> Card:
    # ExtractedRecord may later carry verification notes, [{field, value, reason}], as dicts or models
    notes = [_note(n) for n in getattr(item, "verification", None) or []]
    flagged = {n.get("field") for n in notes}
    differing = set(pair.differing) if pair else set()
    rows = []
    for name, value in item.record.items():
        if name == evidence_field:
            continue
        row = _row(name, value, flagged=name in flagged)
        row.confidence = (item.confidence or {}).get(name)
        if pair and name in differing:
            row.gold = _fmt(pair.gold.get(name))
        rows.append(row)
    g = item.grounding
    grounded = g is None or g.grounded
    label = "" if g is None else g.status + (f" {g.score:.0f}" if g.status == "fuzzy" else "")
    return Card(
        index,
        status,
        rows,
        similarity=pair.similarity if pair else None,
        grounding=label,
        grounded=grounded,
        quote=None if grounded else item.record.get(evidence_field),
        verification=notes,
    )


def _note(note: Any) -> dict[str, Any]:
    if hasattr(note, "model_dump"):
        note = note.model_dump()
    return dict(note) if isinstance(note, Mapping) else {"reason": str(note)}


def _row(name: str, value: Any, flagged: bool = False) -> Row:
    return Row(name, _fmt(value), value is None, flagged=flagged)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _head(run: ViewRun) -> dict[str, Any]:
    """The headline numbers of one run: counted from its results, cost from its facts."""
    summary = RunSummary()
    for result in run.results:
        summary.add(result)
    return {
        "name": run.name,
        "summary": summary,
        "cost": run.facts.get("cost_usd"),
        "prf": run.score.incidents if run.score else None,
        "macro": run.score.field_macro_f1 if run.score else None,
        "ci": _intervals(run.score),  # 95%, a bootstrap over the articles
    }


def _intervals(score: Score | None) -> dict[str, Any] | None:
    from llmx.core.intervals import score_intervals  # numpy work: only for a scored run

    return score_intervals(score) if score is not None else None


def _paired(runs: Sequence[ViewRun]) -> dict[str, Any] | None:
    """B − A with its paired 95% interval and verdict, when both runs are scored on shared articles."""
    from llmx.core.intervals import paired_intervals

    a, b = runs[0].score, runs[-1].score
    if len(runs) != 2 or a is None or b is None or not set(a.articles) & set(b.articles):
        return None
    return paired_intervals(a, b)


def _bars(runs: Sequence[ViewRun]) -> list[tuple[str, list[float | None]]]:
    """Per field, its F1 in each run (None when the run has no score or the field no counts)."""
    names: dict[str, None] = {}
    for run in runs:
        names.update(dict.fromkeys(run.score.fields if run.score else []))
    rows = []
    for name in names:
        values: list[float | None] = []
        for run in runs:
            prf = run.score.fields.get(name) if run.score else None
            values.append(prf.f1 if prf is not None and prf.tp + prf.fp + prf.fn else None)
        rows.append((name, values))
    return rows
