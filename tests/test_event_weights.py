"""Match weights, vetoes, clusters that refuse chains, and explanations: the pure core of fusion
(issue 29). Records are written here, never read from the dev sets."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from typing import Any

import numpy as np
import pytest

from llmx.core.event_compare import ReportColumns
from llmx.core.event_weights import defaults, expectation_maximisation, from_labels, patterns
from llmx.core.fusion import fuse
from llmx.inputs.aliases import load_aliases
from llmx.inputs.schemas import load_schema
from tests.helpers import ROOT

SCHEMA = load_schema("incident", ROOT / "schemas")
ALIASES = load_aliases(ROOT / "schemas/aliases.yaml")
RULE = SCHEMA.event
assert RULE is not None


def rec(**fields: Any) -> dict[str, Any]:
    base = dict.fromkeys(SCHEMA.record_model.model_fields)
    return {**base, "country": "Lebanon", "weapon": "air/drone strike", **fields}


def fused(records: list[dict[str, Any]], threshold: float | None = None, published: list[str] | None = None):
    days = [dt.date.fromisoformat(p) for p in published] if published else [None] * len(records)
    fusion = fuse(
        records, [f"a{i}" for i in range(len(records))], days, RULE, SCHEMA.fields, ALIASES, threshold=threshold
    )
    groups: dict[int, set[int]] = {}
    for position, label in enumerate(fusion.labels.tolist()):
        groups.setdefault(label, set()).add(position)
    return sorted(groups.values(), key=min), fusion


STRIKE = "An Israeli strike on a house in Bint Jbeil killed 3 people, Lebanon's NNA reported."


def test_noisy_fields_weigh_instead_of_vetoing() -> None:
    """The model's country and weapon disagree where the articles do not: still one event."""
    a = rec(date="2024-05-29", location="Bint Jbeil", attacker="Israeli army", killed=3, evidence=STRIKE)
    b = {**a, "country": "Israel", "weapon": "explosive", "attacker": "Israeli warplanes", "killed": 4}
    groups, fusion = fused([a, b])
    assert groups == [{0, 1}]
    why = fusion.explain(0, 1)
    levels = {f["field"]: (f["level"], f["weight"]) for f in why["fields"]}
    assert levels["country"][0] == "different" and levels["country"][1] < 0
    assert levels["weapon"][0] == "named in the other's sentence"  # "strike" in a's sentence
    assert levels["location"][0] == "same" and levels["location"][1] > 0 and not why["vetoed"]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"date": "2024-05-31", "date_text": "on 31 May"}, "two explicit days two days apart: a veto"),
        ({"location": "Houla"}, "same day, another named town: a veto"),
        (
            {"attacker": "Hezbollah", "weapon": "rocket", "evidence": "Rockets hit Houla."},
            "another attacker and weapon",
        ),
        ({"location": None, "attacker": None, "date": None}, "nothing to compare them on: never a candidate"),
    ],
)
def test_near_misses_stay_apart(change: dict[str, Any], why: str) -> None:
    a = rec(date="2024-05-29", date_text="on 29 May", location="Bint Jbeil", attacker="Israel", evidence=STRIKE)
    groups, _ = fused([a, {**a, **change}])
    assert groups == [{0}, {1}], why


def test_inferred_days_weigh_but_explicit_days_veto() -> None:
    """An outlet's "Sunday" may be the funeral, not the strike: weighed; "on 31 May": a fact."""
    a = rec(date="2024-05-29", date_text="Wednesday", location="Bint Jbeil", killed=3, evidence=STRIKE)
    b = {**a, "date": "2024-05-31", "date_text": "Friday"}
    _, fusion = fused([a, b])
    why = fusion.explain(0, 1)
    assert (
        not why["vetoed"]
        and {"field": "date", "level": "days apart (weekday words)"}.items() <= why["fields"][0].items()
    )
    explicit = {**b, "date_text": "on 31 May"}
    assert fused([{**a, "date_text": "on 29 May"}, explicit])[1].explain(0, 1)["vetoed"]


def test_clusters_refuse_chains() -> None:
    """A ~ B and B ~ C, but A and C are two explicit days apart (a veto): never one event."""
    days = [("2024-03-01", "on 1 March"), ("2024-03-02", "on 2 March"), ("2024-03-03", "on 3 March")]
    records = [
        rec(date=d, date_text=t, location="Kirkuk", country="Iraq", evidence="A drone hit Kirkuk.") for d, t in days
    ]
    groups, fusion = fused(records, threshold=-5)
    assert len(groups) == 2 and not any({0, 2} <= g for g in groups)
    assert fusion.explain(0, 2)["vetoed"] and not fusion.explain(0, 1)["vetoed"]
    assert len(fusion.links) == 1  # one merge: its pair is the event's explanation


def test_threshold_moves_the_cut() -> None:
    a = rec(date="2024-05-29", location="Bint Jbeil", evidence=STRIKE)
    b = {**a, "date": "2024-05-30", "country": "Israel", "evidence": "Bint Jbeil was hit."}
    _, fusion = fused([a, b])
    weight = fusion.explain(0, 1)["weight"]
    assert fused([a, b], threshold=weight - 0.1)[0] == [{0, 1}]
    assert fused([a, b], threshold=weight + 0.1)[0] == [{0}, {1}]


def test_weights_from_labels_and_em() -> None:
    """Gold pairs teach m; EM learns u from the run's own pairs, and both stay near the defaults
    when the evidence is thin (pseudo-counts)."""
    rng = random.Random(5)
    records, truth = [], []
    for event in range(300):
        place, day = f"Town{rng.randint(1, 40)}", dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 60))
        for _ in range(2):
            records.append(
                rec(date=day.isoformat(), location=place, attacker=rng.choice(["Israel", "Hezbollah", None]))
            )
            truth.append(event)
    columns = ReportColumns(records, [None] * len(records), RULE, SCHEMA.fields, ALIASES)
    left, right = np.triu_indices(len(records), 1)
    keep = np.asarray([records[i]["location"] == records[j]["location"] for i, j in zip(left, right, strict=True)])
    left, right = left[keep], right[keep]
    levels, _ = columns.compare(left, right)
    match = np.asarray(truth)[left] == np.asarray(truth)[right]
    learned = from_labels(columns.comparisons, levels, match)
    day = [c.name for c in columns.comparisons].index("date")
    assert learned.table[day, 1] > defaults(columns.comparisons).table[day, 1]  # same day: more telling here
    em = expectation_maximisation(defaults(columns.comparisons), *patterns(levels))
    assert "expectation-maximisation" in em.source and np.isfinite(em.table).all()
    assert em.score(levels[match]).mean() > em.score(levels[~match]).mean()


def test_fixed_estimate_keeps_the_defaults() -> None:
    rule = dataclasses.replace(RULE, link=dataclasses.replace(RULE.link, estimate="fixed"))
    a = rec(date="2024-05-29", location="Bint Jbeil")
    fusion = fuse([a, dict(a)], ["x", "y"], [None, None], rule, SCHEMA.fields, ALIASES)
    assert fusion.weights is not None and fusion.weights.source == "defaults"
