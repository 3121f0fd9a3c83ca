"""The scorer is pure: hand-computed cases, then invariants checked with hypothesis."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmx.core.fields import FieldSpec
from llmx.core.normalize import Aliases, normalize
from llmx.core.scoring import score_run
from llmx.inputs.aliases import load_aliases
from llmx.inputs.gold import GoldFile, validate_incidents
from llmx.inputs.schemas import load_schema
from tests.helpers import ROOT
from tests.reference_scoring import field_equal, similarity

INCIDENT = load_schema("incident", ROOT / "schemas")
ALIASES = load_aliases(ROOT / "schemas" / "aliases.yaml")
EXACT5 = {f"f{i}": FieldSpec(name=f"f{i}", match="exact") for i in range(1, 6)}
NONE = Aliases()


def rec(**fields: Any) -> dict[str, Any]:
    base = {name: None for name in INCIDENT.fields}
    base.update(weapon="drone", evidence="")
    return {**base, **fields}


def score_article(
    article_id: str, predicted: Any, gold: Any, specs: Any, aliases: Aliases, evidence: str | None = None
):  # type: ignore[no-untyped-def]
    """One article's score: ``articles[article_id]`` holds its matched, missed and spurious records."""
    return score_run({article_id: predicted}, {article_id: gold}, specs, aliases, evidence)


def score(pred: list[dict[str, Any]], gold: list[dict[str, Any]], specs: dict[str, FieldSpec] | None = None):  # type: ignore[no-untyped-def]
    if specs is None:
        return score_article("a", pred, gold, INCIDENT.fields, ALIASES, "evidence")
    return score_article("a", pred, gold, specs, NONE)


def test_perfect_match() -> None:
    gold = [rec(location="Erbil", killed=2), rec(weapon="rocket", location="Kirkuk")]
    result = score(gold, gold)
    assert (result.incidents.tp, result.incidents.fp, result.incidents.fn) == (2, 0, 0)
    assert result.incidents.f1 == 1.0
    filled = {"location", "killed", "weapon"}
    assert all(result.fields[name].f1 == 1.0 and result.fields[name].tp == 2 - (name == "killed") for name in filled)
    # every other field is null on both sides: nothing to measure, "n/a", never a free 1.0
    assert all(not prf.counted and prf.summary()["f1"] is None for n, prf in result.fields.items() if n not in filled)


def test_missing_incident_halves_recall() -> None:
    gold = [rec(location="Erbil", killed=2), rec(weapon="rocket", location="Kirkuk", country="Iraq")]
    result = score([gold[0]], gold)
    assert (result.incidents.tp, result.incidents.fp, result.incidents.fn) == (1, 0, 1)
    assert result.incidents.precision == 1.0 and result.incidents.recall == 0.5
    assert result.incidents.f1 == pytest.approx(2 / 3)
    assert result.articles["a"].missed[0]["location"] == "Kirkuk"


def test_spurious_incident_halves_precision() -> None:
    gold = [rec(location="Erbil", killed=2)]
    invented = rec(weapon="missile", location="Tehran", country="Iran", killed=40)
    result = score([gold[0], invented], gold)
    assert (result.incidents.tp, result.incidents.fp, result.incidents.fn) == (1, 1, 0)
    assert result.incidents.precision == 0.5 and result.articles["a"].spurious == [invented]


def test_swapped_pair_needs_optimal_matching() -> None:
    # similarities: p1-g1 0.8, p1-g2 0.6, p2-g1 0.6, p2-g2 0.2. Greedy takes p1-g1 and leaves p2-g2 below the
    # 0.5 threshold (1 match); the Hungarian assignment takes p1-g2 + p2-g1 (2 matches).
    g1, g2 = dict.fromkeys(EXACT5, "a"), {"f1": "b", "f2": "b", "f3": "a", "f4": "a", "f5": "b"}
    p1 = {"f1": "a", "f2": "a", "f3": "a", "f4": "a", "f5": "b"}
    p2 = {"f1": "a", "f2": "a", "f3": "a", "f4": "c", "f5": "c"}
    result = score([p1, p2], [g1, g2], EXACT5)
    assert (result.incidents.tp, result.incidents.fp, result.incidents.fn) == (2, 0, 0)
    pairs = {(tuple(p.predicted.values()), tuple(p.gold.values())) for p in result.articles["a"].matched}
    assert (tuple(p1.values()), tuple(g2.values())) in pairs


def test_field_counts_wrong_value_as_both_and_null_is_not_zero() -> None:
    gold = [rec(location="Erbil", killed=0, injured=None, country="Iraq", date="2024-01-05")]
    pred = [rec(location="Erbil", killed=None, injured=0, country="Syria", date="2024-01-05")]
    result = score(pred, gold)
    assert result.incidents.tp == 1
    f = result.fields
    assert (f["killed"].tp, f["killed"].fp, f["killed"].fn) == (0, 0, 1)  # null where gold says 0
    assert (f["injured"].tp, f["injured"].fp, f["injured"].fn) == (0, 1, 0)  # 0 where gold says null
    assert (f["country"].tp, f["country"].fp, f["country"].fn) == (0, 1, 1)  # wrong value: both
    assert (f["date"].tp, f["location"].tp) == (1, 1)
    assert set(result.articles["a"].matched[0].differing) == {"killed", "injured", "country"}


def test_aliases_diacritics_and_date_precision() -> None:
    alias = INCIDENT.fields["claimed_by"]
    assert field_equal(alias, "Kata'ib Hezbollah", "Kataeb Hezbollah", ALIASES)
    assert field_equal(alias, "Islamic Resistance of Iraq", "the Islamic Resistance in Iraq", ALIASES)
    assert field_equal(INCIDENT.fields["location"], "Aïn al-Assad air base", "Ain al-Asad airbase", ALIASES)
    assert not field_equal(alias, "Hezbollah", "Hamas", ALIASES)
    assert normalize("The  Kata’ib-Hezbollah!") == "kataib hezbollah"
    date = INCIDENT.fields["date"]
    assert field_equal(date, "2024-09-22", "2024-09", NONE)  # gold knows only the month
    assert not field_equal(date, "2024-09", "2024-09-22", NONE)  # prediction less precise than gold
    assert not field_equal(INCIDENT.fields["killed"], 3, 4, NONE)
    tolerant = FieldSpec(name="killed", match="number", tolerance=1)
    assert field_equal(tolerant, 3, 4, NONE)


def test_optional_gold_is_neither_rewarded_nor_penalised() -> None:
    required, optional = rec(location="Erbil", killed=2), rec(weapon="rocket", location="Basra", optional=True)
    found_it = score([required, {k: v for k, v in optional.items() if k != "optional"}], [required, optional])
    missed_it = score([required], [required, optional])
    for result in (found_it, missed_it):
        assert (result.incidents.tp, result.incidents.fp, result.incidents.fn) == (1, 0, 0)


def test_between_equally_similar_gold_records_a_required_one_is_matched() -> None:
    """Two gold records the prediction matches equally well, one optional and listed first: the
    prediction is paired with the required one, so nothing required is counted as missed."""
    strike = rec(location="Erbil", killed=2, evidence="A drone struck Erbil, killing two.")
    result = score([dict(strike)], [{**strike, "optional": True}, strike])
    assert (result.incidents.tp, result.incidents.fn, result.incidents.fp) == (1, 0, 0)


def test_article_with_no_incidents_on_either_side_is_perfect() -> None:
    result = score([], [])
    assert (result.incidents.precision, result.incidents.recall, result.incidents.f1) == (1.0, 1.0, 1.0)
    assert score([rec()], []).incidents.f1 == 0.0 and score([], [rec()]).incidents.f1 == 0.0


def test_failed_article_counts_its_gold_as_missed() -> None:
    total = score_run({"a": None}, {"a": [rec(location="Erbil")]}, INCIDENT.fields, ALIASES, failures={"a": "timeout"})
    assert total.incidents.fn == 1 and total.articles["a"].failed == "timeout"


def test_a_second_schema_is_scored_from_its_own_declarations(tmp_path: Path) -> None:
    muc = load_schema("muc4", ROOT / "schemas")
    assert muc.list_field == "templates" and muc.fields["perpetrator"].match == "alias"
    assert muc.fields["victim"].match == "fuzzy" and muc.fields["incident_type"].match == "exact"
    gold_path = tmp_path / "m1.json"
    gold_path.write_text(
        '{"version": 1, "article_id": "m1", "schema": "muc4", "incidents": ['
        '{"incident_type": "bombing", "perpetrator": "Shining Path", "target": "power pylon",'
        ' "victim": null, "weapon": "dynamite", "evidence": "Terrorists dynamited a power pylon."},'
        '{"incident_type": "kidnapping", "perpetrator": "FMLN", "target": null, "victim": "a judge",'
        ' "weapon": null, "evidence": "The FMLN kidnapped a judge."}]}'
    )
    gold = validate_incidents(gold_path, GoldFile.read(gold_path), muc)
    aliases = Aliases.from_mapping({"Sendero Luminoso": ["Shining Path"]})
    predicted = [
        {
            "incident_type": "bombing",
            "perpetrator": "Sendero Luminoso",
            "target": "a power pylon",
            "victim": None,
            "weapon": "dynamite",
            "evidence": "Terrorists dynamited a power pylon.",
        },
        {
            "incident_type": "arson",
            "perpetrator": None,
            "target": "a bus",
            "victim": None,
            "weapon": "fire",
            "evidence": "A bus was set on fire.",
        },
    ]
    result = score_run({"m1": predicted}, {"m1": gold}, muc.fields, aliases, muc.evidence_field)
    assert (result.incidents.tp, result.incidents.fp, result.incidents.fn) == (1, 1, 1)
    assert result.fields["perpetrator"].tp == 1 and result.fields["target"].tp == 1  # alias + fuzzy


# ---- invariants -------------------------------------------------------------------------------

names = st.sampled_from(["Erbil", "Kirkuk", "Ain al-Asad airbase", "Al-Shaddadi", "Baghdad", None])
groups = st.sampled_from(["Islamic Resistance in Iraq", "Kataib Hezbollah", "US forces", "Hezbollah", None])
records = st.builds(
    rec,
    location=names,
    country=st.sampled_from(["Iraq", "Syria", "Israel", None]),
    attacker=groups,
    claimed_by=groups,
    weapon=st.sampled_from(["drone", "rocket", "missile", "air/drone strike"]),
    killed=st.one_of(st.none(), st.integers(0, 5)),
    injured=st.one_of(st.none(), st.integers(0, 5)),
    date=st.sampled_from(["2024-01-01", "2024-01-02", "2024-02", None]),
    intercepted=st.sampled_from([True, False, None]),
)
articles = st.dictionaries(st.sampled_from(["a", "b", "c"]), st.lists(records, max_size=5), min_size=1)


@settings(max_examples=150, deadline=None)
@given(articles)
def test_gold_scored_against_itself_is_perfect(gold: dict[str, list[dict[str, Any]]]) -> None:
    result = score_run(gold, gold, INCIDENT.fields, ALIASES, "evidence")
    assert result.incidents.f1 == 1.0
    assert all(prf.f1 == 1.0 for prf in result.fields.values())
    assert all(article.incidents.f1 == 1.0 for article in result.articles.values())


@settings(max_examples=150, deadline=None)
@given(articles, articles, st.randoms())
def test_scores_are_bounded_and_independent_of_order(pred, gold, rnd: random.Random) -> None:  # type: ignore[no-untyped-def]
    first = score_run(pred, gold, INCIDENT.fields, ALIASES, "evidence")
    shuffled = {k: rnd.sample(v, len(v)) for k, v in pred.items()}
    again = score_run(
        shuffled, {k: rnd.sample(v, len(v)) for k, v in gold.items()}, INCIDENT.fields, ALIASES, "evidence"
    )
    assert first.incidents.summary() == again.incidents.summary()
    assert {k: v.summary() for k, v in first.fields.items()} == {k: v.summary() for k, v in again.fields.items()}
    for prf in [first.incidents, *first.fields.values(), *(a.incidents for a in first.articles.values())]:
        assert 0.0 <= prf.precision <= 1.0 and 0.0 <= prf.recall <= 1.0 and 0.0 <= prf.f1 <= 1.0


@settings(max_examples=100, deadline=None)
@given(st.lists(records, min_size=1, max_size=4), st.lists(records, min_size=1, max_size=4))
def test_vectorised_similarity_agrees_with_the_pairwise_definition(pred, gold) -> None:  # type: ignore[no-untyped-def]
    from llmx.core.similarity import pair_table

    table, flat_pred, flat_gold = pair_table({"a": (pred, gold)}, INCIDENT.fields, ALIASES, "evidence")
    for k, (i, j) in enumerate(zip(table.pred_index.tolist(), table.gold_index.tolist(), strict=True)):
        p, g = flat_pred[i], flat_gold[j]
        assert table.similarity[k] == pytest.approx(similarity(p, g, INCIDENT.fields, ALIASES, "evidence"))
        for name, equal in table.equal.items():
            both = p[name] is not None and g[name] is not None
            assert bool(equal[k]) == (both and field_equal(INCIDENT.fields[name], p[name], g[name], ALIASES))


def test_same_evidence_sentence_with_wrong_fields_is_a_match_with_field_errors() -> None:
    sentence = "A drone targeted Western troops at a military base in Iraq on Wednesday."
    gold = [
        rec(
            location="Ain al-Asad Airbase",
            country="Iraq",
            attacker="Islamic Resistance in Iraq",
            claimed_by="Islamic Resistance in Iraq",
            target="US and Coalition forces",
            killed=0,
            injured=0,
            evidence=sentence,
        )
    ]
    pred = [
        rec(
            date="2023-03-03",
            location="Ain al-Asad Airbase",
            admin_region="Iraq",
            country="Iraq",
            attacker="pro-Iran militant group",
            claimed_by="pro-Iran militant group",
            target="Western troops",
            intercepted=False,
            evidence=sentence,
        )
    ]
    result = score(pred, gold)
    assert (result.incidents.tp, result.incidents.fp, result.incidents.fn) == (1, 0, 0)
    assert {"attacker", "killed", "date"} <= set(result.articles["a"].matched[0].differing)
    assert result.fields["attacker"].fp == 1 and result.fields["killed"].fn == 1


# ---- what makes two records the same incident ---------------------------------------------------


def test_a_copy_of_one_strike_is_not_matched_to_another_attack_on_generic_fields() -> None:
    """Seed 000: a second copy of the Baghdad caption strike once matched, at similarity 0.50, the
    gold drone attack on Israel (other sentence, other country, other actor) on date, weapon and
    'intercepted' alone."""
    path = ROOT / "gold" / "000_e376b6ba81a78c64.json"
    gold = validate_incidents(path, GoldFile.read(path), INCIDENT)
    baghdad = next(g for g in gold if g["location"] == "Baghdad")
    copy = {k: v for k, v in baghdad.items() if k not in ("optional", "note")}
    copy.update(date="2024-09-22", weapon="drone", intercepted=True)  # what agreed with the drone attack
    result = score_run({"000": [copy, dict(copy)]}, {"000": gold}, INCIDENT.fields, ALIASES, "evidence")
    article = result.articles["000"]
    assert [p.gold["location"] for p in article.matched] == ["Baghdad"]  # one copy: the optional caption strike
    assert len(article.spurious) == 1  # the other copy is an invention, not the attack on Israel
    assert {m["country"] for m in article.missed} == {"Israel"}


def test_records_quoting_different_sentences_match_on_a_shared_place_or_actor() -> None:
    gold = [rec(attacker="Hezbollah", country="Israel", evidence="Hezbollah said it fired rockets.")]
    pred = [rec(attacker="Hezbollah", country="Israel", evidence="Sirens sounded across northern Israel.")]
    assert score(pred, gold).incidents.tp == 1
    stranger = [rec(attacker="Hamas", country="Gaza", evidence="Sirens sounded across northern Israel.")]
    assert score(stranger, gold).incidents.tp == 0


def test_matches_list_which_record_paired_with_which() -> None:
    gold = [
        rec(location="Erbil", evidence="A drone hit Erbil."),
        rec(location="Kirkuk", evidence="Rockets hit Kirkuk."),
    ]
    pred = [rec(location="Basra"), rec(location="Kirkuk"), rec(location="Erbil")]
    article = score(pred, gold).articles["a"]
    assert sorted((p.predicted_index, p.gold_index) for p in article.matched) == [(1, 1), (2, 0)]
    assert article.spurious_indices == [0] and article.missed_indices == []


def test_a_field_absent_from_gold_is_not_annotated_and_not_scored() -> None:
    gold = [{k: v for k, v in rec(location="Erbil", killed=2).items() if k != "killed"}]
    pred = [rec(location="Erbil", killed=7)]
    result = score(pred, gold)
    assert result.incidents.tp == 1 and not result.fields["killed"].counted
    assert "killed" not in result.articles["a"].matched[0].differing


def test_field_macro_f1_is_not_available_when_no_pair_fills_a_field() -> None:
    result = score_run({"a": None}, {"a": [rec(location="Erbil")]}, INCIDENT.fields, ALIASES, failures={"a": "x"})
    assert result.field_macro_f1 is None and all(not prf.counted for prf in result.fields.values())
