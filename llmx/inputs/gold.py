"""Gold annotations: ``gold/<article id>.json``, one file per article, hand-made.

Each incident is validated against the same schema as the extraction, field by field, plus
two annotation keys: ``optional`` (background an annotator may or may not include: neither
rewarded nor penalised), ``note`` (why it was annotated that way) and ``event`` (a name shared by
the gold records of every article that reports one attack: ``llmx score`` scores event fusion
against it; a record without one is an event of its own). A field absent from a
gold incident is "not annotated": it is not scored for that incident, so adding a field to the
schema never invalidates existing gold (``llmx gold check`` lists what is not annotated yet).

A file drafted from a run (``llmx gold draft``) says ``"status": "draft"`` until a person has
reviewed it (``llmx annotate``), and each drafted incident not yet accepted says
``"pending": true``. Drafts are never scored as gold: :func:`load_gold` leaves them out and
:func:`read_gold_folder` names them. A file without ``status`` was written by hand: reviewed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, TypeAdapter, ValidationError

from llmx.core.counts import NUMBER_BOUND, out_of_range, shown_number
from llmx.core.dates import parse_value
from llmx.errors import GoldError
from llmx.inputs.schemas import SchemaSpec

GOLD_VERSION = 1
ANNOTATION_KEYS = ("optional", "note", "event")
REVIEW_KEYS = ("pending",)  # only in drafts: a drafted incident nobody has accepted yet
GoldStatus = Literal["draft", "reviewed"]


class GoldFile(BaseModel):
    version: int
    article_id: str
    schema_name: str
    incidents: list[dict[str, Any]]
    status: GoldStatus = "reviewed"
    drafted_from: str | None = None  # the run a draft was made from

    model_config = {"populate_by_name": True}

    @classmethod
    def read(cls, path: Path) -> GoldFile:
        try:
            data = json.loads(path.read_bytes().decode("utf-8-sig"))
        except OSError as error:
            raise GoldError(f"{path}: cannot read the gold file ({error.strerror}); check its permissions") from error
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise GoldError(f"{path}: not valid JSON ({error}); fix the file or regenerate it") from error
        return cls.from_data(data, path)

    @classmethod
    def from_data(cls, data: Any, path: Path) -> GoldFile:
        """A gold file's parsed JSON, checked as :meth:`read` checks it (``path`` names it)."""
        if isinstance(data, dict):
            data = dict(data)
        if not isinstance(data, dict):
            raise GoldError(f"{path}: expected an object with version, article_id, schema, incidents")
        data["schema_name"] = data.pop("schema", None)
        try:
            gold = cls.model_validate(data)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(p) for p in first["loc"]).replace("schema_name", "schema")
            raise GoldError(f"{path}: '{field}': {first['msg']}") from error
        if gold.version != GOLD_VERSION:
            raise GoldError(f"{path}: gold version {gold.version}; this llmx reads version {GOLD_VERSION}")
        if gold.article_id != path.stem:
            raise GoldError(f"{path}: article_id '{gold.article_id}' does not match the file name '{path.stem}'")
        return gold


def validate_incidents(path: Path, gold: GoldFile, schema: SchemaSpec) -> list[dict[str, Any]]:
    """Each incident with its annotated fields as the schema dumps them, annotation keys kept."""
    if gold.schema_name != schema.name:
        raise GoldError(f"{path}: written for schema '{gold.schema_name}', scoring uses '{schema.name}'; pass --schema")
    fields = schema.record_model.model_fields
    records: list[dict[str, Any]] = []
    for number, incident in enumerate(gold.incidents, start=1):
        unknown = set(incident) - set(fields) - set(ANNOTATION_KEYS) - set(REVIEW_KEYS)
        if unknown:
            raise GoldError(f"{path}: incident {number}: unknown field(s) {sorted(unknown)} for schema '{schema.name}'")
        _check_review_keys(path, gold, number, incident)
        record: dict[str, Any] = {}
        for name, value in incident.items():
            if name in ANNOTATION_KEYS or name in REVIEW_KEYS:
                record[name] = _annotation(path, number, name, value)
                continue
            adapter = _adapter(schema, name)
            try:
                record[name] = adapter.dump_python(adapter.validate_python(value), mode="json")
            except ValidationError as error:
                raise GoldError(f"{path}: incident {number}, field '{name}': {error.errors()[0]['msg']}") from error
            _in_range(f"{path}: incident {number}, field '{name}'", record[name])
            _not_negative(f"{path}: incident {number}, field '{name}'", schema, name, record[name])
            if schema.fields[name].match == "date" and record[name] is not None and not parse_value(record[name]):
                raise GoldError(
                    f"{path}: incident {number}, field '{name}': {record[name]!r} is not an ISO date; "
                    "write YYYY-MM-DD, or YYYY-MM when only the month is known"
                )
        _no_duplicate(path, records, record)
        records.append(record)
    return records


def _annotation(path: Path, number: int, name: str, value: Any) -> Any:
    """``optional`` and ``pending`` are JSON booleans (the string "false" would be true), ``note``
    a text, ``event`` a name."""
    if name == "event" and not (isinstance(value, str) and value.strip()):
        raise GoldError(f"{path}: incident {number}: 'event' must be a name (a non-empty string)")
    expected = bool if name in ("optional", "pending") else str
    if not isinstance(value, expected):
        shown = "true or false (a JSON boolean, no quotes)" if expected is bool else "a text"
        raise GoldError(f"{path}: incident {number}, field '{name}': must be {shown}, not {json.dumps(value)}")
    return value


def _no_duplicate(path: Path, records: list[dict[str, Any]], record: dict[str, Any]) -> None:
    """The same incident twice (every field alike, the note aside) would be counted as two."""
    fields = {k: v for k, v in record.items() if k != "note"}
    for earlier, other in enumerate(records, start=1):
        if {k: v for k, v in other.items() if k != "note"} == fields:
            raise GoldError(
                f"{path}: incidents {earlier} and {len(records) + 1} are the same incident (every field alike); "
                "remove one"
            )


def field_value(schema: SchemaSpec, name: str, value: Any) -> Any:
    """One field's value as gold stores it (validated and dumped as :func:`validate_incidents`
    does: "3" for an integer field becomes 3); GoldError with pydantic's reason if invalid."""
    if name not in schema.record_model.model_fields:
        raise GoldError(f"no field '{name}' in schema '{schema.name}'")
    adapter = _adapter(schema, name)
    try:
        dumped = adapter.dump_python(adapter.validate_python(value), mode="json")
    except ValidationError as error:
        raise GoldError(f"{name}: {error.errors()[0]['msg']}") from error
    _in_range(name, dumped)
    return dumped


def _in_range(where: str, value: Any) -> None:
    """Numbers are bounded where they enter: 10**400 killed would pass the schema's ``int`` and
    then overflow a float in scoring."""
    wrong = out_of_range(value)
    if wrong is not None:
        raise GoldError(f"{where}: {shown_number(wrong)} is out of range; a number is at most {NUMBER_BOUND:,}")


def _not_negative(where: str, schema: SchemaSpec, name: str, value: Any) -> None:
    """A count (a field the schema checks as a count of people) is never below 0."""
    spec = schema.verify.get(name)
    if spec is not None and spec.check == "count" and isinstance(value, int | float) and value < 0:
        raise GoldError(f"{where}: {value} is a negative count; write 0 for none, or null when it is not reported")


def _adapter(schema: SchemaSpec, name: str) -> TypeAdapter[Any]:
    key = (schema.sha256, name)
    if key not in _ADAPTERS:
        info = schema.record_model.model_fields[name]  # the annotation plus its constraints (ge, max_length...)
        annotation: Any = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        _ADAPTERS[key] = TypeAdapter(annotation)
    return _ADAPTERS[key]


_ADAPTERS: dict[tuple[str, str], TypeAdapter[Any]] = {}


def unannotated(gold: dict[str, list[dict[str, Any]]], schema: SchemaSpec) -> dict[str, int]:
    """Schema fields missing from gold incidents: field → how many incidents lack it."""
    counts: dict[str, int] = {}
    for records in gold.values():
        for record in records:
            for name in schema.record_model.model_fields:
                if name not in record:
                    counts[name] = counts.get(name, 0) + 1
    return counts


def _check_review_keys(path: Path, gold: GoldFile, number: int, incident: dict[str, Any]) -> None:
    if "pending" not in incident:
        return
    if incident["pending"] is not True:
        raise GoldError(f"{path}: incident {number}: 'pending' is true or absent, not {incident['pending']!r}")
    if gold.status != "draft":
        raise GoldError(
            f"{path}: incident {number} is still pending review in a reviewed file; "
            'accept or reject it (llmx annotate), or set "status": "draft"'
        )


@dataclass
class GoldFolder:
    """A gold folder: the reviewed gold that is scored, and the drafts that are not (yet)."""

    gold: dict[str, list[dict[str, Any]]]
    drafts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def read_gold_folder(folder: Path, schema: SchemaSpec) -> GoldFolder:
    """Every gold file of ``folder``, validated; drafts apart from reviewed gold."""
    if not folder.is_dir():
        raise GoldError(f"{folder}: no gold folder; pass --gold DIR with one <article id>.json per article")
    try:
        files = sorted(p for p in folder.iterdir() if p.suffix == ".json")
    except OSError as error:
        raise GoldError(f"{folder}: cannot list the gold folder ({error.strerror}); check its permissions") from error
    if not files:
        raise GoldError(f"{folder}: no gold files (*.json) here")
    found = GoldFolder({})
    for path in files:
        gold = GoldFile.read(path)
        records = validate_incidents(path, gold, schema)
        (found.drafts if gold.status == "draft" else found.gold)[path.stem] = records
    return found


def load_gold(folder: Path, schema: SchemaSpec) -> dict[str, list[dict[str, Any]]]:
    """The reviewed gold of ``folder`` (drafts left out: see :func:`read_gold_folder`)."""
    return read_gold_folder(folder, schema).gold


def dump_gold(gold: GoldFile) -> str:
    """A gold file's text, as people write it: the header keys first, two-space indent, UTF-8."""
    data: dict[str, Any] = {"version": gold.version, "article_id": gold.article_id, "schema": gold.schema_name}
    if gold.status == "draft" or "status" in gold.model_fields_set:
        data["status"] = gold.status
    if gold.drafted_from is not None:
        data["drafted_from"] = gold.drafted_from
    data["incidents"] = gold.incidents
    return dump_gold_data(data)


HEADER_KEYS = ("version", "article_id", "schema", "status", "drafted_from")


def dump_gold_data(data: dict[str, Any]) -> str:
    """A gold file's JSON as it was read (keys this llmx does not know kept), header first."""
    ordered = {key: data[key] for key in HEADER_KEYS if key in data}
    ordered.update({key: value for key, value in data.items() if key not in ordered and key != "incidents"})
    ordered["incidents"] = data.get("incidents", [])
    return json.dumps(ordered, indent=2, ensure_ascii=False) + "\n"
