"""What a record's own sentences state, as opposed to what the model filled from around them.

The evidence strategy fills each record from its marked sentences *and* the paragraph, headline
and date around them, so a small model copies the lead's place and day into the records of the
sentences below it ("The group said the drone reached its target": location "U.S. base in
eastern Syria") and writes a place the article does not name ("east Syria"). Such
values make one attack look like two. :func:`stated` keeps only what the record's own sentences
say: a name they contain (by the ``present`` check, or word by word: "Kfar Hamam village" in "the
village of Kfar Hamam"), a day their own date words give; the dateline ("Baghdad:", "Beirut,
Nov 7 (IANS)") says where the report was filed, not where the attack was, so it is not read.
:func:`stated_first` picks the record a folded group takes its quote and values from. Pure.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from llmx.core.checks import ADJECTIVE, check_present, resolved_date
from llmx.core.fields import FieldSpec
from llmx.core.normalize import Aliases, normalize
from llmx.core.verify import ArticleFacts, VerifySpec

STATED_CHECKS = ("present", "date")  # checks that say whether a text names a place, an actor or a day
_GLUE = {"the", "a", "an", "of", "in", "at", "on", "near", "and"}
# "Baghdad: ...", "BEIRUT (Reuters) - ...", "(MENAFN- IANS) Jerusalem, Nov 7 (IANS) ...", "Shafaq News/ ..."
DATELINE = re.compile(
    r"^\s*(?:\([^()]{1,40}\)\s*)?"  # an aggregator's tag
    r"[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,3}"  # the place, or the agency
    r"(?:\s*,\s*[A-Z][a-z]{2,8}\.?\s+\d{1,2}(?:\s*,\s*\d{4})?)?"  # its date
    r"\s*(?:\([^()]{1,40}\)\s*[-–—:]?|[:/]|\s[-–—])\s+"  # then (AGENCY), a colon, a slash or a dash
)


def checked_fields(specs: Mapping[str, FieldSpec], verify: Mapping[str, VerifySpec]) -> dict[str, VerifySpec]:
    """The place, actor and date fields (those that tell incidents apart) with a check that can
    say whether a text states them."""
    telling = {s.name for s in specs.values() if (s.identity and s.match == "alias") or s.match == "date"}
    return {name: spec for name, spec in verify.items() if name in telling and spec.check in STATED_CHECKS}


def stated(
    record: Mapping[str, Any],
    own_text: str,
    checks: Mapping[str, VerifySpec],
    article_text: str,
    published: dt.date | None,
    aliases: Aliases,
    evidence_field: str | None = None,
) -> dict[str, Any]:
    """``record`` with each checked value that ``own_text`` (the record's own sentences, their
    dateline left out) does not state set to None; a date is stated when the record's date
    words (its quotes but the evidence) are in ``own_text``, as the day they give when they give one."""
    own_text = DATELINE.sub("", own_text, count=1)
    facts = ArticleFacts(text=article_text, published=published, scope=own_text)
    words = set(normalize(own_text).split())
    out = dict(record)
    for name, spec in checks.items():
        value = record.get(name)
        if value is None:
            continue
        if spec.check == "date":
            quoted = [record.get(q) for q in spec.quotes if q not in (name, evidence_field)]
            said = any(isinstance(q, str) and _words_in(q, words) for q in quoted)
            out[name] = (resolved_date(record, facts, spec) or value) if said else None
        elif check_present(value, record, facts, spec, aliases) is not None and (
            spec.near or not _words_in(str(value), words)  # "Kirkuk province" needs its word
        ):
            out[name] = None
    return out


def stated_all(
    records: Sequence[Mapping[str, Any]],
    own_texts: Sequence[str],
    checks: Mapping[str, VerifySpec],
    article_text: str,
    published: dt.date | None,
    aliases: Aliases,
    evidence_field: str | None = None,
) -> list[dict[str, Any]]:
    return [
        stated(record, text, checks, article_text, published, aliases, evidence_field)
        for record, text in zip(records, own_texts, strict=True)
    ]


def stated_first(
    group: Sequence[int],
    stated_records: Sequence[Mapping[str, Any]],
    checks: Mapping[str, VerifySpec],
    actor_fields: Sequence[str] = ("attacker", "claimed_by"),
) -> list[int]:
    """``group`` with the record stating the most places, then the most places, actors and days,
    first (ties: the earliest): the one a folded record takes its quote and values from, not a
    toll, a source, a claim or a follow-up ("The attack was first reported by a local radio station.")."""

    def weight(k: int) -> tuple[int, int, int]:
        said = [name for name in checks if stated_records[k].get(name) is not None]
        places = sum(checks[name].check == "present" and name not in actor_fields for name in said)
        return (-places, -len(said), k)

    return sorted(group, key=weight)


def _words_in(value: str, words: set[str]) -> bool:
    """Each word of ``value`` (but "of", "the", ...) is a word of the text, or its adjective
    (Israel: Israeli), as the ``present`` check reads names."""
    wanted = [w for w in normalize(value).split() if w not in _GLUE]
    return bool(wanted) and all(any(_is_form_of(x, w) for x in words) for w in wanted)


def _is_form_of(word: str, stem: str) -> bool:
    return word.startswith(stem) and re.fullmatch(ADJECTIVE, word[len(stem) :]) is not None
