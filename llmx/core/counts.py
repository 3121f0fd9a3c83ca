"""What an article says about casualty counts: exact numbers near a casualty word, and "none".

Used by ``llmx.core.verify.check_count``. A small model writes ``killed: 0`` when the article is
silent, and invents round numbers; both are caught by asking whether the text states them.

Numbers are digits ("3", "1,200") or number words ("three", "twenty-one", "a dozen", "two
hundred and five"), and one casualty may be "a soldier was killed" or "killing a commander".
Vague quantities ("dozens", "several", "hundreds") give no exact number, and "no one" is not
"one". A number counts for a kind when it is within WINDOW words of a word for that kind
("killing three people", "one dead and three injured"); that is loose on purpose (it cannot
tell "one dead and three injured" from "three dead"), but it rejects the invented numbers and the
numbers of attacks or drones that small models copy into casualty fields.

"None" is read per casualty kind, because reports often rule out one kind only:

- casualties, victims (and the common misspelling "causalities"), hurt, harmed: both kinds
  ("no casualties", "without causing casualties", "no one was hurt");
- deaths, fatalities, dead, loss of life, killed, died: killed only ("no one was killed");
- injuries, injured, wounded: injured only ("the attack caused no injuries" says nothing of deaths).

"No immediate reports of casualties" is not "none": it says nothing was reported, so it gives
no 0.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

Casualty = Literal["killed", "injured"]
CASUALTY_KINDS: tuple[str, ...] = ("killed", "injured")
WINDOW = 8  # words between a number and a casualty word for one to count the other

_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
_UNITS += ["thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_WORDS = {word: value for value, word in enumerate(_UNITS)} | {word: 10 * (i + 2) for i, word in enumerate(_TENS)}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_TOKEN = re.compile(r"\d{1,3}(?:,\d{3})+(?![\d,]*\.\d)|\d+(?:\.\d+)?|[a-z]+")
_JOIN = re.compile(r"[ \t-]+")  # what may separate the words of one number ("twenty-one")

# Words that name a casualty kind; "kill\w*" covers killed, killing, kills.
_KIND_WORDS = {
    "killed": r"kill\w*|dead|deaths?|died|dies|dying|fatalit\w*|martyr\w*|slain|lives|bodies",
    "injured": r"injur\w*|wound\w*|hurt|harmed|hospitali[sz]\w*",
}
_BOTH_WORDS = r"casualt\w*|causalit\w*|victims?"

_BOTH_NOUNS = r"casualties|casualty|causalities|causality|victims"
_NOUNS = {
    "killed": r"deaths|death|fatalities|fatality|dead|loss of life|lives lost",
    "injured": r"injuries|injury|injured|wounded",
}
_BOTH_VERBS = r"hurt|harmed"
_VERBS = {"killed": r"killed|died|dead", "injured": r"injured|wounded"}
_ANY_VERB = r"killed|died|injured|wounded|hurt|harmed"
_NEGATION = (
    r"(?:no|zero|without(?: causing| leaving)?(?: any)?"
    r"|(?:did not|didnt|does not|doesnt) (?:cause|leave|result in)(?: any)?)"
)
_SINGULAR = {
    "killed": r"(?:was|has been|had been) (?:reportedly )?killed|died",
    "injured": r"(?:was|has been|had been) (?:reportedly )?(?:injured|wounded|hurt)",
}
_GERUND = {"killed": "killing|killed", "injured": "wounding|injuring|wounded|injured"}
_NOT_SUBJECT = r"(?!(?:if|whether|anyone|anybody|any|how|many|immediate|word|information|reports?|details?) )"


@dataclass(frozen=True)
class Mention:
    """A number stated in the text, with its character span."""

    value: int
    start: int
    end: int


def numbers(text: str) -> list[Mention]:
    """Every exact number in ``text``, written in digits or in words."""
    tokens = [(m[0], m.start(), m.end()) for m in _TOKEN.finditer(text.casefold())]
    found: list[Mention] = []
    i = 0
    while i < len(tokens):
        word, start, end = tokens[i]
        if word[0].isdigit():
            if "." not in word:
                found.append(Mention(int(word.replace(",", "")), start, end))
            i += 1
            continue
        j, value = _number_words(tokens, i, text)
        if j > i:
            if not (word == "one" and i > 0 and tokens[i - 1][0] == "no"):  # "no one" is nobody
                found.append(Mention(value, start, tokens[j - 1][2]))
            i = j
        else:
            i += 1
    return found


def _number_words(tokens: list[tuple[str, int, int]], i: int, text: str) -> tuple[int, int]:
    """Read one run of number words from token ``i``: (index after the run, its value)."""
    j, total, current, seen = i, 0, 0, False
    if tokens[i][0] in ("a", "an") and i + 1 < len(tokens) and tokens[i + 1][0] in (*_SCALES, "dozen"):
        j, current = i + 1, 1  # "a dozen", "a hundred"
    while j < len(tokens):
        word = tokens[j][0]
        if j > i and not _JOIN.fullmatch(text[tokens[j - 1][2] : tokens[j][1]]):
            break
        if word == "and" and seen and tokens[j - 1][0] in _SCALES and j + 1 < len(tokens):
            j += 1  # "two hundred and five"
            continue
        if word in _WORDS:
            current += _WORDS[word]
        elif word == "dozen":
            current = max(current, 1) * 12
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word in _SCALES:
            total, current = total + max(current, 1) * _SCALES[word], 0
        else:
            break
        seen, j = True, j + 1
    if not seen:
        return i, 0
    if tokens[j - 1][0] == "and":
        j -= 1
    return j, total + current


def stated_near(value: int, text: str, kind: Casualty | None) -> bool:
    """True if ``text`` states ``value`` within WINDOW words of a word for ``kind`` (any place if None),
    or, for 1, says "a soldier was killed" / "killing a civilian"."""
    if value == 1 and kind is not None and _singular_pattern(kind).search(_fold(text)):
        return True
    mentions = [m for m in numbers(text) if m.value == value]
    if kind is None or not mentions:
        return bool(mentions)
    starts, casualty_words = _casualty_index(text, kind)
    for mention in mentions:
        at = bisect.bisect_right(starts, mention.start) - 1
        if any(abs(at - where) <= WINDOW for where in casualty_words):
            return True
    return False


@lru_cache(maxsize=256)
def _casualty_index(text: str, kind: Casualty) -> tuple[list[int], list[int]]:
    """Word start offsets of ``text``, and the indices of the words that name ``kind``."""
    casualty = re.compile(f"{_KIND_WORDS[kind]}|{_BOTH_WORDS}")
    words = list(re.finditer(r"\w+", text.casefold()))
    return [w.start() for w in words], [i for i, w in enumerate(words) if casualty.fullmatch(w[0])]


def says_none(text: str, kind: Casualty) -> bool:
    """True if ``text`` says that nobody was ``kind`` (see the module docstring for the wording)."""
    return _none_pattern(kind).search(_fold(text)) is not None


def _fold(text: str) -> str:
    """Lower case, apostrophes dropped (didn't → didnt), every other non-word run one space."""
    return re.sub(r"\W+", " ", re.sub(r"['\u2019]", "", text.casefold()))


@lru_cache(maxsize=2)
def _singular_pattern(kind: Casualty) -> re.Pattern[str]:
    """One casualty without a number word: "a soldier was killed", "killing a commander"."""
    return re.compile(
        rf"\b(?:a|an) (?:\w+ ){{1,4}}?(?:{_SINGULAR[kind]})\b"
        rf"|\b(?:{_GERUND[kind]}) (?:a|an)\b(?! (?:estimated|total|average|number)\b)"
    )


@lru_cache(maxsize=2)
def _none_pattern(kind: Casualty) -> re.Pattern[str]:
    """The sentences that rule out ``kind``: "no casualties", "no one was killed", "no soldiers were hurt"."""
    nouns = f"{_BOTH_NOUNS}|{_NOUNS[kind]}"
    verbs = f"{_BOTH_VERBS}|{_VERBS[kind]}"
    auxiliary = r"(?: (?:was|were|is|are|has been|have been|had been|got|being|reportedly))*"
    return re.compile(
        rf"\b{_NEGATION}(?: human)? (?:{nouns})\b(?! (?:toll|figures?|counts?|reports?|numbers?)\b)"  # no casualties
        rf"|\b(?:no one|nobody|none)(?: of (?:them|the \w+|\w+))?{auxiliary} (?:(?:{_ANY_VERB}) (?:or|and|nor) )?"
        rf"(?:{verbs})\b"  # no one was killed, nobody was killed or injured
        rf"|\bno (?:{_NOT_SUBJECT}\w+ ){{1,3}}(?:was|were|has been|have been|had been) (?:reported )?"
        rf"(?:(?:{_ANY_VERB}) (?:or|and|nor) )?(?:{verbs})\b"  # no soldiers were injured
    )


# The largest number a field may hold, where numbers enter (gold, the model's answers): beyond
# it a count is a mistake, and 10**400 would overflow a float in scoring and an int64 in Parquet.
NUMBER_BOUND = 10**7


def out_of_range(value: Any) -> Any | None:
    """The first number in ``value`` (a field's value: a number, or a list or dict of them) whose
    size is beyond :data:`NUMBER_BOUND` or that is not finite; None when all are in range."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) > NUMBER_BOUND else None
    if isinstance(value, float):
        return value if not math.isfinite(value) or abs(value) > NUMBER_BOUND else None
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in items:
        found = out_of_range(item)
        if found is not None:
            return found
    return None


def shown_number(value: Any) -> str:
    """A number as a person can read it, however long (10**400 is shown as ~1e+400)."""
    if isinstance(value, int) and abs(value) >= 10**15:  # str() of a 5,000-digit int raises
        return f"a number of about {int(abs(value).bit_length() * math.log10(2)) + 1} digits"
    return str(value)[:40]
