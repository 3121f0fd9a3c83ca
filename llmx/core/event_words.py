"""The words event fusion reads in a report: names of places and actors as fusion compares them,
the names and numbers of its own sentences, as token ids of one shared vocabulary. Pure: no I/O.
Used by :mod:`llmx.core.event_compare`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from llmx.core.dates import MONTH_NAMES, WEEKDAYS
from llmx.core.normalize import normalize

Ints = NDArray[np.int64]
K = 6  # tokens kept per name or sentence


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


JUNK = {"unknown", "none", "null", "n a", "not specified", "unspecified", "not mentioned", "not stated"}
GENERIC = _words(
    "base airbase air field oil city town village district province region governorate area camp near "
    "north south east west northern southern eastern western central outskirts the of in at and military "
    "checkpoint house home"
)  # words many different places share: they never make two names one
GENERIC_ACTOR = _words(
    "brigade brigades battalion battalions forces force army military group movement front militia "
    "militias resistance islamic state national popular united liberation defence defense armed "
    "revolutionary guard guards of in the"
)  # words many different groups share
NOT_ACTOR = _words(
    "official officials spokesman spokeswoman spokesperson said media agency residents observatory "
    "ministry witnesses reporters sources statement news health monitor mourners civilians people"
)  # a source or a victim: the field names no attacker
WEAPON_WORDS = _words(
    "drone drones strike strikes airstrike airstrikes air warplane warplanes jet jets bomb bomber bombs "
    "bombing car suicide rocket rockets missile missiles artillery shell shells shelling explosive "
    "explosives laden ied gunfire gunmen attack"
)
STOP = (
    _words("the a an this that these those they their there it its he she we and but after before when while")
    | _words("most both one")
    | frozenset(WEEKDAYS)
    | frozenset(MONTH_NAMES)
)
NAMES_AND_NUMBERS = re.compile(r"\b[A-Z][\w'’-]{2,}|\b\d+\b")
SEVERAL = re.compile(
    r"\band\b|&|\b(regions|provinces|governorates|oblasts|districts|villages|towns|cities|areas|states)\b"
)  # a place value that lists places: "Dnipropetrovsk, Ivano-Frankivsk and Lviv regions"
EXPLICIT = re.compile(r"\d|" + "|".join(MONTH_NAMES), re.I)


def actor(value: Any) -> str | None:
    """An actor as fusion compares it: None for a source, a victim or a weapon; weapon words cut."""
    if not isinstance(value, str):
        return None
    words = normalize(value).split()
    if not words or " ".join(words) in JUNK or NOT_ACTOR & set(words):
        return None
    kept = [w for w in words if w not in WEAPON_WORDS]
    return " ".join(kept) or None


def place(value: Any) -> Any:
    return None if isinstance(value, str) and normalize(value) in JUNK else value


class Tokens:
    """Token ids of strings: a shared vocabulary, each string's first ``K`` informative tokens."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def of(self, words: Sequence[str]) -> Ints:
        row = np.full(K, -1, np.int64)
        kept = list(dict.fromkeys(words))[:K]
        row[: len(kept)] = [self.ids.setdefault(w, len(self.ids)) for w in kept]
        return row

    def of_names(self, vocabulary: Sequence[str], generic: frozenset[str]) -> Ints:
        rows = [self.of([w for w in name.split() if len(w) >= 3 and w not in generic]) for name in vocabulary]
        return np.stack(rows) if rows else np.full((1, K), -1, np.int64)

    def of_texts(self, texts: Sequence[str]) -> Ints:
        """Each text's first ``K`` names and numbers (capitalised words, digits), stop words left out."""
        rows = np.full((len(texts), K), -1, np.int64)
        ids, find = self.ids, NAMES_AND_NUMBERS.findall
        for i, text in enumerate(texts):
            kept = list(dict.fromkeys(t for t in map(str.casefold, find(text)) if t not in STOP))[:K]
            if kept:
                rows[i, : len(kept)] = [ids.setdefault(w, len(ids)) for w in kept]
        return rows


def shared(left: Ints, right: Ints) -> Ints:
    """How many tokens two rows of token ids share, row by row (-1 pads never count; a row holds
    each token once). One column of ``right`` at a time: no pairs x K x K temporary."""
    count = np.zeros(len(left), np.int64)
    for c in range(right.shape[1]):
        column = right[:, c : c + 1]
        count += (left == column).any(axis=1) & (column[:, 0] >= 0)
    return count
