"""Gold annotations: ``gold/<article id>.json``, one file per article, hand-made.

Each incident is validated against the same schema as the extraction, field by field, plus
two annotation keys: ``optional`` (background an annotator may or may not include: neither
rewarded nor penalised), ``note`` (why it was annotated that way) and ``event`` (a name shared by
the gold records of every article that reports one attack: ``llmx score`` scores event fusion
against it; a record without one is an event of its own). A field absent from a
gold incident is "not annotated": it is not scored for that incident, so adding a field to the
schema never invalidates existing gold (``llmx gold check`` lists what is not annotated yet).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from llmx.errors import GoldError
from llmx.inputs.schemas import SchemaSpec

GOLD_VERSION = 1
ANNOTATION_KEYS = ("optional", "note", "event")


class GoldFile(BaseModel):
    version: int
    article_id: str
    schema_name: str
    incidents: list[dict[str, Any]]

    model_config = {"populate_by_name": True}

    @classmethod
    def read(cls, path: Path) -> GoldFile:
        try:
            data = json.loads(path.read_bytes().decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise GoldError(f"{path}: not valid JSON ({error}); fix the file or regenerate it") from error
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
    records = []
    for number, incident in enumerate(gold.incidents, start=1):
        unknown = set(incident) - set(fields) - set(ANNOTATION_KEYS)
        if unknown:
            raise GoldError(f"{path}: incident {number}: unknown field(s) {sorted(unknown)} for schema '{schema.name}'")
        record: dict[str, Any] = {}
        for name, value in incident.items():
            if name in ANNOTATION_KEYS:
                if name == "event" and not (isinstance(value, str) and value.strip()):
                    raise GoldError(f"{path}: incident {number}: 'event' must be a name (a non-empty string)")
                record[name] = value
                continue
            adapter = _adapter(schema, name)
            try:
                record[name] = adapter.dump_python(adapter.validate_python(value), mode="json")
            except ValidationError as error:
                raise GoldError(f"{path}: incident {number}, field '{name}': {error.errors()[0]['msg']}") from error
        records.append(record)
    return records


def _adapter(schema: SchemaSpec, name: str) -> TypeAdapter[Any]:
    key = (schema.sha256, name)
    if key not in _ADAPTERS:
        info = schema.record_model.model_fields[name]  # the annotation plus its constraints (ge, max_length...)
        _ADAPTERS[key] = TypeAdapter(Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation)
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


def load_gold(folder: Path, schema: SchemaSpec) -> dict[str, list[dict[str, Any]]]:
    if not folder.is_dir():
        raise GoldError(f"{folder}: no gold folder; pass --gold DIR with one <article id>.json per article")
    files = sorted(folder.glob("*.json"))
    if not files:
        raise GoldError(f"{folder}: no gold files (*.json) here")
    return {path.stem: validate_incidents(path, GoldFile.read(path), schema) for path in files}
