"""An event's fields, fused from its reports' values, and the fields on which they disagree. Pure.

Values are grouped by the field's own equality (the same rule scoring uses: alias table and
fuzzy threshold for names, the tolerance for numbers, "2024-03" and "2024-03-05" agree for
dates), so "Ain al-Asad" and "Ain al-Assad air base" are one value, never a dispute. Each
field is fused by its declared op; a field whose reports give more than one value is a dispute,
listed with every value and the reports that gave it (for ``min`` casualty counts, the
conservative figure is the event's, and the others are kept there).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz import fuzz

from llmx.core.collector import collector_paused
from llmx.core.event_columns import columns_of
from llmx.core.event_rules import EventRule, FuseOp
from llmx.core.fields import FieldSpec
from llmx.core.normalize import Aliases, normalize

Record = Mapping[str, Any]


@dataclass
class Dispute:
    value: Any
    reports: list[int]  # positions of the reports (in the records given) that gave this value


@dataclass
class FusedEvent:
    reports: list[int]  # positions in the records given, earliest first
    fields: dict[str, Any]
    disputes: dict[str, list[Dispute]] = field(default_factory=dict)


class _Grouping:
    """How one field's values are told apart: a cheap key (equal keys are the same value), then,
    between distinct keys only, the field's looser rule (fuzzy names, number tolerance, dates)."""

    def __init__(self, spec: FieldSpec | None, aliases: Aliases) -> None:
        self.match = spec.match if spec else "exact"
        self.threshold = spec.threshold if spec else 85.0
        self.tolerance = spec.tolerance if spec else 0.0
        self.aliases = aliases
        self._keys: dict[Any, Any] = {}

    def key(self, value: Any) -> Any:
        known = self._keys.get(value) if isinstance(value, str) else None
        if known is not None:
            return known
        if self.match in ("alias", "fuzzy"):
            name = normalize(str(value))
            found: Any = self.aliases.canonical(name) if self.match == "alias" else name
        elif self.match == "ignore":
            found = str(value).casefold().strip()
        elif self.match == "date":
            found = str(value)
        elif self.match == "number":
            found = value if isinstance(value, int | float) and not isinstance(value, bool) else repr(value)
        else:
            found = (type(value).__name__, value if isinstance(value, str | int | float | bool) else repr(value))
        if isinstance(value, str) and len(self._keys) < 200_000:
            self._keys[value] = found
        return found

    def same(self, a: Any, b: Any) -> bool:
        """Two values of different keys: the same value all the same?"""
        if self.match in ("alias", "fuzzy"):
            return fuzz.token_set_ratio(normalize(str(a)), normalize(str(b))) >= self.threshold
        if self.match == "date":
            return str(a).startswith(str(b)) or str(b).startswith(str(a))
        if self.match == "number" and self.tolerance:
            try:
                return abs(float(a) - float(b)) <= self.tolerance
            except (TypeError, ValueError):
                return False
        return False

    def groups(self, values: list[tuple[int, Any]]) -> list[list[tuple[int, Any]]]:
        """Filled values grouped: by key, then groups merged by the looser rule, in report order."""
        by_key: dict[Any, list[tuple[int, Any]]] = {}
        for position, value in values:
            by_key.setdefault(self.key(value), []).append((position, value))
        groups = list(by_key.values())
        if len(groups) < 2 or self.match in ("exact", "ignore") or (self.match == "number" and not self.tolerance):
            return groups
        merged: list[list[tuple[int, Any]]] = []
        for group in groups:
            for target in merged:
                if self.same(target[0][1], group[0][1]):
                    target.extend(group)
                    break
            else:
                merged.append(group)
        rank = {position: i for i, (position, _) in enumerate(values)}
        for group in merged:
            group.sort(key=lambda item: rank[item[0]])  # each group in report order again
        return merged


def _commonest(group: list[tuple[int, Any]]) -> Any:
    """The spelling most reports of a group use; the earliest report's on a tie."""
    if len(group) == 1:
        return group[0][1]
    try:
        counts = Counter(value for _, value in group)  # insertion-ordered: max keeps the earliest
    except TypeError:  # unhashable values (a custom schema's lists): count their text
        texts = Counter(repr(value) for _, value in group)
        best = max(texts, key=texts.__getitem__)
        return next(value for _, value in group if repr(value) == best)
    return max(counts, key=counts.__getitem__)


def _fused(op: FuseOp, groups: list[list[tuple[int, Any]]]) -> Any:
    if not groups:
        return [] if op == "union" else None
    if op == "union":
        return [_commonest(group) for group in groups]
    if op == "mode":
        return _commonest(max(groups, key=len))  # max keeps the first (earliest) of equal sizes
    values = [value for group in groups for _, value in group]
    if op in ("min", "max"):
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if not numbers:
            return _commonest(max(groups, key=len))
        return min(numbers) if op == "min" else max(numbers)
    precise = [str(v) for v in values if len(str(v)) == 10] or [str(v) for v in values]  # dates: days first
    return min(precise) if op == "earliest" else max(precise)


_DISPUTED = object()  # a field whose reports give more than one value: grouped one by one


def _agreed(column: Sequence[Any], multi: list[list[int]], union: bool) -> list[Any]:
    """Per event of several reports, the field's value when its reports give one value (or none),
    decided for all events at once in numpy; ``_DISPUTED`` where they give more."""
    if not multi:
        return []
    try:  # equal values share a code, as == says (1 == 1.0)
        ids = {v: i for i, v in enumerate(dict.fromkeys(column))}
    except TypeError:  # unhashable values (a custom schema's lists): every event the slow way
        return [_DISPUTED] * len(multi)
    ids[None] = -1
    codes = np.fromiter(map(ids.__getitem__, column), np.int64, len(column))
    sizes = np.fromiter(map(len, multi), np.int64, len(multi))
    starts = np.cumsum(sizes) - sizes
    big = np.iinfo(np.int64).max
    lowest = np.minimum.reduceat(np.where(codes < 0, big, codes), starts)
    highest = np.maximum.reduceat(codes, starts)
    first = np.minimum.reduceat(np.where(codes < 0, big, np.arange(len(codes))), starts)
    out: list[Any] = []
    for low, high, at in zip(lowest.tolist(), highest.tolist(), first.tolist(), strict=True):
        if high < 0:
            out.append([] if union else None)
        elif low == high:
            out.append([column[at]] if union else column[at])
        else:
            out.append(_DISPUTED)
    return out


@collector_paused()
def fuse_fields(
    records: Sequence[Record],
    events: Sequence[Sequence[int]],
    field_names: Sequence[str],
    rule: EventRule,
    specs: Mapping[str, FieldSpec],
    aliases: Aliases,
) -> list[FusedEvent]:
    """Each event (its reports' positions, earliest first) with its fused fields and disputes."""
    ops = {name: rule.fuse(name) for name in field_names}
    rules = {name: _Grouping(specs.get(name), aliases) for name in field_names}
    multi = [list(members) for members in events if len(members) > 1]
    agreed = {
        name: iter(_agreed(column, multi, ops[name] == "union"))
        for name, column in zip(
            field_names, columns_of([records[p] for members in multi for p in members], field_names), strict=True
        )
    }
    unions = [name for name in field_names if ops[name] == "union"]
    fused: list[FusedEvent] = []
    for members in events:
        members = list(members)
        if len(members) == 1:
            record = records[members[0]]
            values = {name: record.get(name) for name in field_names}
            for name in unions:
                values[name] = [] if values[name] is None else [values[name]]
            fused.append(FusedEvent(members, values))
            continue
        event = FusedEvent(members, {})
        for name in field_names:
            value = next(agreed[name])
            if value is _DISPUTED:
                _settle(event, name, [(p, v) for p in members if (v := records[p].get(name)) is not None],
                        ops[name], rules[name])  # fmt: skip
            else:
                event.fields[name] = value
        fused.append(event)
    return fused


def _settle(event: FusedEvent, name: str, filled: list[tuple[int, Any]], op: FuseOp, rule: _Grouping) -> None:
    """A field whose reports give several values: grouped by the field's equality, fused by its
    op, and a dispute when more than one group is left (a union keeps them all instead)."""
    groups = rule.groups(filled)
    event.fields[name] = _fused(op, groups)
    if len(groups) > 1 and op != "union":
        event.disputes[name] = [Dispute(_commonest(g), [p for p, _ in g]) for g in groups]
