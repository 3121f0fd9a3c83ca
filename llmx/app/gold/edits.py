"""The edits the annotate page makes to one gold file, applied to its JSON and checked.

Every edit names the incident it is about by an id the server gave (stable while the file is
only changed through the server) and carries the incident as the page last saw it (``before``).
An edit is applied to the file as it is *now*, so two tabs editing one file lose nothing:
- ``set`` changes one field; it is refused (:class:`EditConflict`) only when that very field
  was changed elsewhere meanwhile, and then names both values;
- ``accept`` and ``reject`` are refused when the incident changed at all since the page saw it
  (accepting or deleting what nobody has read would lose the other edit);
- ``add`` appends, from a selection of the article or from a run record.
After an edit the whole file is validated as ``llmx gold check`` validates it; an invalid
value raises :class:`GoldError` with the reason, and nothing is written.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmx.errors import EditConflict, GoldError
from llmx.inputs.gold import REVIEW_KEYS, GoldFile, field_value, validate_incidents
from llmx.inputs.schemas import SchemaSpec

ABSENT = object()  # a field not annotated: different from null ("not reported")
EDITABLE_ANNOTATIONS = ("optional", "event", "note")


@dataclass
class EditContext:
    path: Path
    schema: SchemaSpec
    text: str | None  # the article, for incidents added from a selection
    run_record: Callable[[int], dict[str, Any]]  # the run's record i as a gold incident (not pending)


def apply_edit(data: dict[str, Any], ids: list[str], edit: dict[str, Any], ctx: EditContext, new_id: str) -> None:
    """Apply ``edit`` to the gold file ``data`` (and its parallel ``ids``) in place, then validate.

    ``data`` is left unchanged when the edit is refused."""
    original = copy.deepcopy(data), list(ids)
    try:
        _apply(data, ids, edit, ctx, new_id)
        validate(data, ctx)
    except GoldError:
        data.clear()
        data.update(original[0])
        ids[:] = original[1]
        raise


def validate(data: dict[str, Any], ctx: EditContext) -> GoldFile:
    gold = GoldFile.from_data(data, ctx.path)
    validate_incidents(ctx.path, gold, ctx.schema)
    return gold


def _apply(data: dict[str, Any], ids: list[str], edit: dict[str, Any], ctx: EditContext, new_id: str) -> None:
    kind = edit.get("op")
    incidents: list[dict[str, Any]] = data["incidents"]
    if kind == "add":
        incidents.append(_new_incident(edit, ctx))
        ids.append(new_id)
    elif kind == "status":
        _set_status(data, edit.get("value"))
    elif kind in ("set", "accept", "reject"):
        at = locate(incidents, ids, edit)
        before = edit.get("before")
        if kind == "set":
            _set_field(incidents[at], str(edit.get("field")), edit, ctx)
        elif incidents[at] != before:
            raise EditConflict("this incident was changed in another tab meanwhile; the page shows it as it is now")
        elif kind == "accept":
            incidents[at].pop("pending", None)
        else:
            del incidents[at]
            del ids[at]
    else:
        raise GoldError(f"unknown edit {kind!r}")


def locate(incidents: list[dict[str, Any]], ids: list[str], edit: dict[str, Any]) -> int:
    """The incident an edit is about: by id, else (the server restarted, or the file was edited
    outside) the one that still equals what the page saw, at its index or elsewhere."""
    wanted = edit.get("id")
    if wanted in ids:
        return ids.index(wanted)
    before = edit.get("before")
    index = edit.get("index")
    if isinstance(index, int) and 0 <= index < len(incidents) and incidents[index] == before:
        return index
    same = [i for i, incident in enumerate(incidents) if incident == before]
    if len(same) == 1:
        return same[0]
    raise EditConflict("this incident was changed or removed elsewhere (another tab, or the file was edited)")


def _set_field(incident: dict[str, Any], name: str, edit: dict[str, Any], ctx: EditContext) -> None:
    fields = ctx.schema.record_model.model_fields
    if name not in fields and name not in EDITABLE_ANNOTATIONS:
        raise GoldError(f"no field '{name}' in schema '{ctx.schema.name}'")
    before = edit.get("before") or {}
    seen, now = before.get(name, ABSENT), incident.get(name, ABSENT)
    unset = bool(edit.get("unset"))
    if name == ctx.schema.evidence_field and "start" in edit:  # the evidence, from a selection
        value: Any = _selected(edit, ctx)
    else:
        value = ABSENT if unset else _value(name, edit.get("value"), ctx.schema)
    if now == value:
        return  # already so (the other tab made the same change)
    if now != seen:
        raise EditConflict(
            f"{name} was changed in another tab to {_shown(now)} while you set {_shown(value)}; "
            "the page shows it as it is now: set it again if yours should win"
        )
    if value is ABSENT:
        incident.pop(name, None)
        return
    incident[name] = value
    order = [*ctx.schema.record_model.model_fields, *EDITABLE_ANNOTATIONS]  # as people write them
    ranked = sorted(incident.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
    incident.clear()
    incident.update(ranked)


def _value(name: str, value: Any, schema: SchemaSpec) -> Any:
    """What the page sent, as the file stores it; ABSENT for an annotation that is cleared."""
    if name == "optional":
        if not isinstance(value, bool):
            raise GoldError(f"optional: true or false, not {value!r}")
        return True if value else ABSENT  # "not optional" is the default: no key
    if name in ("event", "note"):
        if value is not None and not isinstance(value, str):
            raise GoldError(f"{name}: a text, not {value!r}")
        return value.strip() if value and value.strip() else ABSENT
    return field_value(schema, name, value)


def _shown(value: Any) -> str:
    return "(not annotated)" if value is ABSENT else repr(value)


def _new_incident(edit: dict[str, Any], ctx: EditContext) -> dict[str, Any]:
    if "run_index" in edit:
        index = edit["run_index"]
        if not isinstance(index, int):
            raise GoldError("run_index: a number")
        return ctx.run_record(index)
    evidence = ctx.schema.evidence_field
    if evidence is None:
        raise GoldError(f"schema '{ctx.schema.name}' has no evidence field to select")
    quote = _selected(edit, ctx)
    incident: dict[str, Any] = {}
    for name, info in ctx.schema.record_model.model_fields.items():
        if name == evidence:
            incident[name] = quote
        elif _nullable(info.annotation):
            incident[name] = None  # "not reported" until the person fills it
    return incident


def _selected(edit: dict[str, Any], ctx: EditContext) -> str:
    """The article's text at the selection's offsets, white space trimmed. The page counts
    offsets in the text it shows; where that differs from the article (a browser normalises
    line ends), the selected words are looked up in the article instead."""
    start, end, shown = edit.get("start"), edit.get("end"), edit.get("quote")
    if ctx.text is None:
        raise GoldError("no article text: pass --articles to llmx annotate")
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(ctx.text)):
        raise GoldError(f"select the sentence in the article first (got offsets {start!r}..{end!r})")
    quote = ctx.text[start:end].strip()
    if isinstance(shown, str) and shown.strip() and quote != shown.strip() and shown.strip() in ctx.text:
        quote = shown.strip()
    if not quote:
        raise GoldError("the selection is only white space: select the sentence that reports the attack")
    return quote


def _nullable(annotation: Any) -> bool:
    import typing

    return type(None) in typing.get_args(annotation)


def _set_status(data: dict[str, Any], value: Any) -> None:
    if value not in ("draft", "reviewed"):
        raise GoldError(f"status: draft or reviewed, not {value!r}")
    pending = [n for n, incident in enumerate(data["incidents"], start=1) if any(k in incident for k in REVIEW_KEYS)]
    if value == "reviewed" and pending:
        listed = ", ".join(f"#{n}" for n in pending)
        raise GoldError(f"incident(s) {listed} still pending: accept or reject each before marking the file reviewed")
    data["status"] = value
