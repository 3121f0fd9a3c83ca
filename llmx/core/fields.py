"""How each record field is scored: its match kind, threshold or tolerance, and whether it
identifies an incident. Declared on the schema's fields (``json_schema_extra={"llmx": …}``) and
read by :mod:`llmx.inputs.schemas`; used by scoring, similarity and the same-incident rule."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Literal

# The same-incident rule (docs/codebook.md), one statement for scoring, the recall pass and fusion:
MIN_SIMILARITY = 0.5  # below this, a predicted and a gold record are not a match
QUOTE_OVERLAP = 85.0  # partial_ratio of two quotes at or above which they are the same passage

MatchKind = Literal["exact", "fuzzy", "alias", "date", "number", "ignore"]
MATCH_KINDS: tuple[str, ...] = typing.get_args(MatchKind)


@dataclass(frozen=True)
class FieldSpec:
    """How one record field is compared when scoring."""

    name: str
    match: MatchKind
    threshold: float = 85.0  # fuzzy / alias: rapidfuzz token_set_ratio, 0-100
    tolerance: float = 0.0  # number: |a - b| <= tolerance
    # A place or an actor: two records agreeing on one of these can be the same incident even
    # when their quotes differ; agreement on generic fields (date, weapon) alone never makes a match.
    identity: bool = False
