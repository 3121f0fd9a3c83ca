"""Records of one attack told in several sentences fold into one, by what each record's own
sentences state: a place the model copied from the lead does not make a second attack, and the
folded record is the sentence that names the attack, not a claim, a toll or a source."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

import llmx.core.same_incident as same_incident
import llmx.extraction.evidence_first as evidence_first
from llmx.core.normalize import Aliases
from llmx.core.same_incident import fold, incident_groups
from llmx.core.stated import checked_fields, stated, stated_all, stated_first
from llmx.inputs.articles import Article
from llmx.inputs.schemas import load_schema
from llmx.testing.fake_model import function_model
from tests.helpers import ROOT
from tests.test_evidence_first import EMPTY_RECORD, extractor, marking

SCHEMA = load_schema("incident", ROOT / "schemas")
CHECKS = checked_fields(SCHEMA.fields, SCHEMA.verify)
PUBLISHED = dt.date(2023, 12, 16)  # a Saturday

LEAD = "A militia on Saturday claimed a drone attack on a U.S. base in eastern Syria."
DETAIL = "The Islamic Resistance in Iraq said its fighters flew a drone into the Qasrak base."
TEXT = f"{LEAD}\n\n{DETAIL}"
# what the 1.5B model fills for them: the lead's place written its own way, the day copied down
RECORDS = [
    {
        **EMPTY_RECORD,
        "location": "east Syria",
        "attacker": "militia",
        "date": "2023-12-16",
        "date_text": "on Saturday",
        "evidence": LEAD,
    },
    {
        **EMPTY_RECORD,
        "location": "Qasrak base",
        "attacker": "Islamic Resistance in Iraq",
        "date": "2023-12-16",
        "date_text": "on Saturday",
        "evidence": DETAIL,
    },
]


@pytest.fixture(autouse=True)
def _live(live_requests: None) -> None:
    """An in-process fake answers; nothing leaves the process."""


def own(records: list[dict[str, Any]], texts: list[str]) -> list[dict[str, Any]]:
    return stated_all(records, texts, CHECKS, "\n\n".join(texts), PUBLISHED, Aliases(), "evidence")


def test_only_what_the_records_own_sentences_say_is_stated() -> None:
    lead, detail = own(RECORDS, [LEAD, DETAIL])
    assert lead["location"] is None  # "east Syria" is not a name the lead writes
    assert lead["date"] == "2023-12-16"  # its own "on Saturday"
    assert detail["location"] == "Qasrak base"
    assert detail["date"] is None  # "on Saturday" is the lead's words, not this sentence's
    reordered = {**EMPTY_RECORD, "location": "Kfar Hamam village"}
    sentence = "Two farmers were killed in a strike on the village of Kfar Hamam."
    assert stated(reordered, sentence, CHECKS, sentence, None, Aliases())["location"] == "Kfar Hamam village"


@pytest.mark.parametrize(
    "sentence",
    [
        "Baghdad: A militia claimed a drone attack on a US base in Syria.",
        "(MENAFN- IANS) Baghdad, Nov 7 (IANS) A militia claimed a drone attack on a US base in Syria.",
        "BAGHDAD (Reuters) - A militia claimed a drone attack on a US base in Syria.",
    ],
)
def test_a_dateline_is_where_the_report_was_filed_not_where_the_attack_was(sentence: str) -> None:
    record = {**EMPTY_RECORD, "location": "Baghdad"}
    assert stated(record, sentence, CHECKS, sentence, None, Aliases())["location"] is None
    inside = "A militia claimed a drone attack on a US base in Baghdad."
    assert stated(record, inside, CHECKS, inside, None, Aliases())["location"] == "Baghdad"


def test_a_place_the_model_copied_from_the_lead_does_not_make_a_second_attack(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    states = own(RECORDS, [LEAD, DETAIL])
    assert incident_groups(RECORDS, SCHEMA.fields, Aliases(), "evidence", stated=states) == [[0, 1]]
    monkeypatch.setattr(same_incident, "FOLD_STATED", False)  # the rule off: the copied places clash
    assert incident_groups(RECORDS, SCHEMA.fields, Aliases(), "evidence", stated=states) == [[0], [1]]


def test_two_places_each_sentence_names_stay_two_attacks() -> None:
    first = "A strike on the village of Kfar Hamam killed two farmers."
    second = "Another strike hit a depot in Marjayoun."
    records = [
        {**EMPTY_RECORD, "location": "Kfar Hamam village", "weapon": "missile", "evidence": first},
        {**EMPTY_RECORD, "location": "Marjayoun", "weapon": "missile", "evidence": second},
    ]
    states = own(records, [first, second])
    assert incident_groups(records, SCHEMA.fields, Aliases(), "evidence", stated=states) == [[0], [1]]


def test_a_folded_group_takes_the_record_that_names_the_attack() -> None:
    source = "The attack was first reported by a local radio station."
    report = "Rockets hit the Qasrak base on Wednesday, officials said."
    records = [
        {**EMPTY_RECORD, "location": "Qasrak base", "attacker": "local radio station", "evidence": source},
        {**EMPTY_RECORD, "location": "Qasrak base", "attacker": "militants", "evidence": report},
    ]
    states = own(records, [source, report])
    order = stated_first([0, 1], states, CHECKS)
    assert order == [1, 0]
    assert fold(records, order)["evidence"] == report and fold(records, order)["attacker"] == "militants"


def test_one_attack_told_in_a_lead_and_a_detail_is_one_record_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the extractor with a fake model that fills what the 1.5B model filled."""

    def answer(body: dict[str, Any], _number: int) -> dict[str, Any]:
        if marking(body):
            return {"attacks": [{"what": "claim", "sentences": [1]}, {"what": "drone", "sentences": [2]}]}
        shown = re.search(r"Reported by: <article>(.*)</article>", body["messages"][1]["content"], re.S)
        sentence = shown.group(1) if shown else ""
        return {k: v for k, v in RECORDS[0 if sentence.startswith("A militia") else 1].items() if k != "evidence"}

    article = Article(id="s1", text=TEXT, date=PUBLISHED)
    (one,) = asyncio.run(extractor(tmp_path, function_model(answer), []).extract(article)).incidents
    assert one.record["evidence"] == DETAIL and one.record["location"] == "Qasrak base"
    assert one.record["date"] == "2023-12-16"  # the lead's day, kept by the fold
    monkeypatch.setattr(evidence_first, "FOLD_FIRST", False)
    monkeypatch.setattr(same_incident, "FOLD_STATED", False)
    apart = asyncio.run(extractor(tmp_path / "off", function_model(answer), []).extract(article)).incidents
    assert len(apart) == 2
