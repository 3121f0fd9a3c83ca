"""Text normalisation and the alias table used when scoring.

Normalising folds what should not count as a difference: case, diacritics, apostrophes,
punctuation, leading articles ("the"). The alias table (``schemas/aliases.yaml``, edited by
users, read by :mod:`llmx.inputs.aliases`) maps spellings of the same name onto one canonical
form, e.g. Kataeb / Kataib / Kata'ib Hezbollah.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr

_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc\u02bb`´]")
_NON_WORD = re.compile(r"[^\w]+")
_LEADING_ARTICLE = re.compile(r"^(the|a|an) ")


@lru_cache(maxsize=65536)
def normalize(value: str) -> str:
    text = unicodedata.normalize("NFKD", value)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _APOSTROPHES.sub("", text)
    text = _NON_WORD.sub(" ", text).strip()
    return _LEADING_ARTICLE.sub("", text)


class Aliases(BaseModel):
    """normalised variant → normalised canonical name; and the actor vocabulary, whose names
    (with role words around them: "Israeli warplanes") are canonical too."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    table: dict[str, str] = {}
    actors: Any = None  # an ActorVocabulary (typed Any: that module imports this one)
    _memo: dict[str, str] = PrivateAttr(default_factory=dict)
    _variants: dict[str, set[str]] | None = PrivateAttr(default=None)

    def canonical(self, value: str) -> str:
        key = normalize(value)
        found = self._memo.get(key)
        if found is None:
            found = self.table.get(key)
            if found is None and self.actors is not None and (actor := self.actors.actor(key)) is not None:
                found = self.table.get(normalize(actor), normalize(actor))
            found = self._memo[key] = found if found is not None else key
        return found

    def variants(self, canonical: str) -> set[str]:
        """Every normalised spelling that maps to ``canonical`` in the table and the actors' names."""
        if self._variants is None:
            index: dict[str, set[str]] = {}
            for variant, target in self.table.items():
                index.setdefault(target, set()).add(variant)
            for name, actor in self.actors.names.items() if self.actors is not None else ():
                index.setdefault(self.canonical(actor), set()).add(name)
            self._variants = index
        return self._variants.get(canonical, set())

    @classmethod
    def from_mapping(cls, groups: dict[str, list[str]], actors: Any = None) -> Aliases:  # actors: an ActorVocabulary
        table: dict[str, str] = {}
        for canonical, variants in groups.items():
            target = normalize(canonical)
            for variant in [canonical, *variants]:
                table[normalize(variant)] = target
        return cls(table=table, actors=actors)
