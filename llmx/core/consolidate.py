"""Fold the duplicates a model writes within one article into one record each.

Small models repeat themselves: the same incident twice, or once with the place and once with
the attacker, both quoting the same sentence. Scoring counts each copy as a false positive, so
the copies are folded before anything else sees them:

- an exact duplicate (the same fields and values, in any key order) of an earlier record is
  removed;
- a record quoting the same evidence as an earlier one (after folding case, quotes and
  whitespace) is merged into it when every field agrees or is null on one side: the earlier
  record keeps its values and takes the other's where it had null;
- a record quoting the same evidence with a conflicting field is kept: one sentence may report
  two attacks ("two drones were fired from Iraq and two from Lebanon"). So is one that could
  merge into more than one other record: which one it belongs to would be a guess.

Records keep the position of their first occurrence. Pure: nothing here reads or writes files.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmx.core.grounding import normalize_with_map
from llmx.core.normalize import normalize

Equal = Callable[[Any, Any], bool]
_EDGES = " \t\n\"'.,;:"  # dropped from both ends of a quote before comparing


@dataclass(frozen=True)
class ConsolidationCounts:
    duplicates_removed: int = 0
    merged: int = 0


def same_value(a: Any, b: Any) -> bool:
    """Equal values; strings compare after folding case, accents and punctuation ("Baghdad" = "baghdad")."""
    if isinstance(a, str) and isinstance(b, str):
        return normalize(a) == normalize(b)
    return a == b and isinstance(a, bool) == isinstance(b, bool)  # True == 1 in Python; not here


def evidence_key(quote: Any) -> str | None:
    """The evidence as compared: casefolded, quotes and dashes unified, whitespace collapsed."""
    if not isinstance(quote, str):
        return None
    return normalize_with_map(quote)[0].strip(_EDGES) or None


def consolidate(
    records: Sequence[Mapping[str, Any]], evidence_field: str | None, equal: Equal = same_value
) -> tuple[list[dict[str, Any]], ConsolidationCounts]:
    """The records with exact duplicates removed and compatible same-evidence records merged.

    ``equal`` decides whether two non-null values of a field agree; pass one that consults the
    alias table to also merge "Kataib Hezbollah" with "Kataeb Hezbollah". Passes repeat until
    nothing changes: a merge can settle a record that fitted two others, so the result is stable
    (consolidating it again changes nothing).
    """
    kept, duplicates, merged = _one_pass(records, evidence_field, equal)
    while True:
        again, more_duplicates, more_merged = _one_pass(kept, evidence_field, equal)
        if len(again) == len(kept):
            return kept, ConsolidationCounts(duplicates_removed=duplicates, merged=merged)
        kept, duplicates, merged = again, duplicates + more_duplicates, merged + more_merged


def _one_pass(
    records: Sequence[Mapping[str, Any]], evidence_field: str | None, equal: Equal
) -> tuple[list[dict[str, Any]], int, int]:
    kept: list[dict[str, Any]] = []
    keys: list[str | None] = []  # evidence_key of each kept record
    seen: set[str] = set()
    duplicates = merged = 0
    for record in records:
        exact = json.dumps(record, sort_keys=True, default=repr)
        if exact in seen:
            duplicates += 1
            continue
        seen.add(exact)
        key = evidence_key(record.get(evidence_field)) if evidence_field else None
        homes = [
            other
            for other, other_key in zip(kept, keys, strict=True)
            if key is not None and other_key == key and _compatible(other, record, evidence_field, equal)
        ]
        if len(homes) == 1:
            _fill(homes[0], record)
            merged += 1
        else:
            kept.append(dict(record))
            keys.append(key)
    return kept, duplicates, merged


def _compatible(a: Mapping[str, Any], b: Mapping[str, Any], evidence_field: str | None, equal: Equal) -> bool:
    """Every field but the evidence agrees, or is null on one side."""
    return all(
        a.get(name) is None or b.get(name) is None or equal(a[name], b[name])
        for name in {*a, *b}
        if name != evidence_field
    )


def _fill(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    for name, value in source.items():
        if target.get(name) is None and value is not None:
            target[name] = value
