"""One field of every (predicted, gold) pair as scoring codes and compares it
(llmx.core.similarity_fields), written for the survivors of mutation testing over core/ (issue
32, bench/MUTANTS.md): columns read from records, the integer codes over a sorted vocabulary
(null is -1, True, 1 and 1.0 stay apart), each distinct value pair scored once, and each match
kind's equality and similarity, with its nulls and its threshold or tolerance at the boundary.
Fast and direct: mutmut runs these first against each mutant of the module."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from rapidfuzz import fuzz

from llmx.core.fields import FieldSpec
from llmx.core.normalize import Aliases, normalize
from llmx.core.similarity_fields import (
    codes,
    columns,
    compare_field,
    date_prefix,
    encode,
    hashable,
    key_function,
    partial_ratio,
    per_distinct_pair,
    token_set_ratio,
)


def test_columns_read_each_named_field_and_a_missing_one_as_null() -> None:
    full = [{"a": 1, "b": "x"}, {"a": 2, "b": None}]
    assert columns(full, ["a", "b"]) == {"a": [1, 2], "b": ["x", None]}
    assert columns(full, ["b"]) == {"b": ["x", None]}
    sparse = [{"a": 1}, {"b": "y"}]  # a record without a field reads it as null
    assert columns(sparse, ["a"]) == {"a": [1, None]}
    assert columns(sparse, ["a", "b"]) == {"a": [1, None], "b": [None, "y"]}
    assert columns(sparse, ["a", "b", "c"]) == {"a": [1, None], "b": [None, "y"], "c": [None, None]}
    assert columns([], ["a", "b"]) == {"a": [], "b": []} and columns([], ["a"]) == {"a": []}
    assert columns(full, []) == {}


def test_hashable_values_stay_and_lists_or_dicts_become_their_sorted_json() -> None:
    plain = ["x", 1, 2.5, True, None, ("t", 1)]
    assert hashable(plain) == plain
    mixed = [["b", "a"], {"b": 1, "a": 2}, None, "x", 3, 1.5, False]
    assert hashable(mixed) == ['["b", "a"]', '{"a": 2, "b": 1}', None, "x", 3, 1.5, False]


def test_codes_index_the_sorted_vocabulary_of_both_sides_and_null_is_minus_one() -> None:
    pred, gold, vocabulary = codes(["Mosul", None, "erbil"], ["Kirkuk", "the mosul", None], normalize)
    assert vocabulary == ["erbil", "kirkuk", "mosul"]  # a value on one side only has a code too
    assert pred.tolist() == [2, -1, 0] and gold.tolist() == [1, 2, -1]
    assert pred.dtype == np.int64 and gold.dtype == np.int64
    assert [v.tolist() for v in codes([None], [None], str)[:2]] == [[-1], [-1]] and codes([], [], str)[2] == []
    # two dicts equal but for their key order are one value
    left, right, _ = codes([{"b": 1, "a": 2}], [{"a": 2, "b": 1}, ["a"]], str)
    assert left[0] == right[0] != right[1]


def test_codes_tell_true_from_one_from_one_point_zero() -> None:
    # True == 1 == 1.0 in a set; their texts differ, and so must their codes
    pred, gold, vocabulary = codes([True], [1], str)
    assert vocabulary == ["1", "True"] and (pred.tolist(), gold.tolist()) == ([1], [0])
    pred, gold, vocabulary = codes([True, None, 1], [1.0, "1", None], str)
    assert vocabulary == ["1", "1.0", "True"]
    assert pred.tolist() == [2, -1, 0] and gold.tolist() == [1, 0, -1]  # the int and the text "1" agree


class Spy:
    """A score that tells every pair apart (10 x the left length + the right length) and records
    which pairs it was asked for."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []
        self.calls = 0

    def __call__(self, left: list[str], right: list[str]) -> list[int]:
        self.calls += 1
        pairs = list(zip(left, right, strict=True))
        self.asked += pairs
        return [10 * len(a) + len(b) for a, b in pairs]


def test_each_distinct_pair_is_scored_once_over_the_whole_small_vocabulary_or_only_as_it_occurs() -> None:
    vocabulary = ["a", "bb", "ccc"]
    p, g = np.array([0, 2, 2, 1]), np.array([1, 0, 0, 2])
    every = {(a, b) for a in vocabulary for b in vocabulary}
    for limit, scored in [(250_000, every), (9, every), (8, {("a", "bb"), ("ccc", "a"), ("bb", "ccc")})]:
        spy = Spy()
        out = per_distinct_pair(p, g, vocabulary, spy, full_matrix_limit=limit)
        assert out.dtype == np.float64 and out.tolist() == [12.0, 31.0, 31.0, 23.0]
        assert spy.calls == 1 and len(spy.asked) == len(scored) and set(spy.asked) == scored
    one = Spy()
    assert per_distinct_pair(np.array([0]), np.array([0]), ["a"], one).tolist() == [11.0]
    assert one.asked == [("a", "a")]
    none = Spy()
    empty = per_distinct_pair(np.zeros(0, np.int64), np.zeros(0, np.int64), [], none)
    assert empty.shape == (0,) and none.calls == 0


def test_the_scorers_are_rapidfuzz_s_own_in_double_precision() -> None:
    left, right = ["b a", "Drone hit Erbil", "Kirkuk", "erbil"], ["a b", "drone hit Erbil", "Erbil", "north erbil"]
    assert token_set_ratio(left, right).tolist() == [
        fuzz.token_set_ratio(a, b) for a, b in zip(left, right, strict=True)
    ]
    assert partial_ratio(left, right).tolist() == [fuzz.partial_ratio(a, b) for a, b in zip(left, right, strict=True)]
    assert token_set_ratio(left, right)[0] == 100.0 and partial_ratio(left, right)[3] == 100.0


def test_a_date_agrees_with_a_gold_date_it_starts_with() -> None:
    found = date_prefix(
        ["2024-09-22", "2024-09", "2024-09-22", "2024-01-01"], ["2024-09", "2024-09-22", "2024-10", "2024-01-01"]
    )
    assert found.dtype == np.float64 and found.tolist() == [1.0, 0.0, 0.0, 1.0]


@pytest.mark.parametrize("match", ["exact", "fuzzy", "alias", "number", "ignore"])
def test_values_are_keyed_by_their_normalised_text_and_dates_only_stripped(match: str) -> None:
    assert key_function(FieldSpec("f", match))(" The Kata'ib-Hezbollah! ") == "kataib hezbollah"  # type: ignore[arg-type]
    assert key_function(FieldSpec("f", match))(3) == "3"  # type: ignore[arg-type]
    assert key_function(FieldSpec("day", "date"))(" 2024-09 ") == "2024-09"


def test_a_number_field_keeps_its_floats_and_what_is_not_a_number_equals_nothing() -> None:
    spec = FieldSpec("killed", "number")
    coded = encode(spec, [3, None, "4", "many"], [3.0, 2])
    assert coded.spec is spec and coded.pred[1] == -1 and (coded.pred[[0, 2, 3]] >= 0).all()
    pred, gold, vocabulary = codes([3, None, "4", "many"], [3.0, 2], key_function(spec))  # coded as any field
    assert (coded.pred.tolist(), coded.gold.tolist(), coded.vocabulary) == (pred.tolist(), gold.tolist(), vocabulary)
    assert coded.pred_float is not None and coded.gold_float is not None
    np.testing.assert_array_equal(coded.pred_float, [3.0, math.nan, 4.0, math.nan])
    np.testing.assert_array_equal(coded.gold_float, [3.0, 2.0])
    place = FieldSpec("place", "fuzzy")
    named = encode(place, ["Mosul", None], ["mosul city", "MOSUL"])
    assert named.spec is place and named.pred_float is None and named.gold_float is None
    assert named.vocabulary == ["mosul", "mosul city"]
    assert named.pred.tolist() == [0, -1] and named.gold.tolist() == [1, 0]


def compare(
    spec: FieldSpec, pred: list[Any], gold: list[Any], aliases: Aliases | None = None
) -> tuple[list[Any], list[Any]]:
    """(equal, similarity) of every pred x gold pair, as rows; None where the similarity is NaN."""
    pi, gj = np.repeat(np.arange(len(pred)), len(gold)), np.tile(np.arange(len(gold)), len(pred))
    equal, similarity = compare_field(encode(spec, pred, gold), pi, gj, aliases or Aliases())
    rows = similarity.reshape(len(pred), len(gold)).tolist()
    return equal.reshape(len(pred), len(gold)).tolist(), [[None if math.isnan(s) else s for s in r] for r in rows]


def ratio(a: str, b: str) -> float:
    return fuzz.token_set_ratio(normalize(a), normalize(b)) / 100.0


def test_exact_values_agree_when_normalised_alike_and_score_all_or_nothing() -> None:
    equal, similarity = compare(FieldSpec("place", "exact"), ["Erbil", "north Erbil", None], ["the erbil", None])
    assert equal == [[True, False], [False, False], [False, False]]
    # one side null: 0, not reported on both sides: says nothing (NaN), a near miss: 0
    assert similarity == [[1.0, 0.0], [0.0, 0.0], [0.0, None]]


def test_numbers_agree_within_the_tolerance_inclusive_and_score_all_or_nothing() -> None:
    equal, similarity = compare(FieldSpec("killed", "number", tolerance=1.0), [3, 10, None, "many"], [3.0, 4, 12, None])
    assert equal == [[True, True, False, False], [False, False, False, False], [False] * 4, [False] * 4]
    assert similarity == [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, None], [0.0, 0.0, 0.0, 0.0]]
    equal, _ = compare(FieldSpec("killed", "number"), [3, -3], [3.0, 4])
    assert equal == [[True, False], [False, False]]


def test_a_date_agrees_to_the_precision_gold_gives_and_a_near_day_is_no_agreement() -> None:
    pred, gold = ["2024-09-22", "2024-09", "2024-01-01", None], ["2024-09", "2024-09-22", "2024-01-02"]
    equal, similarity = compare(FieldSpec("date", "date"), pred, gold)
    assert equal == [[True, True, False], [True, False, False], [False, False, False], [False, False, False]]
    assert similarity == [[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]


def test_fuzzy_names_agree_at_the_threshold_and_otherwise_score_their_ratio() -> None:
    assert fuzz.token_set_ratio("mosul", "mosel") == 80.0
    spec = FieldSpec("place", "fuzzy", threshold=80.0)
    equal, similarity = compare(spec, ["Mosul", "Kirkuk", None], ["Mosel", "Erbil", "kirkuk"])
    assert equal == [[True, False, False], [False, False, True], [False, False, False]]
    assert similarity == [
        [1.0, ratio("Mosul", "Erbil"), ratio("Mosul", "kirkuk")],
        [ratio("Kirkuk", "Mosel"), ratio("Kirkuk", "Erbil"), 1.0],
        [0.0, 0.0, 0.0],  # a null prediction scores 0, whatever the last word of the vocabulary
    ]
    assert compare(FieldSpec("place", "fuzzy", threshold=80.5), ["Mosul"], ["Mosel"]) == ([[False]], [[0.8]])


def test_an_alias_field_agrees_through_the_table_or_the_fuzzy_ratio_and_a_fuzzy_field_only_by_ratio() -> None:
    aliases = Aliases.from_mapping({"Sendero Luminoso": ["Shining Path"]})
    pred = ["Shining Path", "Islamic Resistance in Iraq", "Hezbollah"]
    gold = ["Sendero Luminoso", "the Islamic Resistance of Iraq", "Hamas"]
    equal, similarity = compare(FieldSpec("actor", "alias"), pred, gold, aliases)
    assert [row[k] for k, row in enumerate(equal)] == [True, True, False]
    assert [row[k] for k, row in enumerate(similarity)] == [1.0, 1.0, ratio("Hezbollah", "Hamas")]
    assert equal[0][1] is False and similarity[0][1] == ratio("Shining Path", "the Islamic Resistance of Iraq")
    equal, similarity = compare(FieldSpec("actor", "fuzzy"), pred, gold, aliases)
    assert [row[k] for k, row in enumerate(equal)] == [False, True, False]
    assert similarity[0][0] == ratio("Shining Path", "Sendero Luminoso") < 0.85
