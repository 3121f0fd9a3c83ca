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

from pydantic import BaseModel

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
    """normalised variant → normalised canonical name."""

    table: dict[str, str] = {}

    def canonical(self, value: str) -> str:
        key = normalize(value)
        return self.table.get(key, key)

    @classmethod
    def from_mapping(cls, groups: dict[str, list[str]]) -> Aliases:
        table: dict[str, str] = {}
        for canonical, variants in groups.items():
            target = normalize(canonical)
            for variant in [canonical, *variants]:
                table[normalize(variant)] = target
        return cls(table=table)
