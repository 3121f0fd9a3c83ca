"""How two reports compare, field by field, as the comparison levels of Fellegi–Sunter record
linkage, and the facts that cannot both be true (the only vetoes). Pure: no I/O. Every check is
vectorised over pairs of report indices, so the same code weighs fifty million candidate pairs
and explains one.

Levels per kind of field (level 0, one side says nothing, weighs nothing):

- date (``window``): same day; a day apart; further apart but both inferred from weekday words
  (within ``slack`` more days: an outlet's "Sunday" may be the funeral); overlapping spans (an
  undated report placed by its publication date, or a month). Veto: two *explicit* days (the
  date's own words give a day number or a month) further apart than ``days``.
- place: the same (alias table, fuzzy threshold); sharing a name ("Harir air base", "the base at
  Harir"); different. Veto: two different named places at the most precise level (a region,
  level 2 and up, only weighs: "Kurdistan Region" and "Erbil province" are both right).
- country (``block``), actors (``compatible``): the same; sharing a name (actors only); different.
  Actors are normalised first: a source ("a US defence official"), a victim ("residents") or a
  weapon ("explosive-laden drone") is no actor, and weapon words are cut ("Turkish army drone").
- weapon (``class``): the same class; the class of one named in the other's own sentence (one
  outlet's "explosive" for the other's "explosive-laden drone"); different classes.
- casualty figures (``count``): equal; close (within 2, or half the larger: tolls rise); far.
- the reports' own sentences (``words``): names and numbers they share: none, one, several.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from llmx.core.event_columns import Column, column, day_span
from llmx.core.event_rules import EventRule
from llmx.core.fields import FieldSpec
from llmx.core.normalize import Aliases, normalize

Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Record = Mapping[str, Any]
K = 6  # tokens kept per name or sentence (and blocking keys per report)

LEVELS: dict[str, tuple[str, ...]] = {
    "window": ("same day", "a day apart", "days apart (weekday words)", "overlapping dates"),
    "place": ("same", "share a name", "different"),
    "region": ("same", "share a name", "different"),
    "block": ("same", "share a name", "different"),
    "compatible": ("same", "share a name", "different"),
    "class": ("same class", "named in the other's sentence", "different"),
    "count": ("equal", "close", "far apart"),
    "words": ("no name or number shared", "one shared", "several shared"),
}


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
STOP = _words(
    "the a an this that these those they their there it its he she we and but after before when while "
    "most both one monday tuesday wednesday thursday friday saturday sunday january february march april "
    "may june july august september october november december"
)
_NAMES_AND_NUMBERS = re.compile(r"\b[A-Z][\w'’-]{2,}|\b\d+\b")
_SEVERAL = re.compile(
    r"\band\b|&|\b(regions|provinces|governorates|oblasts|districts|villages|towns|cities|areas|states)\b"
)  # a place value that lists places: "Dnipropetrovsk, Ivano-Frankivsk and Lviv regions"
_EXPLICIT = re.compile(
    r"\d|january|february|march|april|may|june|july|august|september|october|november|december", re.I
)


@dataclass(frozen=True)
class Comparison:
    name: str  # the field compared
    kind: str  # its agree kind: which levels it has

    @property
    def labels(self) -> tuple[str, ...]:
        return ("not given", *LEVELS[self.kind])


def _actor(value: Any) -> str | None:
    """An actor as fusion compares it: None for a source, a victim or a weapon; weapon words cut."""
    if not isinstance(value, str):
        return None
    words = normalize(value).split()
    if not words or " ".join(words) in JUNK or NOT_ACTOR & set(words):
        return None
    kept = [w for w in words if w not in WEAPON_WORDS]
    return " ".join(kept) or None


def _place(value: Any) -> Any:
    return None if isinstance(value, str) and normalize(value) in JUNK else value


class _Tokens:
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


def shared(left: Ints, right: Ints) -> Ints:
    """How many tokens two rows of token ids share, row by row (-1 pads never count)."""
    same = (left[:, :, None] == right[:, None, :]) & (left[:, :, None] >= 0)
    return same.any(axis=2).sum(axis=1)


class ReportColumns:
    """The reports as fusion compares them: one array (or :class:`Column`) per field of the rule,
    indexed by the position of the report in the records given."""

    def __init__(
        self,
        records: Sequence[Record],
        published: Sequence[Any],
        rule: EventRule,
        specs: Mapping[str, FieldSpec],
        aliases: Aliases,
    ) -> None:
        n = len(records)
        window = rule.window
        self.rule = rule
        self.lo, self.hi = np.zeros(n, np.int64), np.zeros(n, np.int64)
        self.timed, self.dated, self.explicit = np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool)
        for i, (record, day) in enumerate(zip(records, published, strict=True)):
            value = record.get(window.name)
            span = day_span(value) if isinstance(value, str) else None
            if span is not None:
                self.lo[i], self.hi[i], self.dated[i] = span
                self.timed[i] = True
                words = record.get(window.text) if window.text else None
                self.explicit[i] = bool(isinstance(words, str) and _EXPLICIT.search(words))
            elif day is not None:  # undated: within published_days before its publication
                self.lo[i], self.hi[i] = day.toordinal() - window.published_days, day.toordinal()
                self.timed[i] = True
        self.tokens = _Tokens()
        self.comparisons: list[Comparison] = [Comparison(window.name, "window")]
        self.names: dict[str, tuple[Column, Ints]] = {}
        self.several: dict[str, Bools] = {}  # per name field and code: the value lists places
        anchors = {r.name for r in rule.compatible if r.anchor}
        places = [(p, "place" if k == 0 else "region") for k, p in enumerate(rule.places)]
        for name, kind in [*places, *((b, "block") for b in rule.block),
                           *((c.name, "compatible") for c in rule.compatible)]:  # fmt: skip
            clean = functools.lru_cache(maxsize=None)(_actor if name in anchors else _place)
            col = column([clean(v) if isinstance(v, str) else None for v in (r.get(name) for r in records)],
                         specs.get(name), aliases)  # fmt: skip
            generic = GENERIC_ACTOR if kind == "compatible" else GENERIC
            self.names[name] = (col, self.tokens.of_names(col.vocabulary, generic))
            self.several[name] = np.asarray([bool(_SEVERAL.search(v)) for v in col.vocabulary] or [False])
            self.comparisons.append(Comparison(name, kind))
        texts = [" ".join(str(r.get(w)) for w in rule.words if isinstance(r.get(w), str)) for r in records]
        self.classes: list[tuple[Ints, Ints]] = []
        for r in rule.classed:
            groups = sorted(set(r.classes.values()))
            of = {value: groups.index(group) for value, group in r.classes.items()}
            bit = {word: 1 << groups.index(group) for word, group in r.words.items()}
            mentioned = np.zeros(n, np.int64)  # bit c: class c is named in the report's own sentences
            if bit:
                pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(bit, key=len, reverse=True))) + r")\b")
                for i, text in enumerate(texts):
                    for word in set(pattern.findall(text.casefold())):
                        mentioned[i] |= bit[word]
            cls = np.fromiter((of.get(str(rec.get(r.name)), -1) for rec in records), np.int64, count=n)
            self.classes.append((cls, mentioned))
            self.comparisons.append(Comparison(r.name, "class"))
        self.counts = []
        for name in rule.counts:
            values = [rec.get(name) for rec in records]
            numbers = [float(v) if isinstance(v, int | float) and not isinstance(v, bool) else np.nan for v in values]
            self.counts.append(np.asarray(numbers, np.float64))
            self.comparisons.append(Comparison(name, "count"))
        self.words = np.full((n, K), -1, np.int64)
        if rule.words:
            for i, text in enumerate(texts):
                found = [t.casefold() for t in _NAMES_AND_NUMBERS.findall(text)]
                self.words[i] = self.tokens.of([t for t in found if t not in STOP])
            self.comparisons.append(Comparison(rule.words[0], "words"))
        self.has_words: Bools = np.asarray((self.words >= 0).any(axis=1), bool)

    def keys(self) -> Ints:
        """Blocking keys per report (-1 pads, sorted): the informative words of its places, its
        normalised actors, and the names and numbers of its own sentences (place-name words and
        sentence words share one vocabulary, so "Harir" the place and "Harir" in a sentence are one
        key). A report that names no place, no date or no actor is still compared with the
        reports near its days (or its publication) that share any key; keys too common to tell
        reports apart are dropped per window by :func:`llmx.core.fusion.candidates`."""
        n = len(self.lo)
        parts = [np.full((n, 1), -1, np.int64)]
        for p in self.rule.places:
            col, tokens = self.names[p]
            parts.append(np.where((col.codes >= 0)[:, None], tokens[np.maximum(col.codes, 0)], -1))
        offset, actors = len(self.tokens.ids) + 1, {}  # actors: one key per canonical name, whichever field
        for c in self.rule.compatible:
            if c.anchor:
                col = self.names[c.name][0]
                names = [col.vocabulary[k] for k in col.canonical.tolist()] if col.vocabulary else [""]
                ids = np.asarray([actors.setdefault(name, len(actors)) + offset for name in names], np.int64)
                parts.append(np.where(col.codes >= 0, ids[np.maximum(col.codes, 0)], -1)[:, None])
        parts.append(self.words)
        keys = np.sort(np.concatenate(parts, axis=1), axis=1)
        keys[:, 1:][keys[:, 1:] == keys[:, :-1]] = -1  # a key twice in one report counts once
        keys.sort(axis=1)
        return keys

    def compare(self, i: Ints, j: Ints) -> tuple[NDArray[np.int8], Bools]:
        """The level of every comparison for pairs (i[k], j[k]), and which pairs are vetoed."""
        levels = np.zeros((len(i), len(self.comparisons)), np.int8)
        veto = self._window(i, j, levels)
        named = np.zeros(len(i), bool)  # a more precise place level already named on both sides
        classes = iter(self.classes)
        counts = iter(self.counts)
        for c, comparison in enumerate(self.comparisons[1:], start=1):
            if comparison.name in self.names:
                veto |= self._names(comparison, i, j, levels[:, c], named)
            elif comparison.kind == "class":
                levels[:, c] = self._class(next(classes), i, j)
            elif comparison.kind == "count":
                levels[:, c] = self._count(next(counts), i, j)
            else:  # words
                count = shared(self.words[i], self.words[j])
                both_said = np.asarray(self.has_words[i] & self.has_words[j], bool)
                levels[:, c] = np.where(both_said, np.minimum(count, 2) + 1, 0)
        return levels, veto

    def _window(self, i: Ints, j: Ints, levels: NDArray[np.int8]) -> Bools:
        """The date's level into ``levels[:, 0]``; the veto of two explicit days too far apart."""
        gap = np.maximum(self.lo[j] - self.hi[i], self.lo[i] - self.hi[j])
        both_days = self.dated[i] & self.dated[j] & (self.lo[i] == self.hi[i]) & (self.lo[j] == self.hi[j])
        level = np.where(gap <= 0, 4, 0)
        level = np.where(both_days & (gap > 1), 3, np.where(both_days & (gap == 1), 2, level))
        level = np.where(both_days & (gap == 0), 1, level)
        level[~(self.timed[i] & self.timed[j])] = 0
        levels[:, 0] = level
        return np.asarray(both_days & self.explicit[i] & self.explicit[j] & (gap > self.rule.window.days), bool)

    def _names(self, comparison: Comparison, i: Ints, j: Ints, out: NDArray[np.int8], named: Bools) -> Bools:
        """A name field's level into ``out``. Places, most precise first: the first level both
        reports name decides; two different names there (sharing no word) are a veto, at any level,
        so two strikes of one night in two named regions stay two. A value that lists places ("A, B
        and C regions") only shares a name with each of them, never is one of them."""
        col, tokens = self.names[comparison.name]
        a, b = col.codes[i], col.codes[j]
        rows = np.nonzero((a >= 0) & (b >= 0))[0]
        same = col.equal(i[rows], j[rows])
        if comparison.kind in ("place", "region"):
            same &= ~(self.several[comparison.name][a[rows]] | self.several[comparison.name][b[rows]])
        share = np.zeros(len(rows), bool)
        differ = np.nonzero(~same)[0]
        share[differ] = shared(tokens[a[rows[differ]]], tokens[b[rows[differ]]]) > 0
        out[rows] = np.where(same, 1, np.where(share & (comparison.kind != "block"), 2, 3))
        veto = np.zeros(len(i), bool)
        if comparison.kind in ("place", "region"):
            veto[rows] = ~same & ~share & ~named[rows]  # two different named places: never one event
            named[rows] = True
        return veto

    @staticmethod
    def _class(classes: tuple[Ints, Ints], i: Ints, j: Ints) -> NDArray[np.int8]:
        cls, mentioned = classes
        a, b = cls[i], cls[j]
        said = ((mentioned[j] >> np.maximum(a, 0)) & 1) | ((mentioned[i] >> np.maximum(b, 0)) & 1)
        return np.where((a < 0) | (b < 0), 0, np.where(a == b, 1, np.where(said > 0, 2, 3))).astype(np.int8)

    @staticmethod
    def _count(figures: NDArray[np.float64], i: Ints, j: Ints) -> NDArray[np.int8]:
        fa, fb = figures[i], figures[j]
        with np.errstate(invalid="ignore"):
            close = np.abs(fa - fb) <= np.maximum(2, np.fmax(fa, fb) / 2)
            level = np.where(np.isnan(fa) | np.isnan(fb), 0, np.where(fa == fb, 1, np.where(close, 2, 3)))
        return level.astype(np.int8)
