"""Small pure helpers at their edges, written for the survivors of mutation testing over core/
(issue 32, bench/MUTANTS.md): which secrets a process holds, and numbers too large to show."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import random
from collections import Counter
from urllib.parse import quote

import pytest

from llmx.core.actors import ActorVocabulary
from llmx.core.agreement import MISSING, field_agreement, nominal_alpha
from llmx.core.confidence import (
    UNKNOWN,
    Token,
    raw_confidence,
    record_value_spans,
    span_logprob,
    token_spans,
    value_probabilities,
)
from llmx.core.counts import NUMBER_BOUND, numbers, out_of_range, shown_number
from llmx.core.mentions import group_by_mentions
from llmx.core.realis import reports_happened
from llmx.core.redact import REDACTED, Redactor
from llmx.core.sentences import chunk_chars, rough_sentences, scope_span, sentence_at, split_sentences
from llmx.core.verify import ArticleFacts
from tests.test_verify import date_ok

KEY = "sk-test-0123456789abcdef"
AZURE = "azure0123456789KEY"


def test_a_process_s_secrets_are_its_keys_and_what_its_base_urls_carry() -> None:
    environ = {"OPENAI_API_KEY": KEY, "AZURE_OPENAI_API_KEY": AZURE, "OPENAI_BASE_URL": "https://u:pw-env@h.example/v1"}
    argv = ["extract", "--base-url", "https://h.example/v1?token=tok-arg1", "--base-url=https://h.example/v1?k=tok-eq2"]
    redactor = Redactor.from_environment(environ, argv)
    assert set(redactor.secrets) == {KEY, AZURE, "pw-env", "tok-arg1", "tok-eq2"}  # "u" is too short to replace
    said = f"{KEY} {AZURE} pw-env tok-arg1 tok-eq2 {quote(KEY, safe='')}"
    assert redactor.text(said) == " ".join([REDACTED] * 6)
    assert (
        Redactor.from_environment({}).secrets == [] and Redactor.from_environment({}, ["--base-url", "x"]).secrets == []
    )
    assert redactor(None) is None and redactor.text("nothing secret") == "nothing secret"
    assert redactor.secrets == sorted(redactor.secrets, key=len, reverse=True)  # longest first: no partial replace


def test_numbers_beyond_the_bound_are_found_and_shown_readably() -> None:
    assert out_of_range(NUMBER_BOUND) is None and out_of_range(NUMBER_BOUND + 1) == NUMBER_BOUND + 1
    assert out_of_range(-NUMBER_BOUND - 1) == -NUMBER_BOUND - 1 and out_of_range(True) is None
    assert out_of_range(float(NUMBER_BOUND)) is None and out_of_range(math.inf) == math.inf
    assert math.isnan(out_of_range(math.nan)) and out_of_range(float(NUMBER_BOUND) * 2) == float(NUMBER_BOUND) * 2
    assert out_of_range({"a": 1, "b": [2, NUMBER_BOUND + 5, NUMBER_BOUND + 6]}) == NUMBER_BOUND + 5
    assert out_of_range([1, 2.5, {"x": 3}]) is None and out_of_range("12") is None
    assert shown_number(10**400) == "a number of about 401 digits"
    assert shown_number(-(10**15)) == "a number of about 16 digits"
    assert shown_number(10**15 - 1) == "999999999999999"
    assert shown_number(1.5e300) == "1.5e+300" and shown_number("x" * 50) == "x" * 40


def test_records_join_on_shared_sentences_surest_first_and_never_across_a_clash() -> None:
    assert group_by_mentions([], set()) == []
    assert group_by_mentions([{5}, {6}, {5}], set()) == [[0, 2], [1]]  # groups by first record, members in order
    assert group_by_mentions([{1}, {1}, {1}], set()) == [[0, 1, 2]]
    assert group_by_mentions([{1}, {2}, set()], set()) == [[0], [1], [2]]
    # 1 and 2 share two sentences: they join first, and then 0 (clashing with 2) joins neither
    assert group_by_mentions([{1}, {1, 2}, {1, 2}], {(0, 2)}) == [[0], [1, 2]]
    assert group_by_mentions([{1}, {1, 2}, {2}], {(0, 2)}) == [[0, 1], [2]]
    assert group_by_mentions([{1}, {1}, {1}, {1}], {(1, 3)}) == [[0, 1, 2], [3]]


def reference_alpha(rows: list[list[object]]) -> float:
    """Krippendorff's nominal alpha by the coincidence matrix, written out."""
    units = [[row[u] for row in rows if row[u] is not None] for u in range(len(rows[0]))]
    pairs: Counter[tuple[object, object]] = Counter()
    for unit in (u for u in units if len(u) >= 2):
        for a, b in itertools.permutations(unit, 2):
            pairs[a, b] += 1 / (len(unit) - 1)
    totals: Counter[object] = Counter()
    for (a, _), weight in pairs.items():
        totals[a] += weight
    n = sum(totals.values())
    observed = sum(weight for (a, b), weight in pairs.items() if a != b)
    expected = sum(totals[a] * totals[b] for a in totals for b in totals if a != b)
    return 1 - (n - 1) * observed / expected


def test_nominal_alpha_is_krippendorffs_coincidence_formula() -> None:
    rng = random.Random(4)
    for _ in range(30):
        coders, width = rng.choice([2, 3]), rng.randint(2, 7)
        rows = [[rng.choice(["a", "b", "c", None]) for _ in range(width)] for _ in range(coders)]
        pairable = [u for u in range(width) if sum(r[u] is not None for r in rows) >= 2]
        values = [r[u] for u in pairable for r in rows if r[u] is not None]
        if len(set(values)) < 2:
            assert nominal_alpha(rows) is None  # no variation among pairable values: undefined
            continue
        assert nominal_alpha(rows) == pytest.approx(reference_alpha(rows))
    assert nominal_alpha([]) is None and nominal_alpha([[], []]) is None
    assert nominal_alpha([["a", "b"], ["a", None]]) is None  # one pairable unit, one value
    assert nominal_alpha([["a", "b", "x"], ["a", "b"]]) == 1.0  # a unit only one coder reached is not pairable


def test_field_agreement_codes_a_rule_equal_value_as_the_other_side_s() -> None:
    units = [("Islamic Resistance of Iraq", "Islamic Resistance in Iraq", True), (3, None, False)]
    units += [(MISSING, 2, False), (None, None, True), (0, "0", False), ("x", MISSING, True)]
    found = field_agreement("attacker", units)
    assert (found.name, found.units, found.agreed) == ("attacker", 4, 2) and found.percent == 0.5
    assert found.alpha == pytest.approx(
        reference_alpha([["a", "3", None, "null", "0", "x"], ["a", "null", "2", "null", '"0"', None]])
    )
    assert field_agreement("killed", [(MISSING, 1, False)]).percent is None


def random_value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.choice(["str", "num", "null", "bool", "list", "dict"] if depth < 2 else ["str", "num", "null"])
    if kind == "str":
        return rng.choice(["", "Erbil", 'say "hi"', "a\\b", "x, y}", "é ]"])
    if kind == "num":
        return rng.choice([0, -3, 2.5, 10**6])
    if kind in ("null", "bool"):
        return rng.choice([None, True, False]) if kind == "bool" else None
    if kind == "list":
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {f"k{i}": random_value(rng, depth + 1) for i in range(rng.randint(0, 3))}


@pytest.mark.parametrize("layout", [{}, {"indent": 2}, {"separators": (",", ":")}, {"indent": "\t"}])
def test_each_value_s_span_holds_exactly_that_value_as_written(layout: dict[str, object]) -> None:
    rng = random.Random(11)
    for _ in range(25):
        records = [{f"f{i}": random_value(rng) for i in range(rng.randint(0, 4))} for _ in range(rng.randint(0, 3))]
        content = "```json\n" + json.dumps({"other": [1], "incidents": records}, **layout) + "\n```"  # type: ignore[arg-type]
        spans = record_value_spans(content, "incidents")
        assert spans is not None and [list(s) for s in spans] == [list(r) for r in records]
        for record, found in zip(records, spans, strict=True):
            assert {name: json.loads(content[a:b]) for name, (a, b) in found.items()} == record
    assert record_value_spans('{"incidents": [1, {"a": 2}]}', "incidents") == [{}, {"a": (24, 25)}]


@pytest.mark.parametrize(
    "bad",
    [
        "no json",
        '{"incidents": {"a": 1}}',
        '{"others": []}',
        '{"incidents": [}',
        '{"incidents" [1]}',
        '{"a": 1 "b": 2}',
    ],
)
def test_what_is_not_an_answer_object_has_no_spans(bad: str) -> None:
    assert record_value_spans(bad, "incidents") is None


def test_a_base_url_given_with_equals_keeps_its_password_secret() -> None:
    argv = ["--base-url=https://u:pw-eq3@h.example/v1?a=b"]
    assert "pw-eq3" in Redactor.from_environment({}, argv).secrets
    assert Redactor.from_environment({}, ["--base-url", "https://u:pw-sp4@h.example/v1"]).secrets == ["pw-sp4"]


def test_token_spans_line_up_with_the_content_they_spell() -> None:
    tokens = [Token("```", -0.1), Token('{"a"', -0.2), Token(":", -0.3), Token("1", -0.5), Token("}", -0.7)]
    assert token_spans(tokens[1:], '{"a":1}') == [(0, 4), (4, 5), (5, 6), (6, 7)]
    assert token_spans(tokens, '{"a":1}') == [(-3, 0), (0, 4), (4, 5), (5, 6), (6, 7)]  # a fence before it
    assert token_spans(tokens, '{"b":1}') is None
    twice = [Token("```", 0.0), Token('{"a":1}', -0.1), Token(" ", 0.0), Token('{"a":1}', -0.9)]
    assert token_spans(twice, '{"a":1}') is None  # spelled twice after a fence: which one is the answer?
    spans = token_spans(tokens[1:], '{"a":1}')
    assert spans is not None and span_logprob(tokens[1:], spans, (5, 6)) == -0.5  # ":" ends where 1 starts
    assert (
        span_logprob(tokens[1:], spans, (3, 6)) == pytest.approx(-1.0)
        and span_logprob(tokens[1:], spans, (9, 9)) is None
    )
    assert value_probabilities(tokens, '{"incidents": [{"a": 1}]}', "incidents") is None  # tokens of another text
    spelled = [Token('{"incidents": [{"a": ', -0.1), Token("1", -0.5), Token("}]}", 0.0)]
    assert value_probabilities(spelled, '{"incidents": [{"a": 1}]}', "incidents") == [
        {"a": pytest.approx(math.exp(-0.5))}
    ]


def test_raw_confidence_is_the_noisy_or_clipped_to_a_probability() -> None:
    assert raw_confidence([1 / 3], False) == 0.333333 and raw_confidence([0.5, 0.5], False) == 0.75
    assert raw_confidence([1.5], False) == 1.0 and raw_confidence([-0.5, 0.5], False) == 0.5
    assert raw_confidence([], False) == UNKNOWN and raw_confidence([0.9], True) == UNKNOWN


def test_a_date_s_reason_says_what_to_do_instead() -> None:
    text = "The funeral was held on December 4, 2023. A drone hit the base on Monday. Talks in November 2023."
    undated = ArticleFacts(text, None)
    quotes = {"date_text": "on Monday", "evidence": "A drone hit the base on Monday"}
    elsewhere = (
        "is in the article but not in this record's date_text or evidence: quote the words that date this attack"
    )
    elsewhere += ", or use null"
    assert date_ok("2023-12-04", undated, **quotes) == f"date 2023-12-04 {elsewhere}"
    assert date_ok("2023-11", undated, **quotes) == f"date 2023-11 {elsewhere}"  # a month stated elsewhere too
    published = dt.date(2024, 9, 22)
    both = ArticleFacts("Rockets hit the base overnight, a day after the strike yesterday.", published)
    assert date_ok("2024-09-10", both, date_text="overnight yesterday", evidence="Rockets hit the base overnight") == (
        "date 2024-09-10 does not follow from 'yesterday', 'overnight' in an article published 2024-09-22, "
        "which give 2024-09-21, 2024-09-22: use that, or null"
    )
    vague = ArticleFacts("Rockets hit the base last year.", published)
    assert date_ok("2024-09-20", vague, date_text="last year", evidence="Rockets hit the base last year.") == (
        "date 2024-09-20 does not follow from the article: 'last year' gives no day: use null"
    )
    assert date_ok("2024-09-10", both, date_text="Rockets hit", evidence="Rockets hit the base") == (
        "date 2024-09-10 is not written in the record's quotes and does not follow from the publication date "
        "2024-09-22: use null"
    )


def test_the_quick_sentence_split_is_pysbds_on_plain_news_text() -> None:
    plain = (
        "Gen. Ali spoke. The St. Mary church burned. It was Jan. 5 when it began. A. B. Smith came. It is No. 1 now."
    )
    for text in (
        plain,
        "one line, no stop",
        "Line one\nLine two. Line three",
        "  First one. Second one.\n\n  Third one.",
    ):
        assert rough_sentences(text) == split_sentences(text)
    text = 'Drones hit Erbil. Mr. Smith said 3 died! Was it Iran? "Never." Then U.S. forces left.\n\nA line. x.'
    found = [(s.index, s.start, s.end, s.paragraph, s.text) for s in rough_sentences(text)]
    assert found == [
        (0, 0, 17, 0, "Drones hit Erbil."),
        (1, 18, 40, 0, "Mr. Smith said 3 died!"),  # "Mr." is an abbreviation
        (2, 41, 53, 0, "Was it Iran?"),
        (3, 54, 61, 0, '"Never.'),  # the quick rule ends a sentence at its stop: the closing quote falls between
        (4, 63, 85, 0, "Then U.S. forces left."),
        (5, 87, 97, 1, "A line. x."),  # no capital after the stop: no boundary
    ]
    sentences = rough_sentences(text)
    assert scope_span(sentences, [2, 0]) == [(0, 40), (18, 61)] and scope_span(sentences, [5]) == [(63, 97)]
    assert sentence_at(sentences, 17, 18) == [] and sentence_at(sentences, 16, 19) == [0, 1]  # the gap, then both
    assert chunk_chars(1000, 800, 100) == 2450 and chunk_chars(1000, 4000, 100) == 3500 and chunk_chars(90, 0, 0) == 350


def test_number_words_are_read_whole_and_where_they_are_written() -> None:
    text = "a hundred and twenty, one hundred thousand, five and six, seven dozen, two million, two hundred and, "
    text += "a thousand. Then a. Twelve,thirteen; an hour, twenty-one, no one, one dead, 3 4 and 1,200"
    found = [(m.value, text[m.start : m.end]) for m in numbers(text)]
    assert found == [
        (120, "a hundred and twenty"),
        (100_000, "one hundred thousand"),
        (5, "five"),  # "and" joins only after a scale word
        (6, "six"),
        (84, "seven dozen"),
        (2_000_000, "two million"),
        (200, "two hundred"),  # a trailing "and" is not part of the number
        (1000, "a thousand"),
        (12, "Twelve"),  # a comma ends a number
        (13, "thirteen"),
        (21, "twenty-one"),
        (1, "one"),  # "no one" is nobody; "one dead" is one
        (3, "3"),
        (4, "4"),
        (1200, "1,200"),
    ]


@pytest.mark.parametrize(
    ("sentence", "happened"),
    [
        ("They would hit back.", False),  # no clause boundary: "would" governs the verb
        ("Israel said it will, and rockets struck the base.", True),  # the boundary starts the verb's own clause
        ("Rockets fell and will hit the base.", False),  # "will" opens the verb's own clause
        ("Hezbollah vowed revenge, would respond and fired rockets.", True),  # a boundary right before the verb
        ("Hezbollah warned of a response.", False),
        ("Rockets hit the base.", True),  # no cue at all
    ],
)
def test_a_past_attack_verb_counts_unless_its_own_clause_makes_it_hypothetical(sentence: str, happened: bool) -> None:
    assert reports_happened(sentence) is happened


def test_what_names_no_attacker_says_what_it_names_instead() -> None:
    kinds = {
        "source": ["ministry"],
        "casualty": ["civilians"],
        "weapon": ["drones", "aircraft"],
        "unknown": ["unidentified"],
    }
    vocabulary = ActorVocabulary.from_mapping({"Israel": ["IDF"]}, ["army"], {**kinds, "small": ["an", "the"]})
    found = [
        vocabulary.not_an_actor(v)
        for v in ("Israeli civilians", "Russia's ministry", "drones", "an unidentified aircraft")
    ]
    assert found == ["casualty", "source", "weapon", "unknown"]
    assert [vocabulary.not_an_actor(v) for v in ("", "the IDF army", "the an", "Wagner drones")] == [None] * 4
    assert ActorVocabulary.from_mapping({"Israel": []}).not_an_actor("drones") is None  # no such words declared
