"""Which dates a piece of text supports: stated with a year, or resolved from a publication date.

Used by ``llmx.core.verify.check_date`` to tell a date the article gives from one a model invented.
The rules are deliberately narrow, so that what they accept is what a careful annotator would:

- a date written with its year ("February 7, 2024", "7 Feb. 2024", "2024-02-07") is that day;
  "7/2/2024" is read only when just one of day/month and month/day is a valid date;
- "February 2024" supports the month only;
- relative words need the publication date: "today", "this morning", "tonight" give that day;
  "yesterday" and "last night" give the day before, "overnight" that day or the one before; a weekday ("on
  Tuesday") gives the most recent such day on or before it (the day itself included); a day
  and month without year ("on February 7") that date in the publication year, or the year
  before if it would fall after publication; "last month" / "this month" give a month;
- "last week", "last year", "in recent days"... never give a day (they are kept only to explain
  a rejection);
- "a day after" / "the day before" / "the next day" next to a date allow that date ± 1.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

MonthKey = tuple[int, int]  # (year, month)

MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june", "july",
    "august", "september", "october", "november", "december",
)  # fmt: skip
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = {
    **{name: number for number, name in enumerate(MONTH_NAMES, start=1)},
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sept": 9, "sep": 9,
    "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip

_MONTH = r"(?P<m>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b\.?"
_DAY = r"(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\b"
_YEAR = r"(?P<y>(?:19|20)\d\d)\b"
_NO_YEAR = r"(?!,?\s*(?:19|20)\d\d\b)"
_STATED = (
    re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}"),  # February 7, 2024 / Feb. 7 2024
    re.compile(rf"\b{_DAY}(?:\s+of)?\s+{_MONTH},?\s+{_YEAR}"),  # 7 February 2024 / 7th of Feb 2024
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d\d)-(?P<d>\d\d)\b"),  # 2024-02-07
)
_SLASHED = re.compile(r"\b(\d{1,2})/(\d{1,2})/((?:19|20)\d\d)\b")
_MONTH_YEAR = re.compile(rf"\b{_MONTH},?\s+{_YEAR}")
_YEARLESS = (
    re.compile(rf"\b{_MONTH}\s+{_DAY}{_NO_YEAR}"),  # on February 7 / Oct. 7
    re.compile(rf"\b{_DAY}(?:\s+of)?\s+{_MONTH}{_NO_YEAR}"),  # on 7 February
)
_SAME_DAY = re.compile(r"\b(?:today|tonight|this (?:morning|afternoon|evening))\b")
_DAY_BEFORE = re.compile(r"\b(?:yesterday|last night)\b")
_DAY_OR_BEFORE = re.compile(r"\b(?:overnight)\b")
_WEEKDAY = re.compile(r"\b(?:(?P<q>last|next|this|past) )?(?P<w>" + "|".join(WEEKDAYS) + r")\b")
_LAST_MONTH = re.compile(r"\blast month\b")
_THIS_MONTH = re.compile(r"\b(?:earlier )?this month\b")
_NEXT_TO = re.compile(r"\b(?:(?:a|the|one) day (?:after|before|earlier|later)|the (?:previous|next|following) day)\b")
_VAGUE = re.compile(
    r"\b(?:(?:last|past|previous|earlier this|this|next) (?:week|weekend|year)|(?:in )?recent (?:days|weeks|months)"
    r"|(?:last|past) (?:few )?(?:days|weeks|months|years))\b"
)


@dataclass(frozen=True)
class DateSupport:
    """What a text lets one date: the days and months, and the phrases they came from."""

    days: frozenset[dt.date] = frozenset()
    months: frozenset[MonthKey] = frozenset()  # only months stated as months; see ``supports_month``
    stated: frozenset[dt.date] = frozenset()  # the days written with their year
    phrases: tuple[str, ...] = ()  # every date phrase found, in order, for messages
    vague: tuple[str, ...] = ()  # phrases that give no day ("last year")

    def __and__(self, other: DateSupport) -> DateSupport:
        """What both texts support: a record's quotes count only where the article says the same."""
        return DateSupport(
            days=self.days & other.days,
            months=self.months & other.months,
            stated=self.stated & other.stated,
            phrases=self.phrases,
            vague=self.vague,
        )

    def supports_month(self, key: MonthKey) -> bool:
        return key in self.months or any((day.year, day.month) == key for day in self.days)


def parse_value(value: str) -> dt.date | MonthKey | None:
    """A record's ``YYYY-MM-DD`` as a date, ``YYYY-MM`` as (year, month); anything else None."""
    if match := re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)", value):
        return _date(*match.groups())
    if match := re.fullmatch(r"(\d{4})-(\d\d)", value):
        year, month = int(match[1]), int(match[2])
        return (year, month) if 1 <= month <= 12 else None
    return None


def date_support(text: str, published: dt.date | None) -> DateSupport:
    """Every day and month ``text`` states or lets one resolve from ``published``."""
    text = text.casefold().replace("\u2019", "'")
    stated: set[dt.date] = set()
    phrases: list[str] = []
    for pattern in _STATED:
        for match in pattern.finditer(text):
            if day := _date(match["y"], match["m"], match["d"]):
                stated.add(day)
                phrases.append(match[0])
    for match in _SLASHED.finditer(text):
        readings = {_date(match[3], match[2], match[1]), _date(match[3], match[1], match[2])} - {None}
        if len(readings) == 1:
            stated |= readings  # type: ignore[arg-type]  # None was removed
            phrases.append(match[0])
    months = {(int(m["y"]), _MONTHS[m["m"]]) for m in _MONTH_YEAR.finditer(text)}
    days = set(stated)
    if published is not None:
        days |= _relative_days(text, published, phrases)
        if _LAST_MONTH.search(text):
            months.add(_month_before(published))
        if _THIS_MONTH.search(text):
            months.add((published.year, published.month))
    if _NEXT_TO.search(text):
        days |= {day + dt.timedelta(days=shift) for day in days for shift in (-1, 1)}
    vague = tuple(match[0] for match in _VAGUE.finditer(text))
    return DateSupport(frozenset(days), frozenset(months), frozenset(stated), tuple(phrases), vague)


def _relative_days(text: str, published: dt.date, phrases: list[str]) -> set[dt.date]:
    days: set[dt.date] = set()
    yesterday = published - dt.timedelta(days=1)
    for pattern, found in (
        (_SAME_DAY, {published}),
        (_DAY_BEFORE, {yesterday}),
        (_DAY_OR_BEFORE, {published, yesterday}),
    ):
        for match in pattern.finditer(text):
            days |= found
            phrases.append(match[0])
    for match in _WEEKDAY.finditer(text):
        if match["q"] == "next":
            continue  # a plan or a threat, not a report
        day = published - dt.timedelta(days=(published.weekday() - WEEKDAYS.index(match["w"])) % 7)
        days.add(day)
        if match["q"] == "last" and day == published:
            days.add(day - dt.timedelta(days=7))
        phrases.append(match[0])
    for pattern in _YEARLESS:
        for match in pattern.finditer(text):
            this_year = _date(published.year, match["m"], match["d"])
            if this_year is not None and this_year <= published:
                day = this_year
            elif (last_year := _date(published.year - 1, match["m"], match["d"])) is not None:
                day = last_year
            else:
                continue
            days.add(day)
            phrases.append(match[0])
    return days


def _date(year: str | int, month: str | int, day: str | int) -> dt.date | None:
    number = _MONTHS[month] if isinstance(month, str) and month in _MONTHS else int(month)
    try:
        return dt.date(int(year), number, int(day))
    except ValueError:
        return None


def _month_before(day: dt.date) -> MonthKey:
    return (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
