"""Hand-made cases for llmx.core.verify: each value is one a small model really writes, and each
assertion says whether the article supports it. Seed articles are read from seeds/."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from llmx.core.checks import check_count, check_date, check_event, check_present, verify_record
from llmx.core.counts import numbers, says_none
from llmx.core.verify import ArticleFacts, Finding, VerifySpec, apply_findings, parse_verify, reask_message
from llmx.errors import SchemaError
from llmx.inputs.aliases import load_aliases
from llmx.inputs.articles import parse_text
from llmx.inputs.schemas import load_schema
from tests.helpers import ROOT

SCHEMA = load_schema("incident", ROOT / "schemas")
SPECS = SCHEMA.verify
ALIASES = load_aliases(ROOT / "schemas" / "aliases.yaml")


def seed(prefix: str) -> ArticleFacts:
    """A seed article; its first line ` date YYYY-MM-DD`, when present, is the publication date."""
    (path,) = (ROOT / "seeds").glob(f"{prefix}_*.txt")
    article = parse_text(path.stem, path.read_text(encoding="utf-8"), str(path))
    return ArticleFacts(text=article.text, published=article.date)


def record(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict.fromkeys(SCHEMA.record_model.model_fields)
    return {**base, "weapon": "drone", "evidence": "", **fields}


def date_ok(value: Any, facts: ArticleFacts, **quotes: Any) -> str | None:
    return check_date(value, record(**quotes), facts, SPECS["date"])


def count(field: str, value: Any, facts: ArticleFacts) -> str | None:
    return check_count(value, record(), facts, SPECS[field])


def present(field: str, value: Any, facts: ArticleFacts, **others: Any) -> str | None:
    return check_present(value, record(**others), facts, SPECS[field], ALIASES)


def event(value: Any, facts: ArticleFacts, spec: VerifySpec | None = None) -> str | None:
    return check_event(value, record(), facts, spec or SPECS["evidence"])


SUN_2024_09_22 = dt.date(2024, 9, 22)
TUE_2024_03_05 = dt.date(2024, 3, 5)


# --- dates -----------------------------------------------------------------------------------


def test_undated_article_gives_no_day_for_a_weekday() -> None:
    facts = seed("001")  # no publication date; "on Wednesday"
    quote = "A drone targeted Western troops at a military base in Iraq on Wednesday"
    reason = date_ok("2023-11-29", facts, date_text="on Wednesday", evidence=quote)
    assert reason == "date 2023-11-29 is not in the article, which has no publication date: use null"
    assert date_ok(None, facts, date_text="on Wednesday", evidence=quote) is None


def test_weekday_resolves_against_the_publication_date_the_day_itself_included() -> None:
    facts = seed("000")  # published Sunday 2024-09-22
    quote = "The Tehran-backed Hezbollah movement in Lebanon announced on Sunday it had launched rockets"
    assert date_ok("2024-09-22", facts, date_text="on Sunday", evidence=quote) is None
    reason = date_ok("2024-09-15", facts, date_text="on Sunday", evidence=quote)
    assert reason is not None and "which give 2024-09-22: use that, or null" in reason


def test_weekday_is_the_most_recent_one_on_or_before_publication() -> None:
    facts = ArticleFacts("Rockets hit the base on Tuesday. Drones hit it on Friday.", dt.date(2024, 11, 4))  # Monday
    assert date_ok("2024-10-29", facts, date_text="on Tuesday") is None
    assert date_ok("2024-11-05", facts, date_text="on Tuesday") is not None  # after publication
    assert date_ok("2024-11-01", facts, date_text="on Friday") is None
    assert date_ok("2024-10-25", facts, date_text="on Friday") is not None  # a week too early


def test_next_weekday_is_a_plan_not_a_date() -> None:
    facts = ArticleFacts("The group threatened to strike the base next Monday.", dt.date(2024, 11, 4))
    assert date_ok("2024-11-04", facts, date_text="next Monday") is not None


@pytest.mark.parametrize("words", ["yesterday", "last night"])
def test_yesterday_and_last_night_give_the_day_before_publication(words: str) -> None:
    facts = ArticleFacts(f"Rockets hit the base {words}, officials said.", TUE_2024_03_05)
    assert date_ok("2024-03-04", facts, date_text=words) is None
    assert "which give 2024-03-04" in (date_ok("2024-03-05", facts, date_text=words) or "")  # not the publication day


def test_overnight_gives_the_publication_day_or_the_one_before() -> None:
    facts = ArticleFacts("Rockets hit the base overnight, officials said.", TUE_2024_03_05)
    assert date_ok("2024-03-04", facts, date_text="overnight") is None
    assert date_ok("2024-03-05", facts, date_text="overnight") is None


@pytest.mark.parametrize("words", ["today", "this morning", "earlier today", "tonight"])
def test_today_gives_the_publication_day_only(words: str) -> None:
    facts = ArticleFacts(f"A drone struck a convoy {words}.", TUE_2024_03_05)
    assert date_ok("2024-03-05", facts, date_text=words) is None
    assert date_ok("2024-03-04", facts, date_text=words) is not None


def test_date_words_must_occur_in_the_article_not_only_in_the_record() -> None:
    facts = ArticleFacts("The base was attacked last year, officials said.", SUN_2024_09_22)
    assert date_ok("2024-09-21", facts, date_text="yesterday") is not None  # the model invented "yesterday"


def test_publication_date_for_last_year_is_rejected() -> None:
    facts = ArticleFacts("The base was attacked last year, officials said on Sunday.", SUN_2024_09_22)
    quote = "The base was attacked last year"
    reason = date_ok("2024-09-22", facts, date_text="last year", evidence=quote)
    assert reason == (
        "date 2024-09-22 (the publication date) does not follow from the article: 'last year' gives no day: use null"
    )


@pytest.mark.parametrize("words", ["last week", "last month", "last year", "in recent weeks", "earlier this week"])
def test_vague_words_never_give_a_day(words: str) -> None:
    facts = ArticleFacts(f"Rockets hit the base {words}.", SUN_2024_09_22)
    for value in ("2024-09-22", "2024-09-21", "2024-09-15", "2024-08-22"):
        assert date_ok(value, facts, date_text=words) is not None


def test_last_month_gives_a_month() -> None:
    facts = ArticleFacts("Rockets hit the base last month.", SUN_2024_09_22)
    assert date_ok("2024-08", facts, date_text="last month") is None
    assert date_ok("2024-09", facts, date_text="last month") is not None


@pytest.mark.parametrize(
    "written",
    ["February 7, 2024", "7 February 2024", "Feb. 7, 2024", "Feb 7 2024", "7th of February 2024", "2024-02-07"],
)
def test_year_stated_in_the_text_needs_no_publication_date(written: str) -> None:
    facts = ArticleFacts(f"A drone struck a car in Baghdad on {written}, killing three.", None)
    quote = f"A drone struck a car in Baghdad on {written}, killing three."
    assert date_ok("2024-02-07", facts, evidence=quote) is None
    assert date_ok("2024-02", facts, evidence=quote) is None  # the month of a stated day
    assert date_ok("2024-02-08", facts, evidence=quote) is not None


def test_real_caption_date_with_year() -> None:
    facts = seed("000")
    quote = facts.text.split(". Last winter")[0] + "."
    assert date_ok("2024-02-07", facts, date_text="on February 7, 2024", evidence=quote) is None


def test_month_stated_supports_the_month_not_a_day() -> None:
    facts = ArticleFacts("Militias fired rockets at the embassy in February 2024.", None)
    assert date_ok("2024-02", facts, date_text="in February 2024") is None
    assert date_ok("2024-02-01", facts, date_text="in February 2024") is not None
    assert date_ok("2024-03", facts, date_text="in February 2024") is not None


def test_slashed_dates_only_when_unambiguous() -> None:
    facts = ArticleFacts("Rockets hit the base on 7/2/2024 and again on 13/2/2024.", None)
    assert date_ok("2024-02-07", facts, date_text="7/2/2024") is not None  # 7 Feb or Jul 2?
    assert date_ok("2024-07-02", facts, date_text="7/2/2024") is not None
    assert date_ok("2024-02-13", facts, date_text="13/2/2024") is None


def test_day_and_month_without_year_take_the_publication_year_or_the_one_before() -> None:
    facts = ArticleFacts("Rockets hit the base on February 7 and a drone struck on December 30.", TUE_2024_03_05)
    assert date_ok("2024-02-07", facts, date_text="on February 7") is None
    assert date_ok("2023-02-07", facts, date_text="on February 7") is not None
    assert date_ok("2023-12-30", facts, date_text="on December 30") is None  # 2024-12-30 is after publication
    assert date_ok("2024-12-30", facts, date_text="on December 30") is not None


def test_day_and_month_without_year_in_an_undated_article() -> None:
    facts = seed("004")  # "on October 7", no publication date
    quote = "which erupted on October 7 when the terror group launched a deadly attack into Israel"
    reason = date_ok("2023-10-07", facts, date_text="on October 7", evidence=quote)
    assert reason == "date 2023-10-07 is not in the article, which has no publication date: use null"


def test_a_date_elsewhere_in_the_article_does_not_date_this_record() -> None:
    facts = seed("004")  # the caption's "December 4, 2023" is a funeral, not the Monday drone attack
    quote = "A drone attack targeted the Ain al-Asad airbase in western Iraq on Monday"
    reason = date_ok("2023-12-04", facts, date_text="on Monday", evidence=quote)
    assert reason is not None and reason.startswith("date 2023-12-04 is in the article but not in this record's")


def test_a_day_before_or_after_a_stated_date() -> None:
    facts = seed("004")
    quote = "This picture taken on July 8, 2021 shows a view of the Ain al-Assad air base hosting US forces in Iraq"
    quote += " in the western Anbar province, a day after fourteen rockets were fired at the base"
    assert date_ok("2021-07-07", facts, evidence=quote) is None
    assert date_ok("2021-07-06", facts, evidence=quote) is not None


def test_quotes_option_limits_where_date_words_are_read() -> None:
    facts = ArticleFacts("On Sunday officials said rockets hit the base last year.", SUN_2024_09_22)
    only_date_text = parse_verify("date", {"check": "date", "quotes": ["date_text"]})
    assert only_date_text is not None
    fields = record(date_text="last year", evidence="On Sunday officials said rockets hit the base last year.")
    assert check_date("2024-09-22", fields, facts, SPECS["date"]) is None  # "On Sunday" is in the evidence
    assert check_date("2024-09-22", fields, facts, only_date_text) is not None


@pytest.mark.parametrize("value", ["2024-02-30", "2024-13", "Feb 7", "07/02/2024", 20240207, ""])
def test_values_that_are_not_dates(value: Any) -> None:
    reason = date_ok(value, ArticleFacts("Rockets hit on 2024-02-07.", None), date_text="2024-02-07")
    assert reason is not None and "is not a date: use YYYY-MM-DD" in reason


# --- counts ----------------------------------------------------------------------------------


def test_no_casualties_supports_zero_for_both() -> None:
    for facts in (seed("004"), seed("001"), ArticleFacts("There were no casualties in the attack.", None)):
        assert count("killed", 0, facts) is None  # 004: "without causing casualties"; 001: "no causalities"
        assert count("injured", 0, facts) is None


def test_no_injuries_says_nothing_of_deaths() -> None:
    facts = seed("000")  # "The attack caused no injuries, according to the Israeli military."
    assert count("injured", 0, facts) is None
    assert count("killed", 0, facts) == "killed 0: the article does not say that nobody was killed: use null"


@pytest.mark.parametrize(
    ("sentence", "killed", "injured"),
    [
        ("No one was killed in the strike.", True, False),
        ("Nobody was killed or injured.", True, True),
        ("No one was hurt.", True, True),
        ("No soldiers were wounded.", False, True),
        ("The attack caused no deaths.", True, False),
        ("There were no fatalities.", True, False),
        ("There were no immediate reports of casualties.", False, False),
        ("No death toll was given.", False, False),
        ("It was unclear whether anyone was killed.", False, False),
        ("Rockets hit the base.", False, False),
    ],
)
def test_which_kind_a_none_sentence_rules_out(sentence: str, killed: bool, injured: bool) -> None:
    assert (says_none(sentence, "killed"), says_none(sentence, "injured")) == (killed, injured)
    facts = ArticleFacts(sentence, None)
    assert (count("killed", 0, facts) is None, count("injured", 0, facts) is None) == (killed, injured)


def test_number_words_in_real_articles() -> None:
    assert count("killed", 5, seed("001")) is None  # "killing five of them"
    expected = "killed 6: the article does not state 6 people killed: use the number it gives, or null"
    assert count("killed", 6, seed("001")) == expected
    assert count("killed", 1, seed("002")) is None  # "which left one dead and three injured"
    assert count("injured", 3, seed("002")) is None
    assert count("killed", 3, seed("000")) is None  # "reportedly killing three people"
    assert count("killed", 1200, seed("004")) is None  # "killing 1,200 people"


def test_invented_number_or_one_not_about_casualties() -> None:
    facts = seed("003")  # "an average of five a day and eight drones": numbers, but nobody killed
    assert count("killed", 5, facts) is not None
    assert count("killed", 8, facts) is not None
    assert count("injured", 4, facts) is not None


def test_dozens_is_no_exact_number_and_no_one_is_not_one() -> None:
    facts = seed("002")  # "leaving dozens of U.S. service members with minor injuries"
    assert count("injured", 12, facts) is not None
    assert count("injured", 24, facts) is not None
    assert count("killed", 1, ArticleFacts("No one was killed.", None)) is not None


@pytest.mark.parametrize(
    ("sentence", "value"),
    [("A dozen people were killed.", 12), ("Twenty-one soldiers were killed.", 21), ("3 civilians died.", 3)],
)
def test_numbers_written_as_words_or_digits(sentence: str, value: int) -> None:
    assert count("killed", value, ArticleFacts(sentence, None)) is None
    assert count("killed", value + 1, ArticleFacts(sentence, None)) is not None


def test_one_casualty_said_with_a() -> None:
    soldier = ArticleFacts("A US soldier was killed in the attack.", None)
    assert count("killed", 1, soldier) is None
    assert count("injured", 1, soldier) is not None
    assert count("killed", 1, ArticleFacts("The strike killed a Hezbollah commander.", None)) is None
    assert count("killed", 1, ArticleFacts("The strikes killed an estimated 40 fighters.", None)) is not None


def test_numbers_reads_digits_and_words() -> None:
    text = "twenty-one, a dozen, dozens, two hundred and five, 1,200, no one, 3.5 km, one dead and three hurt"
    assert [m.value for m in numbers(text)] == [21, 12, 205, 1200, 1, 3]


@pytest.mark.parametrize("value", [-1, True, "3", 2.5])
def test_values_that_are_not_counts(value: Any) -> None:
    reason = count("killed", value, ArticleFacts("Three people were killed.", None))
    assert reason is not None and "is not a count" in reason


# --- names and places ------------------------------------------------------------------------


def test_place_not_in_the_article() -> None:
    reason = present("location", "Kirkuk", seed("004"))
    assert reason == (
        "location 'Kirkuk' does not occur in the article: copy the name as the article writes it, or use null"
    )
    assert present("location", "Kirkuk", seed("001")) is None


def test_adjective_of_a_name_counts() -> None:
    facts = ArticleFacts("The Israeli military said it shot down a drone fired by Iranian proxies.", None)
    assert present("attacker", "Israel", facts) is None
    assert present("attacker", "Iran", facts) is None
    assert present("attacker", "Syria", facts) is not None


def test_alias_variant_counts() -> None:
    facts = seed("002")  # "Hachd al-Chaabi"
    assert present("attacker", "Popular Mobilization Forces", facts) is None
    assert present("attacker", "Hashd al-Shaabi", facts) is None
    assert present("claimed_by", "Kataib Hezbollah", seed("003")) is None  # written "Kata’ib Hezbollah"
    assert present("claimed_by", "Kataib Hezbollah", facts) is not None


def test_fuzzy_spelling_and_threshold_option() -> None:
    facts = ArticleFacts("A drone struck a depot in the Jurf al-Sakhar area south of Baghdad.", None)
    assert present("location", "Jurf al-Sakher", facts) is None
    strict = parse_verify("location", {"check": "present", "threshold": 99})
    assert strict is not None and check_present("Jurf al-Sakher", record(), facts, strict, ALIASES) is not None


def test_short_names_must_be_whole_words() -> None:
    facts = ArticleFacts("Drones were launched towards Ukraine and used by pro-Iran groups.", None)
    assert present("attacker", "UK", facts) is not None
    assert present("attacker", "US", facts) is not None  # "used" is not "US"


def test_a_list_of_places_counts_part_by_part() -> None:
    assert present("location", "Green Zone, Baghdad", seed("004")) is None
    assert present("location", "Green Zone, Kirkuk", seed("004")) is not None


def test_admin_region_that_repeats_the_country() -> None:
    facts = seed("001")
    reason = present("admin_region", "Iraq", facts, country="Iraq")
    assert reason == "admin_region 'Iraq' only repeats country: use the admin region the article names, or null"
    assert present("admin_region", "iraq", facts, country="Iraq") is not None
    # a province is named as one ("Kirkuk province", "the governorate of Nineveh"), never a bare city
    assert "is not named in the article as a province" in (present("admin_region", "Iraq", facts) or "")
    named = ArticleFacts("Rockets hit a base in Kirkuk province and a depot in the governorate of Nineveh.")
    assert present("admin_region", "Kirkuk", named) is None and present("admin_region", "Nineveh", named) is None
    assert present("admin_region", "Kirkuk province", named) is None
    city = ArticleFacts("Missiles hit Kyiv and the city of Kharkiv overnight.")
    assert present("admin_region", "Kyiv", city) is not None and present("admin_region", "Kharkiv", city) is not None


def test_names_that_are_not_names() -> None:
    assert present("location", "", seed("001")) is not None
    assert present("location", 42, seed("001")) is not None
    assert present("location", None, seed("001")) is None


# --- evidence --------------------------------------------------------------------------------


def test_evidence_that_does_not_describe_an_attack() -> None:
    facts = seed("002")
    quote = (
        "A funeral took place near a mosque in Baghdad, in the presence of several hundred Hachd al-Chaabi fighters."
    )
    reason = event(quote, facts)
    assert reason is not None and "does not describe an attack" in reason
    assert event("Sudani said his government was committed to protecting members of the anti-jihadist "
                 "coalition on Iraqi territory.", seed("001")) is not None  # fmt: skip


def test_evidence_not_in_the_article() -> None:
    reason = event("A missile struck the port of Basra on Friday.", seed("002"))
    assert reason == "evidence is not in the article: copy the sentence that reports this attack word for word"


def test_evidence_of_an_attack_in_the_article() -> None:
    facts = seed("003")
    assert event("Two of the UAVs were intercepted after infiltrating into Israeli territory", facts) is None
    assert event("the UAVs were shot down before threatening any population centers", facts) is None


def test_event_words_option_whole_words_and_prefixes() -> None:
    facts = ArticleFacts("Hitherto calm, the town saw an explosion. A funeral followed.", None)
    hit = parse_verify("evidence", {"check": "event", "words": ["hit"]})
    prefix = parse_verify("evidence", {"check": "event", "words": ["explos-"]})
    funeral = parse_verify("evidence", {"check": "event", "words": ["funeral"]})
    assert hit and prefix and funeral
    assert event("Hitherto calm, the town saw an explosion.", facts, hit) is not None  # "hitherto" is not "hit"
    assert event("Hitherto calm, the town saw an explosion.", facts, prefix) is None
    assert event("A funeral followed.", facts, funeral) is None
    assert event("A funeral followed.", facts) is not None


# --- declarations ----------------------------------------------------------------------------


def test_parse_verify_forms() -> None:
    assert parse_verify("x", None) is None
    assert parse_verify("x", "present") == VerifySpec(field="x", check="present")
    spec = parse_verify("killed", {"check": "count", "casualty": "killed"})
    assert spec == VerifySpec(field="killed", check="count", casualty="killed")
    spec = parse_verify("admin_region", {"check": "present", "differs_from": "country", "threshold": 90})
    assert spec is not None and spec.references == ("country",) and spec.threshold == 90.0
    spec = parse_verify("date", {"check": "date", "quotes": ["date_text"]})
    assert spec is not None and spec.quotes == ("date_text",) and spec.references == ("date_text",)


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ("telepathy", "verify check 'telepathy' is unknown; use one of date, count, present, event"),
        ({"casualty": "killed"}, "verify check None is unknown"),
        ({"check": "count", "threshold": 90}, "verify check 'count' has no option 'threshold'; its options: casualty"),
        ({"check": "count", "casualty": "dead"}, "'casualty' must be one of killed, injured, not 'dead'"),
        ({"check": "present", "threshold": 150}, "'threshold' must be a number from 0 to 100, not 150"),
        ({"check": "present", "threshold": True}, "'threshold' must be a number from 0 to 100, not True"),
        ({"check": "present", "differs_from": "x"}, "'differs_from' must name another field, not 'x'"),
        ({"check": "date", "quotes": "date_text"}, "'quotes' must be a list of strings, not 'date_text'"),
        ({"check": "date", "quotes": []}, "'quotes' must be a non-empty list of non-empty strings"),
        ({"check": "event", "words": [""]}, "'words' must be a non-empty list of non-empty strings"),
        (42, "verify must be a check name or a dict with 'check', not 42"),
    ],
)
def test_parse_verify_errors(declared: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_verify("x", declared)


def _schema_file(tmp_path: Path, llmx: str) -> None:
    (tmp_path / "s.py").write_text(
        "from pydantic import BaseModel, Field\n"
        "class R(BaseModel):\n"
        "    country: str | None\n"
        f"    x: str | None = Field(json_schema_extra={{'llmx': {llmx}}})\n"
        "class Extraction(BaseModel):\n    items: list[R]\n"
    )


def test_schema_loader_reads_and_refuses_declarations(tmp_path: Path) -> None:
    _schema_file(tmp_path, "{'match': 'alias', 'verify': {'check': 'present', 'differs_from': 'country'}}")
    loaded = load_schema("s", tmp_path)
    assert loaded.verify == {"x": VerifySpec(field="x", check="present", differs_from="country")}
    assert loaded.fields["x"].match == "alias" and '"verify"' not in json.dumps(loaded.json_schema())
    _schema_file(tmp_path, "{'verify': {'check': 'count', 'casualty': 'dead'}}")
    with pytest.raises(SchemaError, match=r"s.py: field 'x': verify option 'casualty' must be one of"):
        load_schema("s", tmp_path)
    _schema_file(tmp_path, "{'verify': {'check': 'present', 'differs_from': 'province'}}")
    with pytest.raises(SchemaError, match=r"s.py: field 'x': verify names no such field 'province'"):
        load_schema("s", tmp_path)


def test_incident_schema_declares_its_checks() -> None:
    assert {name: spec.check for name, spec in SPECS.items()} == {
        "date": "date",
        "location": "present",
        "admin_region": "present",
        "attacker": "actor",
        "claimed_by": "actor",
        "killed": "count",
        "injured": "count",
        "evidence": "event",
    }
    assert SPECS["killed"].casualty == "killed" and SPECS["injured"].casualty == "injured"
    assert SPECS["admin_region"].differs_from == "country"
    assert SPECS["date"].quotes == ("date_text", "evidence")
    assert '"verify"' not in json.dumps(SCHEMA.json_schema())


# --- records ---------------------------------------------------------------------------------


def test_verify_record_apply_findings_and_reask_message() -> None:
    facts = seed("000")
    quote = "The attack caused no injuries, according to the Israeli military."
    bad = record(
        date="2024-02-02",
        date_text="last year",
        location="Kirkuk",
        country="Israel",
        attacker="Israel",
        killed=0,
        injured=0,
        evidence=quote,
    )
    findings = verify_record(bad, SPECS, facts, ALIASES)
    assert [f.field for f in findings] == ["date", "location", "killed"]
    assert findings[1] == Finding(field="location", value="Kirkuk", reason=findings[1].reason)
    nullable = {"date", "location", "killed", "injured", "evidence"}
    fixed = apply_findings(bad, [*findings, Finding(field="weapon", value="drone", reason="r")], nullable)
    assert (fixed["date"], fixed["location"], fixed["killed"], fixed["injured"]) == (None, None, None, 0)
    assert fixed["weapon"] == "drone" and bad["date"] == "2024-02-02"  # not nullable; input untouched
    message = reask_message(findings, 2)
    assert message.splitlines()[0].startswith("Record 2 has values the article does not support")
    assert "- location: location 'Kirkuk' does not occur in the article" in message
    assert "- killed: killed 0: the article does not say that nobody was killed: use null" in message
    assert reask_message([], 1) == ""


def test_evidence_is_kept_when_not_nullable() -> None:
    finding = Finding(field="evidence", value="x", reason="r")
    assert apply_findings({"evidence": "x"}, [finding], {"date"}) == {"evidence": "x"}


# --- gold ------------------------------------------------------------------------------------


GOLD = sorted((ROOT / "gold").glob("*.json"))


def article_for(gold: Path) -> ArticleFacts:
    """The article a gold file annotates: a seed, challenge, long-set or events article of the same id."""
    folders = ("seeds", "challenge", "long", "events")
    (path,) = [p for folder in folders for p in (ROOT / folder).glob(f"{gold.stem}.txt")]
    article = parse_text(path.stem, path.read_text(encoding="utf-8"), str(path))
    return ArticleFacts(text=article.text, published=article.date)


@pytest.mark.parametrize("path", GOLD, ids=[p.stem[:3] for p in GOLD])
def test_every_gold_value_is_supported_by_its_article(path: Path) -> None:
    facts = article_for(path)
    incidents = json.loads(path.read_text(encoding="utf-8"))["incidents"]
    for number, incident in enumerate(incidents, start=1):
        assert verify_record(incident, SPECS, facts, ALIASES) == [], f"incident {number}"


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("Israeli warplanes", "Israel"),  # an actor's means name the actor
        ("Russia's army", "Russia"),
        ("US F-15s", "United States"),
        ("the Houthi rebels", "Houthis"),
        ("armed assailants", "armed assailants"),  # an actor the vocabulary does not know is kept as written
        ("drones", None),  # a weapon alone is no one
        ("civilians", None),  # the victims are never the attacker
        ("Russian Defence Ministry", None),  # the source that reported it
        ("unknown", None),
    ],
)
def test_an_attacker_is_an_actor_named_as_the_vocabulary_names_it(value: str, kept: str | None) -> None:
    from llmx.extraction.record_checks import RecordChecks
    from llmx.inputs.aliases import load_aliases

    aliases = load_aliases(ROOT / "schemas" / "aliases.yaml")
    words = "Israeli warplanes Russia's army US F-15s the Houthi rebels armed assailants drones civilians"
    text = f"{words} Russian Defence Ministry unknown struck a depot on Monday, officials said."
    record = {name: None for name in SCHEMA.fields} | {"attacker": value, "weapon": "drone", "evidence": text}
    settled = RecordChecks(SCHEMA, aliases).finish([record], ArticleFacts(text=text))
    (item,) = settled.records
    assert item.record["attacker"] == kept
    if kept != value:
        assert [c.field for c in item.verification] == ["attacker"]
