"""Fusion, the pure part: the schema's event rule, blocking, the pair gate, complete linkage,
fused fields with their disputes, and event scoring (pairwise and B³)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from llmx.core.event_fields import fuse_fields
from llmx.core.event_rules import build_rule
from llmx.core.event_scoring import score_events
from llmx.core.fusion import fuse
from llmx.errors import SchemaError
from llmx.inputs.aliases import load_aliases
from llmx.inputs.schemas import load_schema
from tests.helpers import ROOT

SCHEMA = load_schema("incident", ROOT / "schemas")
ALIASES = load_aliases(ROOT / "schemas/aliases.yaml")
RULE = SCHEMA.event
assert RULE is not None


def rec(**fields: Any) -> dict[str, Any]:
    base = dict.fromkeys(SCHEMA.record_model.model_fields)
    return {**base, "weapon": "drone", "country": "Iraq", **fields}


def events_of(
    records: list[dict[str, Any]],
    published: list[str | None] | None = None,
    articles: list[str] | None = None,
    threshold: float | None = None,
):
    """The partition fuse() makes, as sets of positions."""
    articles = articles or [f"a{i}" for i in range(len(records))]
    days = [dt.date.fromisoformat(p) if p else None for p in (published or [None] * len(records))]
    fusion = fuse(records, articles, days, RULE, SCHEMA.fields, ALIASES, threshold=threshold)
    groups: dict[int, set[int]] = {}
    for position, label in enumerate(fusion.labels.tolist()):
        groups.setdefault(label, set()).add(position)
    return sorted(groups.values(), key=min), fusion


def test_the_shipped_schema_declares_the_rule() -> None:
    assert RULE.block == ("country",)
    assert (RULE.window.name, RULE.window.days, RULE.window.published_days) == ("date", 1, 2)
    assert RULE.window.text == "date_text" and RULE.counts == ("killed", "injured") and RULE.words == ("evidence",)
    assert RULE.link.threshold == 0.5 and RULE.link.estimate == "gold"
    assert RULE.places == ("location", "admin_region")
    assert [r.name for r in RULE.compatible if r.anchor] == ["attacker", "claimed_by"]
    assert RULE.fuse("killed") == "min" and RULE.fuse("date") == "earliest" and RULE.fuse("target") == "union"


def test_reports_of_one_attack_fuse_and_aliases_count() -> None:
    records = [
        rec(date="2024-05-29", location="Bint Jbeil", attacker="Israeli army", killed=3, weapon="air/drone strike"),
        rec(date="2024-05-29", location="Bint Jbeil", attacker="Israel", killed=5, weapon="air/drone strike"),
        rec(date="2024-05-30", location="bint jbeil", attacker=None, killed=4, weapon="air/drone strike"),
    ]
    for r in records:
        r["country"] = "Lebanon"
    groups, _ = events_of(records)
    assert groups == [{0, 1, 2}]


def test_fused_fields_and_disputes() -> None:
    records = [
        rec(
            date="2024-05-29", location="Bint Jbeil", attacker="Israeli army", killed=3, injured=None, target="a house"
        ),
        rec(date="2024-05-29", location="Bint Jbeil", attacker="Israel", killed=4, injured=2, target="a home"),
        rec(date="2024-05", location="bint jbeil", attacker="Israel", killed=5, injured=2, target="A house"),
    ]
    (event,) = fuse_fields(records, [[0, 1, 2]], list(records[0]), RULE, SCHEMA.fields, ALIASES)
    assert event.fields["killed"] == 3  # the conservative figure...
    assert [(d.value, d.reports) for d in event.disputes["killed"]] == [(3, [0]), (4, [1]), (5, [2])]  # ...disputed
    assert event.fields["injured"] == 2 and "injured" not in event.disputes  # one figure given
    assert event.fields["date"] == "2024-05-29" and "date" not in event.disputes  # the month agrees with the day
    assert event.fields["attacker"] == "Israel" and "attacker" not in event.disputes  # aliases: one actor
    assert event.fields["target"] == ["a house", "a home"]  # union: every distinct value
    (single,) = fuse_fields(records, [[1]], list(records[0]), RULE, SCHEMA.fields, ALIASES)
    assert single.fields["killed"] == 4 and single.fields["target"] == ["a home"] and single.disputes == {}


def test_event_scores_pairwise_and_bcubed() -> None:
    # predicted: {a,b,c} {d}; gold: {a,b} {c,d}
    items = [(("a", 0), 1, "x"), (("b", 0), 1, "x"), (("c", 0), 1, "y"), (("d", 0), 2, "y")]
    score = score_events(items)
    assert (score.pairwise.tp, score.pairwise.fp, score.pairwise.fn) == (1, 2, 1)
    assert score.false_merges == [(("a", 0), ("c", 0)), (("b", 0), ("c", 0))]
    assert score.missed_merges == [(("c", 0), ("d", 0))]
    # B³ precision: a, b: 2/3; c: 1/3; d: 1 → 8/12; recall: a, b: 1; c: 1/2; d: 1/2 → 3/4
    assert score.bcubed.precision == pytest.approx(2 / 3) and score.bcubed.recall == pytest.approx(0.75)
    perfect = score_events([(("a", 0), 1, "x"), (("b", 0), 1, "x"), (("c", 0), 2, "y")])
    assert perfect.pairwise.f1 == 1.0 and perfect.bcubed.f1 == 1.0
    none = score_events([(("a", 0), 1, "x"), (("b", 0), 2, "y")])
    assert not none.pairwise.counted and none.bcubed.f1 == 1.0  # no pair to get wrong: n/a, not 1.0


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"country": {"agree": "nearby"}}, "event agree 'nearby': use one of block, window"),
        ({"country": {"agree": "block", "days": 2}}, "unknown option(s) days; agree 'block' takes no options"),
        ({"date": {"agree": "window", "days": -1}}, "event days must be a whole number ≥ 0"),
        ({"killed": {"fuse": "average"}}, "event fuse 'average': use one of min, max"),
        ({"date": {"agree": "window"}}, "no field with agree 'block'"),
        ({"country": {"agree": "block"}}, "exactly one field with agree 'window'"),
        ({"country": {"agree": "block"}, "date": {"agree": "window"}}, "has no anchor"),
        ({"nope": {"fuse": "min"}}, "names no such field 'nope'"),
        ({"link": {"threshold": "high"}}, "event link threshold must be a number of bits"),
        ({"link": {"estimate": "guess"}}, "event link estimate 'guess': use one of gold, em, fixed"),
        ({"link": {"threshold": 1, "keep_apart": 2}}, "keep_apart (2.0) must not be above threshold (1.0)"),
        ({"weapon": {"agree": "class", "classes": {"a": ["drone"], "b": ["drone"]}}}, "'drone' is in two classes"),
        ({"country": "block"}, "field 'country': event rule must be a dict like"),
        ({"country": {"anchor": True}}, "unknown option(s) anchor; a field with no agree takes no options"),
        ({"date": {"agree": "window", "level": 1}}, "agree 'window' takes days, published_days, slack, text"),
        ({"date": {"agree": "window", "days": True}}, "event days must be a whole number ≥ 0, not True"),
        ({"date": {"agree": "window", "published_days": -2}}, "event published_days must be a whole number"),
        ({"date": {"agree": "window", "slack": 1.5}}, "event slack must be a whole number ≥ 0, not 1.5"),
        ({"location": {"agree": "place", "level": -1}}, "event level must be a whole number"),
        ({"location": {"agree": "place"}}, "event agree 'place' needs level ≥ 1"),
        ({"attacker": {"agree": "compatible", "anchor": "yes"}}, "event anchor must be true or false, not 'yes'"),
        ({"weapon": {"agree": "class"}}, "event agree 'class' needs classes"),
        ({"weapon": {"agree": "class", "classes": ["drone"]}}, "event agree 'class' needs classes"),
        ({"weapon": {"agree": "class", "classes": {"a": []}}}, "event class 'a' must list its values"),
        ({"weapon": {"agree": "class", "classes": {"a": ["x"]}, "words": {"b": ["x"]}}}, "event words: 'b' must be"),
        ({"weapon": {"agree": "class", "classes": {"a": ["x"]}, "words": {"a": "x"}}}, "event words: 'a' must be"),
        ({"date": {"agree": "window", "text": 3}}, "event text must name the field with the date's words, not 3"),
        ({"link": 3}, "event link must be a dict like"),
        ({"link": {"gap": 1}}, "event link: unknown option(s) gap; it takes threshold, keep_apart, estimate"),
        ({"link": {"keep_apart": True}}, "event link keep_apart must be a number of bits, not True"),
    ],
)
def test_bad_rules_are_refused_naming_the_fix(declared: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_rule(declared, list(SCHEMA.record_model.model_fields))


def test_a_bad_rule_in_a_schema_file_is_a_schema_error(tmp_path: Path) -> None:
    source = (ROOT / "schemas/incident.py").read_text().replace('"fuse": "min"}', '"fuse": "least"}', 1)
    (tmp_path / "bad.py").write_text(source)
    with pytest.raises(SchemaError, match=r"bad.py: field 'killed': event fuse 'least'"):
        load_schema("bad", tmp_path)
    assert load_schema("muc4", ROOT / "schemas").event is None  # a schema may declare no rule
