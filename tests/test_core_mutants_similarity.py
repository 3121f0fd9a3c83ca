"""Every within-article (predicted, gold) pair and its similarity (llmx.core.similarity.pair_table),
and the alias table that names are compared through (llmx.core.normalize.Aliases), written for the
survivors of mutation testing over core/ (issue 32, bench/MUTANTS.md): each article's block of
pairs, row-major, in an order the input does not set; the mean over the fields either side
filled (a field gold did not annotate takes no part); the same-incident gate (a shared place or
actor, overlapping quotes, or nothing to anchor either record); and the quote's weight. The
expected values follow the module's docstrings and tests/reference_scoring.py's definitions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from rapidfuzz import fuzz

from llmx.core.actors import ActorVocabulary
from llmx.core.fields import QUOTE_OVERLAP, FieldSpec
from llmx.core.normalize import Aliases
from llmx.core.similarity import PairTable, fields_only, pair_table

Record = dict[str, Any]
PLACE = {"place": FieldSpec("place", "exact", identity=True), "weapon": FieldSpec("weapon", "exact")}
FOUR = {f"f{i}": FieldSpec(f"f{i}", "exact") for i in range(1, 5)}
GATE = {
    "place": FieldSpec("place", "exact", identity=True),
    "actor": FieldSpec("actor", "exact", identity=True),
    "weapon": FieldSpec("weapon", "exact"),
}


def table_of(
    articles: dict[str, tuple[list[Record], list[Record]]], specs: dict[str, FieldSpec], **kw: Any
) -> tuple[PairTable, list[Any], list[Any]]:
    return pair_table(articles, specs, Aliases(), **kw)


def blocks(table: PairTable) -> list[tuple[str, list[int], list[int], int]]:
    return [(b.article_id, b.pred.tolist(), b.gold.tolist(), b.start) for b in table.blocks]


def rows(table: PairTable, pred: list[Record], gold: list[Record]) -> list[tuple[Record, Record, float]]:
    pairs = zip(table.pred_index.tolist(), table.gold_index.tolist(), table.similarity.tolist(), strict=True)
    return [(pred[i], gold[j], s) for i, j, s in pairs]


def similarity(
    pred: Record, gold: Record, specs: dict[str, FieldSpec], evidence: str | None = None, **kw: Any
) -> float:
    table, _, _ = table_of({"a": ([pred], [gold])}, specs, evidence_field=evidence, **kw)
    (value,) = table.similarity.tolist()
    return float(value)


def test_each_article_is_a_block_of_pairs_row_major_in_an_order_the_input_does_not_set() -> None:
    articles = {
        "a": ([{"place": "B"}, {"place": "A"}, {"place": "C"}], [{"place": "A"}, {"place": "B"}]),
        "b": ([], [{"place": "A"}]),
        "c": ([{"place": "E", "weapon": "rocket"}, {"place": "E", "weapon": "drone"}], [{"place": "E"}]),
    }
    table, pred, gold = table_of(articles, PLACE)
    # records by article, then by their fields' codes (place first, then weapon); blocks start
    # where the previous article's pred x gold pairs end
    assert blocks(table) == [("a", [1, 0, 2], [0, 1], 0), ("b", [], [2], 6), ("c", [4, 3], [3], 6)]
    for block in table.blocks:
        width = len(block.gold)
        for k in range(len(block.pred) * width):
            assert table.pred_index[block.start + k] == block.pred[k // width]
            assert table.gold_index[block.start + k] == block.gold[k % width]
    assert len(table.similarity) == 8 and table.pred_index.dtype == table.gold_index.dtype == np.int64
    # the same place is the same incident; another place is not (both are anchored by one)
    assert table.similarity.tolist() == [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0]
    shuffled = {k: (p[::-1], g[::-1]) for k, (p, g) in articles.items()}
    again, pred2, gold2 = table_of(shuffled, PLACE)
    assert rows(again, pred2, gold2) == rows(table, pred, gold)


@pytest.mark.parametrize(
    "articles, expected",
    [
        ({}, []),
        ({"a": ([], [])}, [("a", [], [], 0)]),
        ({"a": ([{"place": "A"}], [])}, [("a", [0], [], 0)]),
        ({"a": ([], [{"place": "A"}])}, [("a", [], [0], 0)]),
    ],
)
def test_an_article_or_a_run_with_nothing_to_pair_has_no_pairs(articles: Any, expected: Any) -> None:
    table, _, _ = table_of(articles, PLACE)
    assert blocks(table) == expected
    assert table.pred_index.tolist() == table.gold_index.tolist() == table.similarity.tolist() == []
    assert table.pred_index.dtype == table.gold_index.dtype == np.int64


def test_similarity_is_the_mean_over_the_fields_either_side_filled() -> None:
    pred = [{"f1": "b", "f2": "b", "f3": "b", "f4": "x"}, {"f1": "a", "f2": "a", "f3": "b", "f4": None}]
    gold = [{"f1": "a", "f2": "b", "f3": "b", "f4": None}]
    table, _, _ = table_of({"a": (pred, gold)}, FOUR)
    assert table.pred_index.tolist() == [1, 0]  # f1 "a" sorts first
    # f4 null on both sides says nothing (3 fields); null against a value counts as a miss (4)
    assert table.similarity.tolist() == pytest.approx([2 / 3, 2 / 4])
    assert table.equal["f1"].tolist() == [True, False] and table.equal["f2"].tolist() == [False, True]
    assert table.equal["f4"].tolist() == [False, False]
    assert table.pred_null["f4"].tolist() == [False, True] and table.gold_null["f4"].tolist() == [True]
    assert table.pred_null["f1"].tolist() == [False, False] and table.gold_null["f1"].tolist() == [False]
    assert all(table.gold_annotated[name].tolist() == [True] for name in FOUR)


def test_a_field_gold_did_not_annotate_takes_no_part_in_its_pairs() -> None:
    pred = [{"f1": "a", "f2": "b", "f3": "x", "f4": "y"}]
    gold = [{"f1": "a", "f2": "b"}, {"f1": "a", "f2": "c", "f3": "x", "f4": None}]
    table, _, _ = table_of({"a": (pred, gold)}, FOUR)
    assert table.gold_index.tolist() == [0, 1]
    assert table.similarity.tolist() == pytest.approx([1.0, 2 / 4])  # f3, f4 unannotated; then f2 and f4 miss
    assert table.gold_annotated["f3"].tolist() == [False, True] and table.gold_annotated["f1"].tolist() == [True, True]
    assert table.equal["f3"].tolist() == [False, True] and table.equal["f2"].tolist() == [True, False]
    assert table.gold_null["f3"].tolist() == [True, False]


def test_records_that_fill_no_scored_field_match_only_when_identical() -> None:
    assert fields_only({"a": 1, "optional": True, "note": "n", "event": "e"}) == {"a": 1}
    pred = [{"f1": None, "note": "n", "event": 2}, {"f1": None, "extra": 1}]
    gold = [{"f1": None, "optional": True}]
    table, _, _ = table_of({"a": (pred, gold)}, {"f1": FieldSpec("f1", "exact")})
    assert table.pred_index.tolist() == [0, 1] and table.similarity.tolist() == [1.0, 0.0]
    ignored = {"kind": FieldSpec("kind", "ignore")}  # no scored field at all
    table, _, _ = table_of({"a": ([{"kind": "x"}, {"kind": "y"}], [{"kind": "x"}])}, ignored)
    assert table.similarity.tolist() == [1.0, 0.0] and table.equal == {}


def test_an_ignored_field_is_neither_scored_nor_compared() -> None:
    specs = {"f1": FieldSpec("f1", "exact"), "kind": FieldSpec("kind", "ignore")}
    table, _, _ = table_of({"a": ([{"f1": "a", "kind": "x"}], [{"f1": "a", "kind": "y"}])}, specs)
    assert table.similarity.tolist() == [1.0] and set(table.equal) == {"f1"}


def r(place: str | None = None, actor: str | None = None, weapon: str = "drone", quote: str | None = None) -> Record:
    return {"place": place, "actor": actor, "weapon": weapon, "evidence": quote}


@pytest.mark.parametrize(
    "pred, gold, expected",
    [
        (r("Erbil", "X"), r("Erbil", "Y"), 2 / 3),  # a shared place
        (r("Mosul", "X"), r("Erbil", "X"), 2 / 3),  # a shared actor
        (r("Mosul"), r("Erbil"), 0.0),  # both anchored, nothing shared
        (r("Erbil"), r(), 0.0),  # one side anchored by a place or an actor, the other by nothing
        (r(actor="X"), r(), 0.0),
        (r(), r("Erbil"), 0.0),
        (r(), r(actor="X"), 0.0),
        (r(), r(), 1.0),  # neither anchored (gold annotated both as null): the other fields decide
    ],
)
def test_records_are_one_incident_only_through_a_shared_place_or_actor_or_when_nothing_anchors_them(
    pred: Record, gold: Record, expected: float
) -> None:
    assert similarity(pred, gold, GATE) == pytest.approx(expected)


def test_a_schema_without_identity_fields_or_quotes_keeps_the_plain_similarity() -> None:
    plain = {"place": FieldSpec("place", "exact"), "weapon": FieldSpec("weapon", "exact")}
    assert similarity(r("Mosul"), r("Erbil"), plain) == 0.5


QUOTED = {"place": FieldSpec("place", "exact", identity=True), "weapon": FieldSpec("weapon", "exact")}
ONLY = {"weapon": FieldSpec("weapon", "exact")}  # quotes are the only anchor
SAME_A, SAME_B = "A drone hit the base at Erbil on Monday.", "a drone hit the base at Erbil"
OTHER = "Rockets hit the airport."


def test_overlapping_quotes_make_one_incident_and_weigh_their_overlap() -> None:
    assert fuzz.partial_ratio(SAME_A, SAME_B) >= QUOTE_OVERLAP > fuzz.partial_ratio(SAME_A, OTHER)
    overlap = fuzz.token_set_ratio(SAME_A, SAME_B) / 100.0
    pred, gold = r("Mosul", quote=SAME_A), r("Erbil", quote=SAME_B)  # fields: 1 of 2 agree
    assert similarity(pred, gold, QUOTED, "evidence") == pytest.approx(0.5 * overlap + 0.5 * 0.5)
    weighed = similarity(pred, gold, QUOTED, "evidence", evidence_weight=0.25)
    assert weighed == pytest.approx(0.25 * overlap + 0.75 * 0.5)
    assert similarity(pred, r("Erbil", quote=OTHER), QUOTED, "evidence") == 0.0  # anchored apart
    # a shared place joins them whatever they quote; the quotes' overlap still weighs
    joined = similarity(pred, r("Mosul", quote=OTHER), QUOTED, "evidence", evidence_weight=0.25)
    assert joined == pytest.approx(0.25 * fuzz.token_set_ratio(SAME_A, OTHER) / 100.0 + 0.75)


def test_quotes_exactly_at_the_overlap_threshold_are_one_passage() -> None:
    a, b = "abcdefghijklmnopqrst", "abcXefghijXlmnopqXst"
    assert fuzz.partial_ratio(a, b) == QUOTE_OVERLAP
    pred, gold = {"place": "Mosul", "evidence": a}, {"place": "Erbil", "evidence": b}
    assert similarity(pred, gold, QUOTED, "evidence", evidence_weight=1.0) == fuzz.token_set_ratio(a, b) / 100.0


@pytest.mark.parametrize(
    "pred, gold, specs, expected",
    [
        (r(quote=OTHER), r(quote=""), ONLY, 0.0),  # a quote anchors its side; an empty quote is none
        (r(), r(quote=OTHER), ONLY, 0.0),
        (r(quote=""), r(quote=""), ONLY, 1.0),
        (r(quote=SAME_A), r(weapon="rocket", quote=OTHER), ONLY, 0.0),
        # the one quote there is (the first code of the vocabulary) is a quote: weighed, one passage
        (r(quote=OTHER), r(weapon="rocket", quote=OTHER), ONLY, 0.5),
        # joined by their place, one quoting: the fields alone, not weighed by a quote
        (r("Erbil", quote=OTHER), r("Erbil", weapon="rocket", quote=""), QUOTED, 0.5),
        (r("Erbil", weapon="rocket"), r("Erbil", quote=OTHER), QUOTED, 0.5),
        # a place on one side and no quote on either: the place still anchors
        (r("Erbil", quote=""), r(quote=""), QUOTED, 0.0),
        (r(quote=""), r("Erbil", quote=""), QUOTED, 0.0),
    ],
)
def test_a_quote_anchors_its_side_and_weighs_only_against_another_quote(
    pred: Record, gold: Record, specs: dict[str, FieldSpec], expected: float
) -> None:
    assert similarity(pred, gold, specs, "evidence") == expected


def test_records_differing_only_in_their_quotes_pair_in_the_same_order_whatever_the_input_order() -> None:
    pred = [{"place": "Erbil", "weapon": "drone", "evidence": q} for q in (SAME_A, OTHER, "Sirens sounded.")]
    gold = [{"place": "Erbil", "weapon": "drone", "evidence": SAME_B}]
    table, flat_pred, flat_gold = table_of({"a": (pred, gold)}, QUOTED, evidence_field="evidence")
    again, pred2, gold2 = table_of({"a": (pred[::-1], gold)}, QUOTED, evidence_field="evidence")
    assert rows(again, pred2, gold2) == rows(table, flat_pred, flat_gold)
    assert [p["evidence"] for p, _, _ in rows(table, flat_pred, flat_gold)] == sorted(
        q for q in (SAME_A, OTHER, "Sirens sounded.")
    )


def test_an_alias_table_maps_every_spelling_of_a_name_onto_its_canonical_form() -> None:
    aliases = Aliases.from_mapping(
        {"Kata'ib Hezbollah": ["Kataeb Hezbollah", "KH"], "Sendero Luminoso": ["Shining Path"]}
    )
    assert aliases.actors is None
    assert aliases.table == {
        "kataib hezbollah": "kataib hezbollah",
        "kataeb hezbollah": "kataib hezbollah",
        "kh": "kataib hezbollah",
        "sendero luminoso": "sendero luminoso",
        "shining path": "sendero luminoso",
    }
    spelt = ["The Kataeb Hezbollah!", "KH", "Shining  Path", "Hamas", "KH"]
    assert [aliases.canonical(v) for v in spelt] == [
        "kataib hezbollah",
        "kataib hezbollah",
        "sendero luminoso",
        "hamas",
        "kataib hezbollah",
    ]
    assert aliases.variants("kataib hezbollah") == {"kataib hezbollah", "kataeb hezbollah", "kh"}
    assert aliases.variants("hamas") == set() and aliases.variants("sendero luminoso") == {
        "sendero luminoso",
        "shining path",
    }
    assert Aliases().canonical("The Hamas") == "hamas" and Aliases().variants("hamas") == set()


def test_an_actor_named_with_role_words_is_its_canonical_name_through_the_alias_table() -> None:
    actors = ActorVocabulary.from_mapping(
        {"Israel": ["Israeli"], "Hezbollah": ["Hizbullah"]}, roles=["warplanes", "fighters"]
    )
    aliases = Aliases.from_mapping({"State of Israel": ["Israel"], "Kataib Hezbollah": ["KH"]}, actors)
    assert aliases.actors is actors
    spelt = ["Israeli warplanes", "Hizbullah fighters", "KH", "Hamas", "Israeli warplanes"]
    assert [aliases.canonical(v) for v in spelt] == [
        "state of israel",
        "hezbollah",
        "kataib hezbollah",
        "hamas",
        "state of israel",
    ]
    assert aliases.variants("state of israel") == {"state of israel", "israel", "israeli"}
    assert aliases.variants("hezbollah") == {"hezbollah", "hizbullah"} and aliases.variants("kh") == set()
