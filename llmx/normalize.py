"""Text normalisation and the alias table used when scoring.

Normalising folds what should not count as a difference: case, diacritics, apostrophes,
punctuation, leading articles ("the"). The alias table (``schemas/aliases.yaml``, edited by
users) maps spellings of the same name onto one canonical form, e.g. Kataeb / Kataib /
Kata'ib Hezbollah.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, RootModel, ValidationError

from llmx.errors import ConfigError

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


class _AliasFile(RootModel[dict[str, list[str]]]):
    pass


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


def load_aliases(path: Path | None) -> Aliases:
    if path is None or not path.is_file():
        return Aliases()
    try:
        data = yaml.safe_load(path.read_text()) or {}
        groups = _AliasFile.model_validate(data).root
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    except ValidationError as error:
        raise ConfigError(
            f"{path}: expected `canonical name: [variant, ...]` entries ({error.errors()[0]['msg']})"
        ) from error
    return Aliases.from_mapping(groups)
