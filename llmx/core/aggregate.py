"""Does a sentence tally many attacks over a period rather than report one? A dataset of
incidents counts attacks, not totals: "more than a dozen drone attacks on Israel in the same
period", "struck facilities in Syria on four occasions", "launched more than 4,000 drones at
Ukraine in the first half of the year" are background, not records.

A sentence is a tally when it counts attacks or weapons ("more than 4,000 drones", "dozens of
strikes", "on four occasions", "the number of drones") over a stretch of time ("since October",
"in the first half of the year", "so far this year", "in the same period") or says "on N
occasions", and names no day of its own (a weekday, "yesterday", "overnight", a date): a
sentence that dates itself reports what happened that day ("Russia launched 40 drones
overnight" is one attack). Pure: text in, verdict out.
"""

from __future__ import annotations

import re

from llmx.core.normalize import normalize

_NUMBER = (
    r"(?:\d[\d,.]*|a dozen|dozens|scores|hundreds|thousands|two|three|four|five|six|seven|eight|nine|ten|\w+teen|\w+ty)"
)
_WEAPONS = r"(?:attacks?|strikes?|airstrikes?|raids?|incidents?|drones?|rockets?|missiles?|shells?|bombs?|projectiles?)"
_COUNT = re.compile(
    rf"\b(?:(?:more than|over|at least|nearly|almost|some|about|around|up to)\s+)?{_NUMBER}\s+(?:of\s+)?"
    rf"(?:[\w-]+\s+){{0,2}}{_WEAPONS}\b|\bthe number of\b"
)
_OCCASIONS = re.compile(rf"\bon\s+(?:{_NUMBER}|several|many|multiple|numerous)\s+(?:separate\s+)?occasions\b")
_SPAN = re.compile(
    r"\b(?:since (?:the )?\w+|in the (?:first|second) half of|so far this \w+|this year|over the (?:past|last) \w+|"
    r"in the (?:past|last) \w+|in the same period|during the war|throughout the \w+|a string of|a wave of|"
    r"each (?:day|week|night)|every (?:day|week|night))\b"
)
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_DAY = re.compile(
    rf"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|overnight|last night|"
    rf"this morning|this evening|tonight)\b|\b(?:{_MONTHS}) \d{{1,2}}\b|\b\d{{1,2}} (?:{_MONTHS})\b"
)


def tallies_attacks(sentence: str) -> bool:
    """True when the sentence counts many attacks over a period and dates none of them."""
    text = normalize(sentence)
    if _DAY.search(text):
        return False
    if _OCCASIONS.search(text):
        return True
    return bool(_COUNT.search(text) and _SPAN.search(text))
