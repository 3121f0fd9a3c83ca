"""What the checks of values are: their declaration on a schema field (:class:`VerifySpec`), the
facts they read, and what becomes of a value they find unsupported. The checks themselves are in
:mod:`llmx.core.checks`.

Small models fill fields they should leave null: a full date for an undated article, the
publication date for something that happened "last year", ``killed: 0`` when the article says
nothing of deaths, places the article never names, the country again as the province. Each
check here answers one question, "does the article support this value?", and when it does not,
returns a reason that tells the model what to do instead. Everything is pure: text in, verdict
out; the caller decides whether to re-ask (``reask_message``) or null the value (``apply_findings``).

A schema declares the checks next to the match rules::

    json_schema_extra={"llmx": {"match": "date", "verify": {"check": "date", "quotes": ["date_text"]}}}

``verify`` is a check name or a dict with ``check`` and that check's options:

- ``"date"``: ``quotes`` (record fields whose words may date the event; default date_text, evidence);
- ``"count"``: ``casualty`` ("killed" or "injured": which words count and which "none" gives 0);
- ``"present"``: ``threshold`` (fuzzy 0-100, default 85), ``differs_from`` (a field it may not repeat),
  ``near`` (words one of which must stand within two words of the name: "Kirkuk province");
- ``"event"``: ``words`` (the event vocabulary; "explos-" is a prefix, "hit" a whole word).
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from llmx.core.counts import CASUALTY_KINDS, Casualty
from llmx.core.normalize import normalize

CheckKind = Literal["date", "count", "present", "event", "actor"]
CHECKS: tuple[str, ...] = typing.get_args(CheckKind)
EVENT_WORDS: tuple[str, ...] = (
    *("attack-", "strike-", "struck", "airstrike-", "drone-", "uav-", "rocket-", "missile-", "projectile-"),
    *("shell-", "bomb-", "explos-", "explod-", "blast-", "detonat-", "mortar-", "artillery", "grenade-", "ied"),
    *("fire", "fired", "fires", "firing", "gunfire", "gunman", "gunmen", "shot", "shots", "shoot-", "salvo-"),
    *("hit", "hits", "hitting", "kill-", "wound-", "injur-", "intercept-", "target-", "launch-", "ambush-"),
    *("raid-", "assault-", "clash-", "massacre-", "destroy-", "sank", "sink-", "sunk", "torpedo-", "atgm-"),
    *("downed", "shelling", "bombard-", "blew", "burn-", "ablaze"),
)
_OPTIONS: dict[str, tuple[str, ...]] = {
    "date": ("quotes",),
    "count": ("casualty",),
    "present": ("threshold", "differs_from", "near"),
    "event": ("words",),
    "actor": ("threshold", "differs_from"),
}


@dataclass(frozen=True)
class VerifySpec:
    """One field's declared check and its options (defaults apply to the other checks' options)."""

    field: str
    check: CheckKind
    quotes: tuple[str, ...] = ("date_text", "evidence")
    casualty: Casualty | None = None
    threshold: float = 85.0
    differs_from: str | None = None
    words: tuple[str, ...] = EVENT_WORDS
    near: tuple[str, ...] = ()  # present: words that must stand next to the name ("province")

    @property
    def references(self) -> tuple[str, ...]:
        """Other record fields this check reads, so a loader can refuse names the record lacks."""
        if self.check == "date":
            return self.quotes
        return (self.differs_from,) if self.check == "present" and self.differs_from else ()


@dataclass(frozen=True)
class ArticleFacts:
    """What the checks may look at: the article text and its publication date, if known, and
    the record's own passage (``scope``: its sentences and their neighbours), which the count,
    date and place checks read instead of the whole article when it is set."""

    text: str
    published: dt.date | None = None
    scope: str | None = None

    @property
    def near(self) -> str:
        """What a count, a date word or a name must be found in: the record's passage, or the article."""
        return self.text if self.scope is None else self.scope


# One value the article does not support, and why: the record keeps the same model in its
# ``verification`` list, so a finding is written as found.
class Correction(BaseModel):
    """A value the article does not support (the checks below find them), and what was done:
    removed, or set from the record's own words; listed in the record, never silent."""

    field: str
    value: Any
    reason: str


Finding = Correction


def parse_verify(field_name: str, declared: Any) -> VerifySpec | None:
    """Read a field's ``verify`` declaration; ValueError says what is wrong with a bad one."""
    if declared is None:
        return None
    if isinstance(declared, str):
        declared = {"check": declared}
    if not isinstance(declared, Mapping):
        raise ValueError(f"verify must be a check name or a dict with 'check', not {declared!r}")
    options = dict(declared)
    check = options.pop("check", None)
    if check not in CHECKS:
        raise ValueError(f"verify check {check!r} is unknown; use one of {', '.join(CHECKS)}")
    unknown = sorted(set(options) - set(_OPTIONS[check]), key=str)
    if unknown:
        listed = ", ".join(map(repr, unknown))
        raise ValueError(f"verify check '{check}' has no option {listed}; its options: {', '.join(_OPTIONS[check])}")
    for name, value in options.items():
        options[name] = _option(field_name, name, value)
    return VerifySpec(field=field_name, check=check, **options)


def _option(field_name: str, name: str, value: Any) -> Any:
    if name in ("quotes", "words", "near"):
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise ValueError(f"verify option '{name}' must be a list of strings, not {value!r}")
        items = tuple(value)
        if not items or not all(isinstance(item, str) and normalize(item) for item in items):
            raise ValueError(f"verify option '{name}' must be a non-empty list of non-empty strings, not {value!r}")
        return items
    if name == "casualty" and value not in CASUALTY_KINDS:
        raise ValueError(f"verify option 'casualty' must be one of {', '.join(CASUALTY_KINDS)}, not {value!r}")
    if name == "threshold" and (isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100):
        raise ValueError(f"verify option 'threshold' must be a number from 0 to 100, not {value!r}")
    if name == "differs_from" and (not isinstance(value, str) or not value or value == field_name):
        raise ValueError(f"verify option 'differs_from' must name another field, not {value!r}")
    return float(value) if name == "threshold" else value


def apply_findings(record: Mapping[str, Any], findings: Iterable[Finding], nullable: set[str]) -> dict[str, Any]:
    """A copy with each unsupported nullable field set to null; other fields keep their value
    (the finding still records that the article does not support it)."""
    out = dict(record)
    for finding in findings:
        if finding.field in nullable:
            out[finding.field] = None
    return out


def reask_message(findings: Iterable[Finding], record_number: int) -> str:
    """One message asking the model to fix one record; empty when nothing failed."""
    lines = [f"- {finding.field}: {finding.reason}" for finding in findings]
    if not lines:
        return ""
    head = (
        f"Record {record_number} has values the article does not support; correct them and return every record again:"
    )
    return "\n".join([head, *lines])
