"""Agreement between two annotations: ``llmx gold agree A B`` and the annotate page's panel.

Each side is a gold folder (its reviewed files; drafts are left out and counted) or a run folder
(its records). A is the reference: incidents are matched one-to-one by llmx's own scoring
(:mod:`llmx.core.scoring`: the same-incident gate, Hungarian matching, ``optional`` gold in A
neither rewarded nor penalised), which gives incident precision / recall / F1 of B against A;
on the matched incidents (optional ones left out, as scoring leaves them) each field's
agreement is Krippendorff's alpha (:mod:`llmx.core.agreement`). Only articles both sides
annotated are compared; the others are listed apart, since an article one annotator skipped
says nothing about agreement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmx.core.agreement import MISSING, FieldAgreement, field_agreement
from llmx.core.fields import MIN_SIMILARITY
from llmx.core.scoring import Score, score_run
from llmx.errors import RunError
from llmx.inputs.aliases import load_aliases
from llmx.inputs.config import Settings
from llmx.inputs.gold import read_gold_folder
from llmx.inputs.schemas import SchemaSpec, load_schema
from llmx.runs.folder import read_results

Record = dict[str, Any]


@dataclass
class Side:
    path: Path
    kind: str  # "gold" or "run"
    records: dict[str, list[Record]]  # article id → incidents
    drafts: list[str] = field(default_factory=list)  # gold drafts left out
    failed: list[str] = field(default_factory=list)  # run articles that failed: left out


@dataclass
class Disagreement:
    article_id: str
    kind: str  # "only_a", "only_b" (an incident one side has and the other not) or "field"
    a_index: int | None = None
    b_index: int | None = None
    field: str | None = None
    a_value: Any = None
    b_value: Any = None
    evidence: str | None = None


@dataclass
class Agreement:
    a: Side
    b: Side
    articles: list[str]
    only_a: list[str]
    only_b: list[str]
    score: Score
    fields: dict[str, FieldAgreement]
    disagreements: list[Disagreement]


def read_side(path: Path, schema: SchemaSpec) -> Side:
    """A run folder (it has extractions.jsonl) or a gold folder."""
    if (path / "extractions.jsonl").is_file():
        results = read_results(path)
        ok = {r.article_id: [dict(item.record) for item in r.incidents] for r in results if r.status == "ok"}
        return Side(path, "run", ok, failed=sorted(r.article_id for r in results if r.status != "ok"))
    if not path.is_dir():
        raise RunError(f"{path}: no such folder; pass a gold folder or a run folder (llmx extract --out)")
    found = read_gold_folder(path, schema)
    return Side(path, "gold", found.gold, drafts=sorted(found.drafts))


def agree(
    a: Path,
    b: Path,
    settings: Settings,
    schema_name: str | None = None,
    min_similarity: float = MIN_SIMILARITY,
) -> Agreement:
    schema = load_schema(schema_name or settings.schema_name, settings.schemas_dir)
    return agree_sides(read_side(a, schema), read_side(b, schema), schema, settings, min_similarity)


def agree_sides(
    a: Side, b: Side, schema: SchemaSpec, settings: Settings, min_similarity: float = MIN_SIMILARITY
) -> Agreement:
    common = sorted(set(a.records) & set(b.records))
    if not common:
        raise RunError(
            f"{a.path} and {b.path} share no annotated article; nothing to compare "
            f"({len(a.records)} and {len(b.records)} articles"
            + (f", drafts left out: {len(a.drafts) + len(b.drafts)}" if a.drafts or b.drafts else "")
            + ")"
        )
    score = score_run(
        {aid: b.records[aid] for aid in common},
        {aid: a.records[aid] for aid in common},
        schema.fields,
        load_aliases(settings.aliases),
        schema.evidence_field,
        min_similarity,
    )
    names = [name for name, spec in schema.fields.items() if spec.match != "ignore"]
    units: dict[str, list[tuple[Any, Any, bool]]] = {name: [] for name in names}
    disagreements: list[Disagreement] = []
    evidence = schema.evidence_field
    for aid in common:
        article = score.articles[aid]
        for pair in sorted(article.matched, key=lambda p: p.gold_index):
            if pair.optional:  # as in scoring: optional gold in A is neither agreement nor disagreement
                continue
            for name in names:
                value_a = pair.gold.get(name, MISSING)
                value_b = pair.predicted.get(name, MISSING)
                units[name].append((value_a, value_b, name not in pair.differing))
                if name in pair.differing and value_b is not MISSING:
                    disagreements.append(
                        Disagreement(aid, "field", pair.gold_index, pair.predicted_index, name, value_a, value_b)
                    )
        for index, record in zip(article.missed_indices, article.missed, strict=True):
            disagreements.append(Disagreement(aid, "only_a", a_index=index, evidence=_quote(record, evidence)))
        for index, record in zip(article.spurious_indices, article.spurious, strict=True):
            disagreements.append(Disagreement(aid, "only_b", b_index=index, evidence=_quote(record, evidence)))
    fields = {name: field_agreement(name, units[name]) for name in names}
    return Agreement(
        a,
        b,
        common,
        sorted(set(a.records) - set(b.records)),
        sorted(set(b.records) - set(a.records)),
        score,
        fields,
        disagreements,
    )


def _quote(record: Mapping[str, Any], evidence: str | None) -> str | None:
    value = record.get(evidence) if evidence else None
    return value if isinstance(value, str) else None


def agreement_json(agreement: Agreement) -> dict[str, Any]:
    """Everything a script needs: incident P/R/F1 of B against A, alpha per field, each disagreement."""
    return {
        "a": {"path": str(agreement.a.path), "kind": agreement.a.kind, "drafts_left_out": agreement.a.drafts},
        "b": {"path": str(agreement.b.path), "kind": agreement.b.kind, "drafts_left_out": agreement.b.drafts},
        "articles": agreement.articles,
        "only_a": agreement.only_a,
        "only_b": agreement.only_b,
        "incidents": agreement.score.incidents.summary(),
        "fields": {
            name: {
                "alpha": None if f.alpha is None else round(f.alpha, 4),
                "units": f.units,
                "agreed": f.agreed,
                "percent": None if f.percent is None else round(f.percent, 4),
            }
            for name, f in agreement.fields.items()
        },
        "disagreements": [vars(d) for d in agreement.disagreements],
    }
