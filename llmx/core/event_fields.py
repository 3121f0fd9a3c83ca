"""An event's fields, fused from its reports' values, and the fields on which they disagree. Pure.

Values are grouped by the field's own equality (the same rule scoring uses: alias table and
fuzzy threshold for names, the tolerance for numbers, "2024-03" and "2024-03-05" agree for
dates), so "Ain al-Asad" and "Ain al-Assad air base" are one value, never a dispute. Each
field is fused by its declared op; a field whose reports give more than one value is a dispute,
listed with every value and the reports that gave it (for ``min`` casualty counts, the
conservative figure is the event's, and the others are kept there).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

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


def _same_rule(spec: FieldSpec | None, aliases: Aliases) -> Callable[[Any, Any], bool]:
    """Are two filled values the same value of this field?"""
    match = spec.match if spec else "exact"
    if match == "number":
        tolerance = spec.tolerance if spec else 0.0

        def same_number(a: Any, b: Any) -> bool:
            try:
                return abs(float(a) - float(b)) <= tolerance
            except (TypeError, ValueError):
                return bool(a == b)

        return same_number
    if match == "date":
        return lambda a, b: str(a).startswith(str(b)) or str(b).startswith(str(a))
    if match in ("alias", "fuzzy"):
        threshold = spec.threshold if spec else 85.0

        def same_name(a: Any, b: Any) -> bool:
            x, y = normalize(str(a)), normalize(str(b))
            if x == y or (match == "alias" and aliases.table.get(x, x) == aliases.table.get(y, y)):
                return True
            return fuzz.token_set_ratio(x, y) >= threshold

        return same_name
    if match == "ignore":
        return lambda a, b: normalize(str(a)) == normalize(str(b))
    return lambda a, b: bool(a == b) and type(a) is type(b)


def _groups(values: list[tuple[int, Any]], same: Callable[[Any, Any], bool]) -> list[list[tuple[int, Any]]]:
    """Filled values grouped by equality with each group's first value, in report order."""
    groups: list[list[tuple[int, Any]]] = []
    for position, value in values:
        for group in groups:
            if group[0][1] == value or same(group[0][1], value):
                group.append((position, value))
                break
        else:
            groups.append([(position, value)])
    return groups


def _commonest(group: list[tuple[int, Any]]) -> Any:
    """The spelling most reports of a group use; the earliest report's on a tie."""
    counts: dict[str, list[Any]] = {}
    for _, value in group:
        counts.setdefault(repr(value), []).append(value)
    return max(counts.values(), key=len)[0]


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
    rules = {name: _same_rule(specs.get(name), aliases) for name in field_names}
    fused: list[FusedEvent] = []
    for members in events:
        members = list(members)
        if len(members) == 1:
            record = records[members[0]]
            values = {name: record.get(name) for name in field_names}
            for name, op in ops.items():
                if op == "union":
                    values[name] = [] if values[name] is None else [values[name]]
            fused.append(FusedEvent(members, values))
            continue
        event = FusedEvent(members, {})
        for name in field_names:
            filled = [(p, records[p].get(name)) for p in members if records[p].get(name) is not None]
            groups = _groups(filled, rules[name])
            event.fields[name] = _fused(ops[name], groups)
            if len(groups) > 1 and ops[name] != "union":
                event.disputes[name] = [Dispute(_commonest(g), [p for p, _ in g]) for g in groups]
        fused.append(event)
    return fused
