"""Checks of the shipped incident schema, applied during extraction (fake model, in process):
values the article does not support are re-asked or nulled and listed, records that report no
attack are set aside and counted, duplicates consolidated, and the recall pass of two_pass."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from llmx.inputs.articles import Article
from llmx.inputs.prompts import load_prompt
from llmx.model.server import make_client
from llmx.runs.results import ArticleResult, RunSummary
from llmx.testing.fake_model import Reply, Script, mock_transport, schema_answer, schema_answers
from tests.helpers import ROOT, BoundExtractor, make_extractor

TEXT = "A drone hit the Ain al-Asad airbase on Monday. Officials gave no further details."
ARTICLE = Article(id="a1", text=TEXT)  # no publication date, nothing said about casualties
FIRST = "A drone hit the Ain al-Asad airbase on Monday."
SECOND = "Officials gave no further details."


def extractor(tmp_path: Path, script: Script, seen: list[dict[str, Any]], **options: Any) -> BoundExtractor:
    client = make_client("sk-test", "http://fake/v1", 5, mock_transport(script, seen))
    ex = make_extractor(tmp_path / "cassettes", client)
    for name, value in options.items():
        setattr(ex.extractor, name, value)
    ex.extractor.__post_init__()
    return ex


def run(ex: BoundExtractor, article: Article = ARTICLE) -> ArticleResult:
    return asyncio.run(ex.extract(article))


@pytest.fixture(autouse=True)
def _live(live_requests: None) -> None:
    """An in-process fake answers; nothing leaves the process."""


def test_unsupported_values_are_nulled_and_listed_never_silently(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    invented = {"date": "2023-02-02", "killed": 0, "location": "Kirkuk", "evidence": FIRST}
    result = run(extractor(tmp_path, schema_answers(invented), seen))
    assert len(seen) == 1  # by default unsupported values are nulled, not re-asked
    (item,) = result.incidents
    assert (item.record["date"], item.record["killed"], item.record["location"]) == (None, None, None)
    removed = {c.field: c.value for c in item.verification}
    assert removed == {"date": "2023-02-02", "killed": 0, "location": "Kirkuk"}
    assert "no publication date" in next(c.reason for c in item.verification if c.field == "date")
    assert RunSummary.of([result]).values_removed == 3


def test_verify_reasks_ask_the_model_with_the_reason(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    script = schema_answers({"killed": 0, "evidence": FIRST}, {"killed": None, "evidence": FIRST})
    result = run(extractor(tmp_path, script, seen, verify_reasks=1))
    assert len(seen) == 2 and result.provenance.verification_reasks == 1
    reask = seen[1]["messages"][-1]["content"]
    assert "killed" in reask and "use null" in reask
    assert result.incidents[0].record["killed"] is None and result.incidents[0].verification == []


def test_a_quote_that_reports_no_attack_is_set_aside_and_counted(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    result = run(extractor(tmp_path, schema_answers({"evidence": SECOND}), seen))
    assert result.incidents == [] and len(result.dropped) == 1
    assert result.dropped[0].record["evidence"] == SECOND
    assert RunSummary.of([result]).records_dropped == 1


def test_duplicates_in_one_answer_are_consolidated_and_counted(tmp_path: Path) -> None:
    def triple(body: dict[str, Any], number: int) -> Any:
        return schema_answer(body, records=3, evidence=FIRST)

    result = run(extractor(tmp_path, triple, []))
    assert len(result.incidents) == 1 and result.provenance.duplicates_removed == 2


def test_records_the_checks_make_equal_are_one(tmp_path: Path) -> None:
    """Two records of one sentence that differ only in dates the article does not give (it has
    no publication date) are the same record once the checks remove those dates."""

    def two_dates(body: dict[str, Any], number: int) -> Any:
        answer = json.loads(schema_answer(body, records=2, evidence=FIRST).content)
        for record, day in zip(answer["incidents"], ("2023-03-03", "2023-03-14"), strict=True):
            record["date"] = day
        return Reply(content=json.dumps(answer))

    result = run(extractor(tmp_path, two_dates, []))
    assert len(result.incidents) == 1 and result.provenance.duplicates_removed == 1
    assert result.incidents[0].record["date"] is None


def test_two_pass_shows_what_was_found_and_keeps_only_new_incidents(tmp_path: Path) -> None:
    text = FIRST + " Hours later, rockets struck the Erbil airport, wounding two guards."
    article = Article(id="a2", text=text, date=dt.date(2024, 1, 10))
    seen: list[dict[str, Any]] = []
    script = schema_answers(
        {"evidence": FIRST, "location": "Ain al-Asad airbase"},  # pass 1 finds the first attack
        {"evidence": FIRST, "location": "Ain al-Asad airbase"},  # pass 2 repeats it...
    )
    recall = load_prompt("incident_recall", ROOT / "prompts")
    repeated = run(extractor(tmp_path, script, seen, strategy="two_pass", recall_prompt=recall), article)
    assert len(seen) == 2 and "already extracted" in seen[1]["messages"][1]["content"]
    assert FIRST in seen[1]["messages"][1]["content"]
    assert len(repeated.incidents) == 1 and repeated.provenance.duplicates_removed == 1
    assert repeated.provenance.passes == 2

    second = "Hours later, rockets struck the Erbil airport, wounding two guards."
    script = schema_answers(
        {"evidence": FIRST, "location": "Ain al-Asad airbase"}, {"evidence": second, "location": "Erbil airport"}
    )
    found = run(extractor(tmp_path / "b", script, [], strategy="two_pass", recall_prompt=recall), article)
    assert [i.record["location"] for i in found.incidents] == ["Ain al-Asad airbase", "Erbil airport"]


def test_a_recall_record_of_the_same_attack_in_other_words_is_a_repeat(tmp_path: Path) -> None:
    """The recall pass quotes another sentence about the attack already found: not an exact or
    same-evidence duplicate (consolidation keeps those out), but the same incident by the
    scorer's rule (same place), so it is dropped as a repeat."""
    other = "The attack on the Ain al-Asad airbase caused no damage, a spokesman said."
    article = Article(id="a4", text=f"{FIRST} {other}", date=dt.date(2024, 1, 10))
    script = schema_answers(
        {"evidence": FIRST, "location": "Ain al-Asad airbase"},
        {"evidence": other, "location": "Ain al-Asad airbase"},
    )
    recall = load_prompt("incident_recall", ROOT / "prompts")
    result = run(extractor(tmp_path, script, [], strategy="two_pass", recall_prompt=recall), article)
    assert [i.record["evidence"] for i in result.incidents] == [FIRST]
    assert result.provenance.duplicates_removed == 1


def test_a_date_the_records_own_words_settle_replaces_the_publication_date(tmp_path: Path) -> None:
    text = "Rockets hit the Erbil airport on Friday, officials said."
    article = Article(id="a3", text=text, date=dt.date(2024, 3, 18))  # a Monday
    quote = {"evidence": text, "date_text": "on Friday"}
    wrong = run(extractor(tmp_path, schema_answers({**quote, "date": "2024-03-18"}), []), article)
    (item,) = wrong.incidents
    assert item.record["date"] == "2024-03-15" and "set to 2024-03-15" in item.verification[0].reason
    missing = run(extractor(tmp_path / "b", schema_answers({**quote, "date": None}), []), article)
    assert missing.incidents[0].record["date"] == "2024-03-15"
    assert missing.incidents[0].verification[0].value is None  # filled, and said so
    two_days = {"evidence": "Rockets hit on Friday and again on Sunday.", "date_text": "Friday and Sunday"}
    article = Article(id="a4", text=two_days["evidence"], date=dt.date(2024, 3, 18))
    ambiguous = run(extractor(tmp_path / "c", schema_answers({**two_days, "date": "2024-03-18"}), []), article)
    assert ambiguous.incidents[0].record["date"] is None  # two days: not settled, nulled
