"""The checks of values: does the article support this date, this count, this name, this event?

Each answers one question for one value and returns a reason the model can act on, or None.
Pure: text in, verdict out. :func:`verify_record` runs every check a schema declares on a record.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz

from llmx.core.actors import NOT_AN_ACTOR
from llmx.core.aggregate import tallies_attacks
from llmx.core.counts import says_none, stated_near
from llmx.core.dates import DateSupport, MonthKey, date_support, parse_value
from llmx.core.grounding import ground
from llmx.core.normalize import Aliases, normalize
from llmx.core.realis import reports_happened
from llmx.core.verify import ArticleFacts, Finding, VerifySpec

ADJECTIVE = r"(?:s|i|is|n|ns|an|ans|ian|ians|ese|ish|es)?"  # Israel→Israeli, Iran→Iranian, Iraq's
_ADJECTIVE = ADJECTIVE
_MIN_FUZZY = 5  # shorter names must occur as words: "US" fuzzily matches half of any text
_SPLIT = re.compile(r"\s*(?:[,;/&]|\band\b)\s*")


def check_date(value: Any, record: Mapping[str, Any], facts: ArticleFacts, spec: VerifySpec) -> str | None:
    """A date must be written in the record's quotes, or follow from the publication date and
    the date words they quote; those words must occur in the article too (see llmx.core.dates)."""
    if value is None:
        return None
    parsed = parse_value(value) if isinstance(value, str) else None
    if parsed is None:
        return f"{spec.field} {value!r} is not a date: use YYYY-MM-DD, YYYY-MM if only the month is known, or null"
    quoted = "\n".join(text for name in spec.quotes if isinstance(text := record.get(name), str))
    article = date_support(facts.near, facts.published)
    support = date_support(quoted, facts.published) & article
    if _has_date(support, parsed):
        return None
    return _date_reason(str(value), parsed, support, article, facts, spec)


def resolved_date(record: Mapping[str, Any], facts: ArticleFacts, spec: VerifySpec) -> str | None:
    """The one day the record's own date words give (against the publication date, words that
    occur in the article too), or None when they give none or several. Small models write the
    publication date for "on Friday"; the article's words settle it without asking them again."""
    quoted = "\n".join(text for name in spec.quotes if isinstance(text := record.get(name), str))
    support = date_support(quoted, facts.published) & date_support(facts.near, facts.published)
    days = support.days
    return next(iter(days)).isoformat() if len(days) == 1 else None


def _date_reason(
    value: str,
    parsed: dt.date | MonthKey,
    support: DateSupport,
    article: DateSupport,
    facts: ArticleFacts,
    spec: VerifySpec,
) -> str:
    """The most useful of the reasons a date is not supported: what the model should do instead."""
    if _has_date(DateSupport(days=article.stated, months=article.months), parsed):
        fields = " or ".join(spec.quotes)
        return (
            f"{spec.field} {value} is in the article but not in this record's {fields}: "
            "quote the words that date this attack, or use null"
        )
    if facts.published is None:
        return f"{spec.field} {value} is not in the article, which has no publication date: use null"
    if support.days:
        words = ", ".join(f"'{phrase}'" for phrase in dict.fromkeys(support.phrases))
        given = ", ".join(day.isoformat() for day in sorted(support.days)[:3])
        return (
            f"{spec.field} {value} does not follow from {words} in an article published {facts.published}, "
            f"which give {given}: use that, or null"
        )
    if support.vague:
        published = " (the publication date)" if value == facts.published.isoformat() else ""
        vague = support.vague[0]
        return f"{spec.field} {value}{published} does not follow from the article: '{vague}' gives no day: use null"
    return (
        f"{spec.field} {value} is not written in the record's quotes and does not follow from "
        f"the publication date {facts.published}: use null"
    )


def _has_date(support: DateSupport, parsed: dt.date | MonthKey) -> bool:
    return support.supports_month(parsed) if isinstance(parsed, tuple) else parsed in support.days


def check_count(value: Any, record: Mapping[str, Any], facts: ArticleFacts, spec: VerifySpec) -> str | None:
    """A count must be stated near a word for its casualty kind; 0 only where the article says
    none of that kind (see llmx.core.counts)."""
    if value is None:
        return None
    name, kind = spec.field, spec.casualty
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return f"{name} {value!r} is not a count: use the whole number the article states, or null"
    if value == 0:
        if says_none(facts.near, kind) if kind else stated_near(0, facts.near, None):
            return None
        return f"{name} 0: the article does not say that nobody was {kind or 'counted'}: use null"
    if stated_near(value, facts.near, kind):
        return None
    what = f"{value} people {kind}" if kind else f"the number {value}"
    return f"{name} {value}: the article does not state {what}: use the number it gives, or null"


def check_present(
    value: Any, record: Mapping[str, Any], facts: ArticleFacts, spec: VerifySpec, aliases: Aliases
) -> str | None:
    """A name must occur in the article: as written, as an adjective (Israeli), as an alias
    variant, or fuzzily; a list ("Green Zone, Baghdad") counts when each part does."""
    if value is None:
        return None
    name = spec.field
    if not isinstance(value, str) or not normalize(value):
        return f"{name} {value!r} is not a name: copy the name as the article writes it, or use null"
    other = record.get(spec.differs_from) if spec.differs_from else None
    if isinstance(other, str) and _same(value, other, aliases):
        what = name.replace("_", " ")
        return f"{name} '{value}' only repeats {spec.differs_from}: use the {what} the article names, or null"
    text = normalize(facts.near)
    if spec.near:
        if _stands_near(value, text, spec.near):
            return None
        kinds = ", ".join(spec.near[:3])
        return f"{name} '{value}' is not named in the article as a {kinds}...: use null"
    parts = [part for part in _SPLIT.split(value) if normalize(part)]
    if _occurs(value, text, aliases, spec.threshold) or (
        len(parts) > 1 and all(_occurs(part, text, aliases, spec.threshold) for part in parts)
    ):
        return None
    return f"{name} '{value}' does not occur in the article: copy the name as the article writes it, or use null"


def _stands_near(value: str, text: str, near: tuple[str, ...]) -> bool:
    """ "Kirkuk province", "the province of Kirkuk", "Kirkuk's governor": the name with one of
    ``near`` at most two words away, in the normalised text."""
    words = "|".join(re.escape(normalize(word)) for word in near)
    name = re.escape(normalize(re.sub(r"(?i)\b(?:" + words + r")\b", " ", value)).strip())
    if not name:
        return False
    gap = r"(?:\s+\S+){0,2}?\s+"
    pattern = rf"\b{name}{_ADJECTIVE}{gap}(?:{words})\b|\b(?:{words}){gap}{name}\b"
    return re.search(pattern, text) is not None


def _same(a: str, b: str, aliases: Aliases) -> bool:
    return normalize(a) == normalize(b) or aliases.canonical(a) == aliases.canonical(b)


def _occurs(value: str, text: str, aliases: Aliases, threshold: float) -> bool:
    wanted = normalize(value)
    canonical = aliases.canonical(value)
    variants = {wanted, canonical, *aliases.variants(canonical)}
    if any(re.search(rf"(?<!\w){re.escape(v)}{_ADJECTIVE}(?!\w)", text) for v in variants if v):
        return True
    return len(wanted) >= _MIN_FUZZY and fuzz.partial_ratio(wanted, text, score_cutoff=threshold) > 0


def check_event(value: Any, record: Mapping[str, Any], facts: ArticleFacts, spec: VerifySpec) -> str | None:
    """Evidence must be a quote of the article that names an attack (a word of spec.words)."""
    if value is None:
        return None
    name = spec.field
    found = ground(value, facts.text) if isinstance(value, str) else None
    if found is None or found.start is None or found.end is None:
        return f"{name} is not in the article: copy the sentence that reports this attack word for word"
    quoted = facts.text[found.start : found.end]
    short = value if len(value) <= 80 else value[:77] + "..."
    if not _event_words(spec.words).search(normalize(quoted)):
        return (
            f"{name} '{short}' {NO_ATTACK_WORD} (no word such as {', '.join(spec.words[:5])}): "
            "quote the sentence that reports this attack; if no sentence does, leave the record out"
        )
    if not reports_happened(quoted):
        return (
            f"{name} '{short}' reports a threat, a plan, a test or a purchase, not an attack that happened: "
            "leave the record out"
        )
    if tallies_attacks(quoted):
        return (
            f"{name} '{short}' counts many attacks over a period, not one attack: "
            "leave the record out (quote the sentence that reports one of them, if any)"
        )
    return None


def check_actor(
    value: Any, record: Mapping[str, Any], facts: ArticleFacts, spec: VerifySpec, aliases: Aliases
) -> str | None:
    """An attacker or a claimant must be named in the article (as :func:`check_present` reads it)
    and be an actor: never only a weapon, a casualty, a reporting source or "unknown" (the
    project's actor vocabulary, ``schemas/actors.yaml``, says which words are which)."""
    reason = check_present(value, record, facts, spec, aliases)
    if reason is not None or value is None or aliases.actors is None:
        return reason
    kind = aliases.actors.not_an_actor(str(value))
    if kind is None:
        return None
    return f"{spec.field} '{value}' {NOT_AN_ACTOR}: it is a {kind} (schemas/actors.yaml); name who attacked, or null"


NO_ATTACK_WORD = "does not describe an attack"  # the one event finding a marked sentence survives


@lru_cache(maxsize=16)
def _event_words(words: tuple[str, ...]) -> re.Pattern[str]:
    """ "explos-" matches words starting so (explosion, explosive); "hit" only the word hit."""
    parts = [re.escape(normalize(w)) + (r"\w*" if w.endswith("-") else "") for w in words]
    return re.compile(rf"\b(?:{'|'.join(parts)})\b")


Check = Callable[[Any, Mapping[str, Any], ArticleFacts, VerifySpec, Aliases], str | None]
_RUN: dict[str, Check] = {
    "date": lambda value, record, facts, spec, _: check_date(value, record, facts, spec),
    "count": lambda value, record, facts, spec, _: check_count(value, record, facts, spec),
    "present": check_present,
    "event": lambda value, record, facts, spec, _: check_event(value, record, facts, spec),
    "actor": check_actor,
}


def verify_record(
    record: Mapping[str, Any], specs: Mapping[str, VerifySpec], facts: ArticleFacts, aliases: Aliases
) -> list[Finding]:
    """Every declared check on one record; the values the article does not support."""
    findings = []
    for name, spec in specs.items():
        value = record.get(name)
        if (reason := _RUN[spec.check](value, record, facts, spec, aliases)) is not None:
            findings.append(Finding(field=name, value=value, reason=reason))
    return findings
