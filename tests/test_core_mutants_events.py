"""Fusion at its edges, written for the survivors of mutation testing over core/ (issue 32,
bench/MUTANTS.md): blocking on actors when a report names no place, the window, chains that
complete linkage refuses, gold weights, and the summaries events.jsonl and the report show."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pytest
from rapidfuzz import fuzz

from llmx.core.event_columns import column
from llmx.core.event_compare import Comparison, ReportColumns
from llmx.core.event_scoring import BCubed
from llmx.core.event_weights import DEFAULTS, defaults
from llmx.core.fields import FieldSpec
from llmx.core.fusion import fuse, gold_weights
from llmx.core.normalize import normalize
from tests.test_fusion import ALIASES, RULE, SCHEMA, events_of, rec


def test_reports_without_a_place_dated_to_the_day_are_blocked_on_their_actor() -> None:
    # no place to block on: the actor is the key, aliases and all ("ISIS" is the Islamic State)
    same = [
        rec(date="2024-05-01", attacker="Islamic State", killed=3),
        rec(date="2024-05-01", attacker="ISIS", killed=3),
    ]
    groups, fusion = events_of(same)
    assert groups == [{0, 1}] and fusion.candidate_pairs == 1 and fusion.compatible_pairs == 1
    assert [(link.left, link.right) for link in fusion.links] == [(0, 1)] and fusion.links[
        0
    ].weight >= RULE.link.threshold
    assert fusion.explain(0, 1)["compared"] is True and fusion.events == 1
    other = [
        rec(date="2024-05-01", attacker="Islamic State", killed=3),
        rec(date="2024-05-01", attacker="al-Shabaab", killed=3),
    ]
    groups, fusion = events_of(other)
    assert groups == [{0}, {1}] and fusion.candidate_pairs == 0 and fusion.links == []
    assert fusion.explain(0, 1)["compared"] is False and fusion.events == 2
    far = [
        rec(date="2024-05-01", attacker="Islamic State", killed=3),
        rec(date="2024-05-20", attacker="ISIS", killed=3),
    ]
    assert events_of(far)[1].candidate_pairs == 0  # same actor, weeks apart: never compared


def test_an_undated_report_is_blocked_on_its_actor_within_its_publication_window() -> None:
    # issue 29's rule: a report with no place and no day of its own is still compared, through its
    # normalised actor, with reports published in the days around it; weights then decide
    undated = [rec(attacker="Islamic State", killed=3), rec(attacker="Islamic State", killed=3)]
    groups, fusion = events_of(undated, published=["2024-05-01", "2024-05-02"])
    assert groups == [{0, 1}] and fusion.candidate_pairs == 1
    groups, fusion = events_of(undated, published=["2024-05-01", "2024-06-02"])  # a month apart
    assert groups == [{0}, {1}] and fusion.candidate_pairs == 0
    other = [rec(attacker="Islamic State", killed=3), rec(attacker="Houthis", killed=3)]
    assert events_of(other, published=["2024-05-01", "2024-05-02"])[1].candidate_pairs == 0
    month = [
        rec(date="2024-05", attacker="Islamic State", killed=3),
        rec(date="2024-05", attacker="Islamic State", killed=3),
    ]
    assert events_of(month)[1].candidate_pairs == 1
    # with a place, an undated report is placed in the days before its publication and compared
    placed = [
        rec(location="Mosul", attacker="Islamic State", killed=3),
        rec(location="Mosul", attacker="ISIS", killed=3),
    ]
    groups, fusion = events_of(placed, published=["2024-05-01", "2024-05-02"])
    assert groups == [{0, 1}] and fusion.candidate_pairs == 1
    groups, fusion = events_of(placed, published=["2024-05-01", "2024-05-09"])  # beyond the window
    assert groups == [{0}, {1}] and fusion.candidate_pairs == 0
    groups, fusion = events_of(placed, published=["2024-05-01", None])  # no date at all: stands alone
    assert groups == [{0}, {1}] and fusion.candidate_pairs == 0


def test_two_records_of_one_article_are_never_one_event() -> None:
    twins = [rec(date="2024-05-01", location="Mosul", killed=3), rec(date="2024-05-01", location="Mosul", killed=3)]
    groups, fusion = events_of(twins, articles=["a", "a"])
    assert groups == [{0}, {1}] and fusion.candidate_pairs == 0
    assert events_of(twins, articles=["a", "b"])[0] == [{0, 1}]


def test_a_chain_is_refused_when_its_ends_are_apart() -> None:
    # B shares a place word with A and one with C; A and C name two different places (never one
    # event): complete linkage joins B to A, the heavier pair first, and then refuses C
    reports = [
        rec(date="2024-05-01", location="Tal Afar", killed=3),
        rec(date="2024-05-01", location="Tal Afar Mosul", killed=3),
        rec(date="2024-05-01", location="Mosul", killed=3),
    ]
    groups, fusion = events_of(reports)
    assert fusion.candidate_pairs == 2 and fusion.compatible_pairs == 2  # A-B and B-C; A and C share no key
    assert fusion.explain(0, 2)["vetoed"] is True and fusion.explain(1, 2)["weight"] >= RULE.link.threshold
    assert groups == [{0, 1}, {2}] and [(link.left, link.right) for link in fusion.links] == [(0, 1)]
    assert events_of(reports, threshold=-50.0)[0] == [{0, 1}, {2}]  # whatever the threshold
    # a refused merge does not end the clustering: a second Mosul report still joins C
    assert events_of([*reports, reports[2]])[0] == [{0, 1}, {2, 3}]
    # B-C heavier (the same toll): B and C join first, and A, compatible with B alone, stays out
    heavier = [rec(date="2024-05-01", location="Tal Afar", killed=4), *reports[1:]]
    assert events_of(heavier)[0] == [{0}, {1, 2}]
    # four reports of one attack: the pairs inside the group made so far are skipped, not the end
    assert events_of([reports[2]] * 3 + [rec(date="2024-05-01", location="Mosul", killed=4)])[0] == [{0, 1, 2, 3}]


def test_the_threshold_is_inclusive_and_overrides_the_rule() -> None:
    pair = [rec(date="2024-05-01", location="Mosul", killed=3), rec(date="2024-05-01", location="Mosul", killed=3)]
    _, fusion = events_of(pair)
    weight = fusion.links[0].weight
    exact = float(fusion.weights.score(fusion.columns.compare(np.asarray([0]), np.asarray([1]))[0])[0])
    assert round(exact, 2) == weight == fusion.explain(0, 1)["weight"] and round(exact, 3) != weight
    assert fusion.explain(0, 1)["compared"] is True  # the shared key is the first token there is
    days = [rec(date=f"2024-05-0{d}", location="Mosul", killed=3) for d in (1, 4, 7)]
    assert events_of(days)[1].candidate_pairs == 2  # days + slack apart at most: 1-4 and 4-7, never 1-7
    assert events_of([rec(location="Mosul")] * 2, published=[None, None])[1].candidate_pairs == 0  # no date at all
    assert events_of(pair, threshold=exact)[0] == [{0, 1}]  # at the threshold: joined
    assert events_of(pair, threshold=float(np.nextafter(exact, math.inf)))[0] == [{0}, {1}]


def labelled() -> tuple[list[dict[str, Any]], list[str], list[dt.date | None], list[str | None]]:
    records = [
        rec(date="2024-05-01", location="Mosul", killed=3),
        rec(date="2024-05-01", location="Mosul", killed=4),
        rec(date="2024-05-02", location="Mosul", killed=9, weapon="car bomb"),
        rec(date="2024-05-01", location="Kirkuk", killed=1),
    ]
    return records, ["a", "b", "c", "d"], [None] * 4, ["e1", "e1", "e2", None]


def test_gold_weights_learn_from_pairs_gold_puts_in_one_event() -> None:
    records, articles, published, events = labelled()
    weights = gold_weights(records, articles, published, events, RULE, SCHEMA.fields, ALIASES)
    assert weights is not None and weights.source == "gold (1 pairs of one event, 2 not)"
    assert weights.comparisons[0].name == "date" and weights.m.shape == weights.u.shape
    apart = gold_weights(records, articles, published, ["e1", "e2", "e3", None], RULE, SCHEMA.fields, ALIASES)
    assert apart is None  # no candidate pair of one event: nothing to learn m from
    nothing = gold_weights(records[3:], articles[3:], published[3:], events[3:], RULE, SCHEMA.fields, ALIASES)
    assert nothing is None
    days = [None] * 4
    fusion = fuse(records, articles, days, RULE, SCHEMA.fields, ALIASES, weights=weights)
    assert fusion.weights is weights and fusion.labels.tolist() == [0, 0, 1, 2]
    assert not np.allclose(weights.m, defaults(weights.comparisons).m)  # learned, not the defaults


def test_summaries_are_bits_per_level_rounded() -> None:
    weights = defaults([Comparison("date", "window"), Comparison("attacker", "compatible")])
    found = weights.summary()
    assert list(found) == ["date", "attacker"] and len(found["date"]) == len(DEFAULTS["window"][0])
    m, u = DEFAULTS["compatible"]
    assert list(found["attacker"].values()) == [round(math.log2(a / b), 2) for a, b in zip(m, u, strict=True)]
    assert BCubed(2 / 3, 0.75).summary() == {"precision": 0.6667, "recall": 0.75, "f1": 0.7059}
    assert BCubed(0.0, 0.0).f1 == 0.0


@pytest.mark.parametrize("chunk", [1, 2, 1000])
def test_the_chunk_size_does_not_change_the_events(chunk: int) -> None:
    records = [rec(date="2024-05-01", location="Mosul", killed=k) for k in (3, 3, 4, 5)]
    records += [rec(date="2024-05-03", location="Mosul Kirkuk", killed=3), rec(date="2024-05-01", location="Erbil")]
    days = [None] * len(records)
    whole = fuse(records, [f"a{i}" for i in range(6)], days, RULE, SCHEMA.fields, ALIASES)
    parts = fuse(records, [f"a{i}" for i in range(6)], days, RULE, SCHEMA.fields, ALIASES, chunk=chunk)
    assert parts.labels.tolist() == whole.labels.tolist() and parts.candidate_pairs == whole.candidate_pairs
    assert whole.candidate_pairs == 10  # the five Mosul reports pair up; Erbil shares no key


NAMES = ["Tal Afar", "Tall Afar", "Mosul", "Mosul city", "Kirkuk", "Kirkouk", "al-Qaim", "Qaim", "Erbil", None]


@pytest.mark.parametrize("match", ["fuzzy", "alias", "exact"])
def test_names_compare_alike_asked_once_or_again(match: str) -> None:
    # fusion's name equality: the alias table, then token_set_ratio ≥ threshold, memoised
    values = [NAMES[k % len(NAMES)] for k in range(23)] + ["ISIS", "Islamic State"]
    spec = FieldSpec(name="location", match=match)  # type: ignore[arg-type]
    rng = np.random.default_rng(3)
    i, j = rng.integers(0, len(values), 200), rng.integers(0, len(values), 200)
    i, j = np.append(i, [23]), np.append(j, [24])
    filled = np.asarray([values[x] is not None and values[y] is not None for x, y in zip(i, j, strict=True)])
    i, j = i[filled], j[filled]

    def expected(a: str, b: str) -> bool:
        if match == "exact":
            return a == b
        x, y = normalize(a), normalize(b)
        if x == y or (match == "alias" and ALIASES.canonical(x) == ALIASES.canonical(y)):
            return True
        return fuzz.token_set_ratio(x, y) >= spec.threshold

    want = [expected(values[x], values[y]) for x, y in zip(i.tolist(), j.tolist(), strict=True)]
    plain = column(values, spec, ALIASES)
    assert plain.equal(i, j).tolist() == want  # the dict of known pairs
    assert plain.equal(i, j).tolist() == want  # asked again: from what it knows
    assert (match == "exact") == (plain.threshold is None) and any(want) and not all(want)


def level(a: dict[str, Any], b: dict[str, Any], name: str, published: tuple[str | None, str | None] = (None, None)):  # type: ignore[no-untyped-def]
    """The level (its label) fusion gives field ``name`` of the pair, and whether the pair is vetoed."""
    days = [dt.date.fromisoformat(p) if p else None for p in published]
    columns = ReportColumns([rec(**a), rec(**b)], days, RULE, SCHEMA.fields, ALIASES)
    levels, veto = columns.compare(np.asarray([0]), np.asarray([1]))
    k = [c.name for c in columns.comparisons].index(name)
    return columns.comparisons[k].labels[int(levels[0, k])], bool(veto[0])


DAY = {"date": "2024-05-03", "date_text": "3 May"}
CASES = [
    (DAY, DAY, "date", ("same day", False)),
    (DAY, {"date": "2024-05-04", "date_text": "4 May"}, "date", ("a day apart", False)),
    (DAY, {"date": "2024-05-06", "date_text": "6 May"}, "date", ("days apart (weekday words)", True)),  # explicit
    (
        {"date": "2024-05-03", "date_text": "Friday"},
        {"date": "2024-05-06"},
        "date",
        ("days apart (weekday words)", False),
    ),
    (DAY, {"date": "2024-05"}, "date", ("overlapping dates", False)),
    (DAY, {"date": "2024-06"}, "date", ("not given", False)),  # apart, but not two days: no level, no veto
    ({"date": None}, {"date": "2024-05-02"}, "date", ("not given", False)),
    ({"location": "Harir air base"}, {"location": "Harir village"}, "location", ("share a name", False)),
    ({"location": "Harir air base"}, {"location": "the base at Harir"}, "location", ("same", False)),  # fuzzy
    ({"location": "Erbil"}, {"location": "Erbil"}, "location", ("same", False)),
    ({"location": "Erbil province"}, {"location": "Kirkuk province"}, "location", ("different", True)),
    ({"location": "Erbil"}, {"location": "unknown"}, "location", ("not given", False)),
    ({"admin_region": "Erbil province"}, {"admin_region": "Duhok"}, "admin_region", ("different", True)),
    ({"country": "North Korea"}, {"country": "South Korea"}, "country", ("different", False)),  # a block never shares
    ({"attacker": "Israeli army"}, {"attacker": "Israel"}, "attacker", ("same", False)),
    ({"attacker": "Turkish army drone"}, {"attacker": "Turkish army"}, "attacker", ("same", False)),
    ({"attacker": "Islamic State"}, {"attacker": "Islamic Resistance"}, "attacker", ("different", False)),
    ({"attacker": "Hezbollah Brigades"}, {"attacker": "Kataib Hezbollah"}, "attacker", ("share a name", False)),
    ({"attacker": "a US defence official"}, {"attacker": "Israel"}, "attacker", ("not given", False)),
    ({"attacker": "drone"}, {"attacker": "Israel"}, "attacker", ("not given", False)),
    ({"attacker": "not specified"}, {"attacker": "Israel"}, "attacker", ("not given", False)),
    ({"weapon": "drone"}, {"weapon": "air/drone strike"}, "weapon", ("same class", False)),
    (
        {"weapon": "explosive", "evidence": "An explosive went off."},
        {"weapon": "drone"},
        "weapon",
        ("different", False),
    ),
    (
        {"weapon": "explosive"},
        {"weapon": "drone", "evidence": "A drone dropped a bomb."},
        "weapon",
        ("named in the other's sentence", False),
    ),
    ({"weapon": "mystery"}, {"weapon": "drone"}, "weapon", ("not given", False)),
    ({"killed": 3}, {"killed": 3}, "killed", ("equal", False)),
    ({"killed": 3}, {"killed": 5}, "killed", ("close", False)),
    ({"killed": 3}, {"killed": 6}, "killed", ("close", False)),
    ({"killed": 3}, {"killed": 7}, "killed", ("far apart", False)),
    ({"killed": 10}, {"killed": 20}, "killed", ("close", False)),  # half the larger: tolls rise
    ({"killed": 10}, {"killed": 21}, "killed", ("far apart", False)),
    ({"killed": 3}, {"killed": None}, "killed", ("not given", False)),
    ({"evidence": "Drone hit Erbil."}, {"evidence": "Rocket hit Erbil."}, "evidence", ("one shared", False)),
    ({"evidence": "Drone hit Erbil, 3 dead."}, {"evidence": "Drone hit Erbil."}, "evidence", ("several shared", False)),
    ({"evidence": "The Drone hit."}, {"evidence": "The Rocket hit."}, "evidence", ("no name or number shared", False)),
    ({"evidence": "Drone hit Erbil."}, {"evidence": None}, "evidence", ("not given", False)),
]


@pytest.mark.parametrize(("a", "b", "name", "expected"), CASES)
def test_each_comparison_has_the_levels_and_vetoes_the_module_documents(
    a: dict[str, Any], b: dict[str, Any], name: str, expected: tuple[str, bool]
) -> None:
    assert level(a, b, name) == expected and level(b, a, name) == expected  # either order


def test_an_undated_report_overlaps_the_days_before_its_publication() -> None:
    dated, undated = {"date": "2024-05-03"}, {"date": None}
    assert level(dated, undated, "date", (None, "2024-05-04")) == ("overlapping dates", False)
    assert level(dated, undated, "date", (None, "2024-05-05")) == ("overlapping dates", False)  # two days before
    assert level(dated, undated, "date", (None, "2024-05-06")) == ("not given", False)
    assert level(dated, undated, "date", (None, "2024-05-02")) == ("not given", False)  # published before it
