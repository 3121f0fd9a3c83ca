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
  Harir", or one of the places a value lists: "A, B and C regions"); different. Veto: two
  different names at the most precise level *both* reports name (the town; the region when
  neither names a town: two strikes of one night in two named oblasts are two events).
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

from llmx.core.event_columns import Column, column, columns_of, day_span
from llmx.core.event_rules import EventRule, FieldEventRule
from llmx.core.event_words import EXPLICIT, GENERIC, GENERIC_ACTOR, SEVERAL, K, Tokens, actor, place, shared
from llmx.core.fields import FieldSpec
from llmx.core.normalize import Aliases

Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Record = Mapping[str, Any]

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


@dataclass(frozen=True)
class Comparison:
    name: str  # the field compared
    kind: str  # its agree kind: which levels it has

    @property
    def labels(self) -> tuple[str, ...]:
        return ("not given", *LEVELS[self.kind])


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
        self.rule = rule
        self._dates(records, published)
        self.tokens = Tokens()
        self.comparisons: list[Comparison] = [Comparison(rule.window.name, "window")]
        self.names: dict[str, tuple[Column, Ints]] = {}
        self.several: dict[str, Bools] = {}  # per name field and code: the value lists places
        self._name_fields(records, specs, aliases)
        said = rule.words
        texts = [" ".join(v for w in said if isinstance(v := r.get(w), str)) for r in records]
        self.classes = [self._classed(r, records, texts) for r in rule.classed]
        self.comparisons += [Comparison(r.name, "class") for r in rule.classed]
        self.counts = [self._figures([rec.get(name) for rec in records]) for name in rule.counts]
        self.comparisons += [Comparison(name, "count") for name in rule.counts]
        self.words = self.tokens.of_texts(texts) if rule.words else np.full((len(records), K), -1, np.int64)
        self.comparisons += [Comparison(rule.words[0], "words")] if rule.words else []
        self.has_words: Bools = np.asarray((self.words >= 0).any(axis=1), bool)

    def _name_fields(self, records: Sequence[Record], specs: Mapping[str, FieldSpec], aliases: Aliases) -> None:
        """Places (most precise first), the country and the actors: codes, name words, lists of places."""
        rule = self.rule
        anchors = {r.name for r in rule.compatible if r.anchor}
        places = [(p, "place" if k == 0 else "region") for k, p in enumerate(rule.places)]
        fields = [*places, *((b, "block") for b in rule.block), *((c.name, "compatible") for c in rule.compatible)]
        for (name, kind), values in zip(fields, columns_of(records, [name for name, _ in fields]), strict=True):
            clean = functools.lru_cache(maxsize=None)(actor if name in anchors else place)
            col = column([clean(v) if isinstance(v, str) else None for v in values], specs.get(name), aliases)
            generic = GENERIC_ACTOR if kind == "compatible" else GENERIC
            self.names[name] = (col, self.tokens.of_names(col.vocabulary, generic))
            self.several[name] = np.asarray([bool(SEVERAL.search(v)) for v in col.vocabulary] or [False])
            self.comparisons.append(Comparison(name, kind))

    def _dates(self, records: Sequence[Record], published: Sequence[Any]) -> None:
        """Each report's day span: its date's, else the ``published_days`` before its publication."""
        window = self.rule.window
        lo, hi, timed, dated, explicit = [], [], [], [], []
        for record, day in zip(records, published, strict=True):
            value = record.get(window.name)
            span = day_span(value) if isinstance(value, str) else None
            words = record.get(window.text) if window.text and span else None
            if span is None and day is not None:
                span = (day.toordinal() - window.published_days, day.toordinal(), False)
            lo.append(span[0] if span else 0)
            hi.append(span[1] if span else 0)
            timed.append(span is not None)
            dated.append(bool(span and span[2]))  # known to the day, by its own date
            explicit.append(isinstance(words, str) and EXPLICIT.search(words) is not None)
        self.lo, self.hi = np.asarray(lo, np.int64), np.asarray(hi, np.int64)
        self.timed, self.dated, self.explicit = (np.asarray(x, bool) for x in (timed, dated, explicit))

    @staticmethod
    def _classed(r: FieldEventRule, records: Sequence[Record], texts: list[str]) -> tuple[Ints, Ints]:
        """A class field: each report's class, and the classes its own sentences name (bit c: class c)."""
        groups = sorted(set(r.classes.values()))
        of = {value: groups.index(group) for value, group in r.classes.items()}
        bit = {word: 1 << groups.index(group) for word, group in r.words.items()}
        mentioned = np.zeros(len(records), np.int64)
        if bit:
            pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(bit, key=len, reverse=True))) + r")\b")
            for i, text in enumerate(texts):
                for word in set(pattern.findall(text.casefold())):
                    mentioned[i] |= bit[word]
        cls = np.fromiter((of.get(str(rec.get(r.name)), -1) for rec in records), np.int64, count=len(records))
        return cls, mentioned

    @staticmethod
    def _figures(values: list[Any]) -> NDArray[np.float64]:
        numbers = [float(v) if isinstance(v, int | float) and not isinstance(v, bool) else np.nan for v in values]
        return np.asarray(numbers, np.float64)

    def keys(self) -> Ints:
        """Blocking keys per report (-1 pads, sorted): the informative words of its places, its
        normalised actors, and the names and numbers of its own sentences (place-name words and
        sentence words share one vocabulary, so "Harir" the place and "Harir" in a sentence are one
        key). Keys too common to tell reports apart are dropped by :func:`llmx.core.fusion.candidates`."""
        n = len(self.lo)
        parts = [np.full((n, 1), -1, np.int64)]
        for p in self.rule.places:
            col, tokens = self.names[p]
            parts.append(np.where((col.codes >= 0)[:, None], tokens[np.maximum(col.codes, 0)], -1))
        offset, actors = len(self.tokens.ids) + 1, dict[str, int]()  # one key per canonical actor, any field
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
        and C regions") reports several attacks: it is one event with another such list of the same
        places, and differs (weighed, no veto) from a report of one of them."""
        col, tokens = self.names[comparison.name]
        a, b = col.codes[i], col.codes[j]
        rows = np.nonzero((a >= 0) & (b >= 0))[0]
        same = col.equal(i[rows], j[rows])
        share = np.zeros(len(rows), bool)
        differ = np.nonzero(~same)[0] if comparison.kind != "block" else np.zeros(0, np.int64)  # a country: same or not
        share[differ] = shared(tokens[a[rows[differ]]], tokens[b[rows[differ]]]) > 0
        level = np.where(same, 1, np.where(share, 2, 3))
        veto = np.zeros(len(i), bool)
        if comparison.kind in ("place", "region"):
            several = self.several[comparison.name]
            level[several[a[rows]] != several[b[rows]]] = 3  # a list and one place: not one attack
            veto[rows] = ~same & ~share & ~named[rows]  # two different named places: never one event
            named[rows] = True
        out[rows] = level
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
