"""What the annotate page shows beside a gold file: where each incident's evidence is in the
article, and the run's records with the gold incident each matches (llmx's own matching)."""

from __future__ import annotations

from typing import Any

from llmx.core.grounding import ground
from llmx.inputs.config import Settings
from llmx.inputs.schemas import SchemaSpec
from llmx.runs.results import ArticleResult


def evidence_spans(incidents: list[dict[str, Any]], text: str | None, evidence: str | None) -> list[list[int] | None]:
    """[start, end] of each incident's evidence in the article (grounded as extraction grounds
    quotes), or None where it is not found."""
    spans: list[list[int] | None] = []
    for incident in incidents:
        quote = incident.get(evidence) if evidence and isinstance(incident, dict) else None
        g = ground(quote, text) if text is not None and isinstance(quote, str) and quote.strip() else None
        spans.append([g.start, g.end] if g and g.grounded and g.start is not None and g.end is not None else None)
    return spans


def run_records(
    result: ArticleResult, incidents: list[dict[str, Any]], schema: SchemaSpec, settings: Settings
) -> list[dict[str, Any]]:
    """The run's records beside the gold, each with the gold incident it matches, if any, and
    its values' confidences: the least sure record first (each keeps its ``index`` in the run)."""
    matched: dict[int, int] = {}
    if result.incidents and incidents:
        from llmx.core.scoring import score_run
        from llmx.inputs.aliases import load_aliases

        gold = [{k: v for k, v in i.items() if k != "pending"} for i in incidents]
        records = [item.record for item in result.incidents]
        score = score_run(
            {result.article_id: records},
            {result.article_id: gold},
            schema.fields,
            load_aliases(settings.aliases),
            schema.evidence_field,
        )
        matched = {p.predicted_index: p.gold_index for p in score.articles[result.article_id].matched}
    from llmx.extraction.confidence import calibrated
    from llmx.inputs.calibration import load_calibration

    calibration = load_calibration(settings.calibration)
    rows = [
        {
            "index": n,
            "record": item.record,
            "verification": [c.model_dump() for c in item.verification],
            "grounding": item.grounding.status if item.grounding else None,
            "gold": matched.get(n),
            "confidence": calibrated(item, calibration) if item.confidence_raw is not None else None,
        }
        for n, item in enumerate(result.incidents)
    ]
    return sorted(rows, key=lambda row: min((row["confidence"] or {}).values(), default=1.0))
