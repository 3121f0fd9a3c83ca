"""Which reports fusion compares (blocking) and the place rules that keep near misses apart
(issue 29). Records are written here, never read from the dev sets."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import numpy as np

from llmx.core.event_compare import ReportColumns
from llmx.core.event_rules import EventRule
from llmx.core.fusion import BLOCK_CAP, candidates, fuse
from llmx.inputs.aliases import load_aliases
from llmx.inputs.schemas import load_schema
from tests.helpers import ROOT

SCHEMA = load_schema("incident", ROOT / "schemas")
ALIASES = load_aliases(ROOT / "schemas/aliases.yaml")
assert SCHEMA.event is not None
RULE: EventRule = SCHEMA.event


def rec(**fields: Any) -> dict[str, Any]:
    return {**dict.fromkeys(SCHEMA.record_model.model_fields), **fields}


def pairs(records: list[dict[str, Any]], published: list[dt.date | None]) -> set[tuple[int, int]]:
    columns = ReportColumns(records, published, RULE, SCHEMA.fields, ALIASES)
    articles = np.arange(len(records), dtype=np.int64)
    found = candidates(columns, articles, 1000)
    return {(a, b) for left, right in found for a, b in zip(left.tolist(), right.tolist(), strict=True)}


def groups(records: list[dict[str, Any]], published: list[dt.date | None]) -> list[set[int]]:
    fusion = fuse(records, [f"a{i}" for i in range(len(records))], published, RULE, SCHEMA.fields, ALIASES)
    found: dict[int, set[int]] = {}
    for position, label in enumerate(fusion.labels.tolist()):
        found.setdefault(label, set()).add(position)
    return sorted(found.values(), key=min)


DAY = dt.date(2024, 2, 7)
SHIPS = "Yemen's Houthis fired missiles at two vessels off Hodeidah."


def test_undated_reports_without_a_place_are_compared_through_their_actor() -> None:
    """No place, no date of their own: the actor and the publication window still pair them."""
    a = rec(attacker="Houthis", weapon="missile", country="Yemen", evidence=SHIPS)
    b = rec(attacker="Houthi militants", weapon="missile", evidence="The Houthi group said it hit a ship off Hodeidah.")
    assert pairs([a, b], [DAY, DAY - dt.timedelta(days=1)]) == {(0, 1)}
    assert pairs([a, b], [DAY, DAY - dt.timedelta(days=20)]) == set()  # weeks apart: never compared
    assert pairs([a, b], [DAY, None]) == set()  # no day at all: nothing to place it by
    assert groups([a, b], [DAY, DAY]) == [{0, 1}]


def test_a_rare_name_of_the_sentences_pairs_reports_that_name_no_place_or_actor() -> None:
    a = rec(weapon="missile", evidence="The Morning Tide was hit 57 miles west of Hodeidah.")
    b = rec(weapon="missile", evidence="Ambrey said the Morning Tide sustained minor damage.")
    c = rec(weapon="missile", evidence="A vessel reported an explosion nearby.")
    assert pairs([a, b, c], [DAY] * 3) == {(0, 1)}


def test_two_named_regions_never_join_when_neither_names_a_town() -> None:
    """Three strikes of one night in three named oblasts are three events, whatever else agrees."""
    sentence = "Thermal power plants in Dnipropetrovsk, Ivano-Frankivsk and Lviv regions were attacked."
    base = rec(date="2024-04-27", attacker="Russia", weapon="missile", country="Ukraine", evidence=sentence)
    regions = ["Dnipropetrovsk", "Ivano-Frankivsk", "Lviv"]
    records = [{**base, "admin_region": r} for r in regions] + [{**base, "admin_region": r} for r in regions]
    assert groups(records, [DAY] * 6) == [{0, 3}, {1, 4}, {2, 5}]
    fusion = fuse(records, [f"a{i}" for i in range(6)], [DAY] * 6, RULE, SCHEMA.fields, ALIASES)
    assert fusion.explain(0, 4)["vetoed"] and not fusion.explain(0, 3)["vetoed"]


def test_a_town_both_name_decides_and_the_region_only_weighs() -> None:
    """Both name the town: a region one calls by another name ("Kurdistan", "Erbil") is no veto."""
    a = rec(
        date="2024-04-16", location="Harir air base", admin_region="Kurdistan Region", evidence="A drone hit Harir."
    )
    b = {**a, "admin_region": "Erbil province"}
    fusion = fuse([a, b], ["x", "y"], [None, None], RULE, SCHEMA.fields, ALIASES)
    assert not fusion.explain(0, 1)["vetoed"]


def test_a_value_listing_places_is_not_one_of_them() -> None:
    """A list of places ("A, B and C regions") reports several attacks: weighed as a different place from a report of
    one of them (never a veto: it names it), the same as another list of those places."""
    listed = rec(date="2024-04-27", location="Dnipropetrovsk, Ivano-Frankivsk and Lviv regions", attacker="Russia")
    one = {**listed, "location": "Dnipropetrovsk"}
    fusion = fuse([listed, one], ["x", "y"], [None, None], RULE, SCHEMA.fields, ALIASES)
    why = fusion.explain(0, 1)
    place = next(f for f in why["fields"] if f["field"] == "location")
    assert place["level"] == "different" and place["weight"] < 0 and not why["vetoed"]
    both = {**listed, "location": "Lviv, Ivano-Frankivsk and Dnipropetrovsk regions"}
    same = fuse([listed, both], ["x", "y"], [None, None], RULE, SCHEMA.fields, ALIASES).explain(0, 1)
    assert next(f for f in same["fields"] if f["field"] == "location")["level"] == "same"


def test_a_key_every_report_shares_is_dropped() -> None:
    """One actor in every report of a busy day tells nothing apart: it pairs nobody; their towns still do."""
    records = [rec(date="2024-04-27", attacker="Russia", location=f"Town{i // 2}") for i in range(4 * BLOCK_CAP)]
    found = pairs(records, [None] * len(records))
    assert found == {(i, i + 1) for i in range(0, 4 * BLOCK_CAP, 2)}


def synthetic(n: int, seed: int = 3) -> tuple[list[dict[str, Any]], list[dt.date | None]]:
    """``n`` reports at a fixed density (50 a day): a larger corpus covers more days."""
    rnd = random.Random(seed)
    start = dt.date(2023, 1, 1).toordinal()
    records: list[dict[str, Any]] = []
    published: list[dt.date | None] = []
    for _ in range(n):
        day = dt.date.fromordinal(start + rnd.randrange(max(1, n // 50)))
        town, actor = f"Town{rnd.randrange(60)}", rnd.choice(["Russia", "Ukraine", "Houthis", None])
        records.append(
            rec(
                date=day.isoformat() if rnd.random() < 0.7 else None,
                location=town if rnd.random() < 0.6 else None,
                attacker=actor,
                evidence=f"A strike hit {town}, killing {rnd.randrange(9)}.",
            )
        )
        published.append(day)
    return records, published


def test_candidate_pairs_grow_linearly_with_the_reports() -> None:
    small, large = (len(pairs(*synthetic(n))) for n in (2000, 8000))
    assert small > 0
    assert large <= 4 * small * 1.25  # four times the reports: about four times the pairs, never sixteen
