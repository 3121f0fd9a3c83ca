"""Which records of one article clash, and how a group of them becomes one record.

Two records that name different places, different actors or different days are different
attacks even when they rest on one sentence ("drones hit Erbil and Kirkuk": two incidents, one
sentence): :func:`clashing` says which pairs of a pair table do, :func:`fold` makes one record of
a group (the evidence strategy groups records by the sentences they share:
:mod:`llmx.core.mentions`). Pure: records in, flags and records out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from llmx.core.fields import FieldSpec
from llmx.core.similarity import PairTable


def distinct_fields(specs: Mapping[str, FieldSpec]) -> list[str]:
    """Fields on which two filled, different values make two incidents: places and actors
    matched by alias (not free-text targets, which differ between two accounts of one attack),
    and dates."""
    return [s.name for s in specs.values() if (s.identity and s.match == "alias") or s.match == "date"]


def clashing(table: PairTable, names: Sequence[str]) -> np.ndarray:
    """Per pair of ``table``: both records fill one of ``names``, with different values."""
    conflict = np.zeros(len(table.pred_index), dtype=bool)
    for name in names:
        if name in table.equal:
            filled = ~table.pred_null[name][table.pred_index] & ~table.gold_null[name][table.gold_index]
            conflict |= filled & ~table.equal[name]
    return conflict


def fold(records: Sequence[Mapping[str, Any]], group: Sequence[int]) -> dict[str, Any]:
    """One record for a group: the values of its first record (the caller orders the group:
    :func:`llmx.core.stated.stated_first`), and another's where it has null."""
    out = dict(records[group[0]])
    for i in group[1:]:
        for name, value in records[i].items():
            if out.get(name) is None and value is not None:
                out[name] = value
    return out
