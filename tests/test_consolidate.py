"""Hand-made cases for llmx.core.consolidate: duplicates a model writes within one article."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from llmx.core.consolidate import ConsolidationCounts, consolidate, evidence_key, same_value
from llmx.inputs.aliases import load_aliases
from tests.helpers import ROOT

FIELDS = ("date", "location", "country", "attacker", "weapon", "killed", "intercepted", "evidence")
# seeds/003: one sentence, two attacks (two attackers)
TWO_ATTACKS = (
    "Earlier on Monday, the Israel Defense Forces said that two drones were fired from Iraq and two from "
    "Lebanon, and that all four were intercepted."
)
AIN_AL_ASAD = "A drone attack targeted the Ain al-Asad airbase in western Iraq on Monday, without causing casualties."
SHADDADI = (
    "And in northeast Syria, “several rockets” were fired at a base in the Al-Shaddadi region, the official added."
)


def rec(**fields: Any) -> dict[str, Any]:
    return {**dict.fromkeys(FIELDS), **fields}


def test_exact_duplicates_are_removed_whatever_the_key_order() -> None:
    a = rec(location="Ain al-Asad airbase", weapon="drone", evidence=AIN_AL_ASAD)
    reordered = dict(reversed(list(a.items())))
    b = rec(location="Al-Shaddadi", weapon="rocket", evidence=SHADDADI)
    kept, counts = consolidate([a, b, reordered, b], "evidence")
    assert kept == [a, b]
    assert counts == ConsolidationCounts(duplicates_removed=2, merged=0)


def test_same_evidence_compatible_fields_merge_filling_nulls() -> None:
    first = rec(location="Ain al-Asad airbase", weapon="drone", killed=None, evidence=AIN_AL_ASAD)
    other = rec(location=None, country="Iraq", weapon="drone", killed=0, attacker=None, evidence=AIN_AL_ASAD)
    shaddadi = rec(location="Al-Shaddadi", weapon="rocket", evidence=SHADDADI)
    kept, counts = consolidate([first, shaddadi, other], "evidence")
    assert kept == [rec(location="Ain al-Asad airbase", country="Iraq", weapon="drone", killed=0, evidence=AIN_AL_ASAD),
                    shaddadi]  # fmt: skip
    assert counts == ConsolidationCounts(duplicates_removed=0, merged=1)


def test_zero_is_a_value_not_a_null() -> None:
    a = rec(weapon="drone", killed=0, evidence=AIN_AL_ASAD)
    b = rec(weapon="drone", killed=3, evidence=AIN_AL_ASAD)
    kept, counts = consolidate([a, b], "evidence")
    assert kept == [a, b] and counts.merged == 0


def test_same_evidence_conflicting_fields_are_two_attacks() -> None:
    from_iraq = rec(country="Israel", attacker="Islamic Resistance in Iraq", weapon="drone", evidence=TWO_ATTACKS)
    from_lebanon = rec(country="Israel", attacker="Hezbollah", weapon="drone", evidence=TWO_ATTACKS)
    kept, counts = consolidate([from_iraq, from_lebanon], "evidence")
    assert kept == [from_iraq, from_lebanon]
    assert counts == ConsolidationCounts(duplicates_removed=0, merged=0)


def test_evidence_compares_after_case_quote_and_whitespace_folding() -> None:
    a = rec(location="Al-Shaddadi", weapon="rocket", evidence=SHADDADI)
    loose = '  and in northeast Syria, "several rockets" were fired at a base in the\nAl-Shaddadi   region, '
    loose += "the official added"
    b = rec(country="Syria", weapon="rocket", evidence=loose)
    kept, counts = consolidate([a, b], "evidence")
    assert kept == [rec(location="Al-Shaddadi", country="Syria", weapon="rocket", evidence=SHADDADI)]
    assert counts.merged == 1
    assert evidence_key(SHADDADI) == evidence_key(loose)
    assert evidence_key("Rockets hit the base.") != evidence_key("Rockets hit the bases.")


def test_different_evidence_is_never_merged() -> None:
    a = rec(weapon="drone", evidence=AIN_AL_ASAD)
    b = rec(weapon="drone", evidence=TWO_ATTACKS)
    kept, counts = consolidate([a, b], "evidence")
    assert kept == [a, b] and counts == ConsolidationCounts()


def test_order_is_first_occurrence_and_merges_chain() -> None:
    a1 = rec(location="Ain al-Asad airbase", weapon="drone", evidence=AIN_AL_ASAD)
    b = rec(location="Al-Shaddadi", weapon="rocket", evidence=SHADDADI)
    a2 = rec(country="Iraq", weapon="drone", evidence=AIN_AL_ASAD)
    a3 = rec(killed=0, weapon="drone", evidence=AIN_AL_ASAD)
    a_conflict = rec(location="Al-Asad", weapon="rocket", evidence=AIN_AL_ASAD)  # conflicts with the merged a
    kept, counts = consolidate([a1, b, a2, a3, a1, a_conflict], "evidence")
    merged_a = rec(location="Ain al-Asad airbase", country="Iraq", killed=0, weapon="drone", evidence=AIN_AL_ASAD)
    assert kept == [merged_a, b, a_conflict]
    assert counts == ConsolidationCounts(duplicates_removed=1, merged=2)


def test_a_record_that_fits_two_others_is_kept_apart() -> None:
    from_iraq = rec(attacker="Islamic Resistance in Iraq", weapon="drone", evidence=TWO_ATTACKS)
    from_lebanon = rec(attacker="Hezbollah", weapon="drone", evidence=TWO_ATTACKS)
    unsure = rec(country="Israel", weapon="drone", evidence=TWO_ATTACKS)  # which attack is it?
    kept, counts = consolidate([from_iraq, from_lebanon, unsure], "evidence")
    assert kept == [from_iraq, from_lebanon, unsure] and counts.merged == 0


def test_without_evidence_only_exact_duplicates_go() -> None:
    a = rec(location="Baghdad", weapon="drone", evidence="x")
    b = rec(country="Iraq", weapon="drone", evidence="x")
    kept, counts = consolidate([a, b, a], None)
    assert kept == [a, b] and counts == ConsolidationCounts(duplicates_removed=1, merged=0)
    kept, counts = consolidate([rec(location="Baghdad"), rec(country="Iraq")], "evidence")  # null evidence
    assert len(kept) == 2 and counts.merged == 0


def test_strings_compare_folded_and_booleans_are_not_numbers() -> None:
    assert same_value("Ain al-Asad Airbase", "ain al asad airbase")
    assert not same_value(True, 1) and not same_value(0, False) and same_value(3, 3)
    a = rec(location="Ain al-Asad Airbase", weapon="drone", evidence=AIN_AL_ASAD)
    b = rec(location="ain al-asad airbase", killed=0, weapon="drone", evidence=AIN_AL_ASAD)
    kept, _ = consolidate([a, b], "evidence")
    assert kept == [{**a, "killed": 0}]  # the first spelling is kept


def test_equal_can_use_the_alias_table() -> None:
    aliases = load_aliases(ROOT / "schemas" / "aliases.yaml")
    a = rec(attacker="Kataeb Hezbollah", weapon="rocket", evidence=SHADDADI)
    b = rec(attacker="Kataib Hezbollah", country="Syria", weapon="rocket", evidence=SHADDADI)
    assert len(consolidate([a, b], "evidence")[0]) == 2
    kept, counts = consolidate([a, b], "evidence", equal=lambda x, y: same_value(x, y) or (
        isinstance(x, str) and isinstance(y, str) and aliases.canonical(x) == aliases.canonical(y)))  # fmt: skip
    assert kept == [{**a, "country": "Syria"}] and counts.merged == 1


def test_a_merge_can_settle_a_record_that_fitted_two() -> None:
    from_iraq = rec(attacker="Islamic Resistance in Iraq", weapon="drone", evidence=TWO_ATTACKS)
    from_lebanon = rec(attacker="Hezbollah", weapon="drone", evidence=TWO_ATTACKS)
    unsure = rec(location="Israeli territory", weapon="drone", evidence=TWO_ATTACKS)  # fits both, for now
    lebanon_place = rec(attacker="Hezbollah", location="Galilee", weapon="drone", evidence=TWO_ATTACKS)
    kept, counts = consolidate([from_iraq, from_lebanon, unsure, lebanon_place], "evidence")
    assert kept == [{**from_iraq, "location": "Israeli territory"}, {**from_lebanon, "location": "Galilee"}]
    assert counts == ConsolidationCounts(duplicates_removed=0, merged=2)


def test_input_is_not_modified() -> None:
    records = [rec(weapon="drone", evidence=AIN_AL_ASAD), rec(country="Iraq", weapon="drone", evidence=AIN_AL_ASAD)]
    before = copy.deepcopy(records)
    consolidate(records, "evidence")
    assert records == before


_values = st.sampled_from([None, "Iraq", "Syria", 0, 3])
_records = st.lists(
    st.fixed_dictionaries(
        {"country": _values, "killed": _values, "evidence": st.sampled_from([None, "A drone hit.", "A DRONE  hit"])}
    ),
    max_size=8,
)


@given(_records)
def test_every_input_record_is_kept_removed_or_merged_and_once_is_enough(records: list[dict[str, Any]]) -> None:
    kept, counts = consolidate(records, "evidence")
    assert len(kept) + counts.duplicates_removed + counts.merged == len(records)
    again, counts_again = consolidate(kept, "evidence")
    assert again == kept and counts_again == ConsolidationCounts()
