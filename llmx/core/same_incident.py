"""Which records of one article report the same incident, by the rule scoring uses.

The evidence-first strategy fills one record per marked attack, per chunk; two sentences about
one attack, or one attack seen by two overlapping chunks, give two records. They are folded
here with the scorer's own definition of "the same incident" (:mod:`llmx.core.similarity`:
quotes overlap or a place or actor agrees, and similarity ≥ ``MIN_SIMILARITY``), with one
guard scoring does not need: two records that name different places, different actors or
different days are different attacks even when they quote one sentence ("drones hit Erbil and
Kirkuk": two incidents, one sentence). Two looser joins follow the model's own reading: the
runs of one marked item (``together``) and records that name the same weapon and clash on no
place or day (the 1.5B model writes one attacker three ways); that join compares the places and
days each record's own sentences state (:mod:`llmx.core.stated`), not those the model copied
out of the lead into every record below it. Pure: records in, groups out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from llmx.core.fields import MIN_SIMILARITY, FieldSpec
from llmx.core.normalize import Aliases
from llmx.core.similarity import PairTable, pair_table

FOLD_LOOSE = True  # also fold records that clash on nothing and name one weapon (see ``loose``)
FOLD_STATED = True  # the looser join compares the places and days the records' own sentences state
ACTOR_FIELDS = ("attacker", "claimed_by")  # names a small model writes many ways for one actor


def distinct_fields(specs: Mapping[str, FieldSpec]) -> list[str]:
    """Fields on which two filled, different values make two incidents: places and actors
    matched by alias (not free-text targets, which differ between two accounts of one attack),
    and dates."""
    return [s.name for s in specs.values() if (s.identity and s.match == "alias") or s.match == "date"]


def incident_groups(
    records: Sequence[Mapping[str, Any]],
    specs: Mapping[str, FieldSpec],
    aliases: Aliases,
    evidence_field: str | None,
    together: set[tuple[int, int]] | None = None,
    stated: Sequence[Mapping[str, Any]] | None = None,
) -> list[list[int]]:
    """Indices of ``records`` grouped by incident, each group in record order, groups in order
    of their first record. ``together``: pairs (i < j) the model put under one attack, joined
    unless they clash, whatever their similarity. ``stated``: the records as their own
    sentences state them (:mod:`llmx.core.stated`); the looser join compares their places and
    days, not the ones the model copied from the context."""
    count = len(records)
    if count < 2:
        return [[i] for i in range(count)]
    table, _, _ = pair_table({"a": (list(records), list(records))}, specs, aliases, evidence_field)
    loose_table = table
    if stated is not None and FOLD_STATED:
        loose_table, _, _ = pair_table({"a": (list(stated), list(stated))}, specs, aliases, evidence_field)
    conflict = clashing(table, distinct_fields(specs))
    place_clash = pairs_where(
        loose_table, clashing(loose_table, [f for f in distinct_fields(specs) if f not in ACTOR_FIELDS])
    )
    weapon = next(
        (s.name for s in specs.values() if s.match == "exact" and not s.identity and s.name == "weapon"), None
    )

    def loose(i: int, j: int) -> bool:
        """Two records of one article that clash on nothing and name the same weapon: one attack
        told in two sentences the model listed apart (measured on the real devset: precision 0.41 → 0.50)."""
        return FOLD_LOOSE and weapon is not None and records[i].get(weapon) == records[j].get(weapon)

    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    pairs = list(
        zip(
            table.pred_index.tolist(),
            table.gold_index.tolist(),
            table.similarity.tolist(),
            conflict.tolist(),
            strict=True,
        )
    )
    candidates = sorted(
        (
            (similarity, i, j)
            for i, j, similarity, clash in pairs
            if i < j and not clash and similarity >= MIN_SIMILARITY
        ),
        reverse=True,
    )
    members: dict[int, set[int]] = {i: {i} for i in range(count)}
    indices = zip(table.pred_index.tolist(), table.gold_index.tolist(), conflict.tolist(), strict=True)
    clashes = {(i, j) for i, j, c in indices if c}
    # then records that name the same weapon and clash on no place or day (the 1.5B model names
    # one attacker three ways), least similar last
    candidates += [(0.0, i, j) for i, j, _, _ in pairs if i < j and (i, j) not in place_clash and loose(i, j)]
    for score, i, j in candidates:  # most similar first; never join two groups that hold a clashing pair
        a, b = root(i), root(j)
        blocked = place_clash if score == 0.0 else clashes
        if a == b or any((x, y) in blocked or (y, x) in blocked for x in members[a] for y in members[b]):
            continue
        parent[b] = a
        members[a] |= members.pop(b)
    groups: dict[int, list[int]] = {}
    for i in range(count):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda group: group[0])


def clashing(table: PairTable, names: Sequence[str]) -> np.ndarray:
    """Per pair of ``table``: both records fill one of ``names``, with different values."""
    conflict = np.zeros(len(table.pred_index), dtype=bool)
    for name in names:
        if name in table.equal:
            filled = ~table.pred_null[name][table.pred_index] & ~table.gold_null[name][table.gold_index]
            conflict |= filled & ~table.equal[name]
    return conflict


def pairs_where(table: PairTable, flags: np.ndarray) -> set[tuple[int, int]]:
    pairs = zip(table.pred_index.tolist(), table.gold_index.tolist(), flags.tolist(), strict=True)
    return {(i, j) for i, j, flag in pairs if flag}


def fold(records: Sequence[Mapping[str, Any]], group: Sequence[int]) -> dict[str, Any]:
    """One record for a group: the values of its first record (the caller orders the group:
    :func:`llmx.core.stated.stated_first`), and another's where it has null."""
    out = dict(records[group[0]])
    for i in group[1:]:
        for name, value in records[i].items():
            if out.get(name) is None and value is not None:
                out[name] = value
    return out
