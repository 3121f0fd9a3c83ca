"""Confidence against gold: which scored values were right, how well the confidences say so
(``llmx score``'s "calibration"), and the calibration fitted from them (``llmx calibrate``).

What counts as a scored value: per matched pair of a predicted and a required gold record, each
field the run gave a confidence and the gold annotated; it is right when the scorer found the
field equal under its match rule (both null is right). Records that match no gold record
(invented) and optional gold are left out: their values have no right answer to be compared
with, and the record-level doubt is the incident score's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmx.core.calibration import Calibration, Method, Value, fit, summary
from llmx.extraction.confidence import calibrated, value_of
from llmx.inputs.calibration import load_calibration, save_calibration
from llmx.runs.results import ArticleResult, ExtractedRecord

if TYPE_CHECKING:
    from llmx.core.scoring import Score
    from llmx.inputs.config import Settings


def scored_values(score: Score, results: Sequence[ArticleResult]) -> list[tuple[str, ExtractedRecord, Value]]:
    """Every scored value of the run (see the module's docstring), with its article and record."""
    by_id = {r.article_id: r for r in results}
    out: list[tuple[str, ExtractedRecord, Value]] = []
    for article_id, article in score.articles.items():
        result = by_id.get(article_id)
        if result is None:
            continue
        for pair in article.matched:
            if pair.optional or not 0 <= pair.predicted_index < len(result.incidents):
                continue
            item = result.incidents[pair.predicted_index]
            for name in item.confidence_raw or {}:
                if name in pair.gold:  # a field the gold leaves out is not annotated: not scored
                    out.append((article_id, item, value_of(item, name, right=name not in pair.differing)))
    return out


def confidence_report(score: Score, results: Sequence[ArticleResult], settings: Settings) -> dict[str, Any] | None:
    """ECE, caught_at_20 and reliability bins of the run's confidences under the project's
    calibration now (raw when it has none); None when no scored value has a confidence."""
    values = scored_values(score, results)
    if not values:
        return None
    calibration = load_calibration(settings.calibration)
    confidences = [calibrated(item, calibration)[value.field] for _, item, value in values]
    report = summary([value for _, _, value in values], confidences)
    fitted = set((calibration.fitted_on.get("articles") or []) if calibration else [])
    in_sample = sorted({r.article_id for r in results} & fitted & set(score.articles))
    return {
        "calibrated": calibration is not None,
        "method": calibration.method if calibration else "raw",
        "source": str(settings.calibration) if calibration else None,
        # articles this calibration was fitted on: their figures flatter it
        "fitted_on_these_articles": len(in_sample),
        **report,
    }


def expected_wrong(result: ArticleResult, calibration: Calibration | None) -> float | None:
    """How many of the article's values are likely wrong: the sum of one minus each value's
    confidence (under ``calibration``); None when its records carry no confidence."""
    sure = [calibrated(item, calibration) for item in result.incidents if item.confidence_raw is not None]
    return round(sum(1 - p for found in sure for p in found.values()), 4) if sure else None


def doubt_order(results: Sequence[ArticleResult], settings: Settings) -> list[str] | None:
    """The articles, the most likely wrong values first (then by id); None when no record has a
    confidence (a run made before confidences: order them some other way)."""
    calibration = load_calibration(settings.calibration)
    wrong = {r.article_id: expected_wrong(r, calibration) for r in results}
    if all(w is None for w in wrong.values()):
        return None
    return sorted(wrong, key=lambda aid: (-(wrong[aid] or 0.0), aid))


def fit_from_run(
    run: Path,
    score: Score,
    results: Sequence[ArticleResult],
    method: Method = "platt",
    articles: Sequence[str] | None = None,
) -> tuple[Calibration, int]:
    """A calibration from the scored values of a run (only ``articles``' when given), and how
    many values it learned from."""
    keep = set(articles) if articles is not None else None
    picked = [(aid, value) for aid, _, value in scored_values(score, results) if keep is None or aid in keep]
    used = sorted({aid for aid, _ in picked})
    return fit([v for _, v in picked], method, {"run": str(run), "articles": used}), len(picked)


def calibrate_run(
    run: Path,
    score: Score,
    results: Sequence[ArticleResult],
    settings: Settings,
    method: Method = "platt",
    out: Path | None = None,
) -> tuple[Calibration, int, Path]:
    """Fit on the run's scored values and write the project's calibration (``out``: elsewhere)."""
    from llmx.errors import RunError

    calibration, count = fit_from_run(run, score, results, method)
    if not count:
        raise RunError(
            f"{run}: no scored value carries a confidence (a run made before confidences, or "
            "from answers without token log-probabilities); extract again with logprobs = true"
        )
    path = out or settings.calibration
    save_calibration(calibration, path)
    return calibration, count, path
