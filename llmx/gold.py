"""Gold annotations: ``gold/<article id>.json``, one file per article, hand-made.

Each incident is validated against the same schema as the extraction, plus two annotation
keys: ``optional`` (background an annotator may or may not include: neither rewarded nor
penalised) and ``note`` (why it was annotated that way).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from llmx.errors import GoldError
from llmx.schemas import SchemaSpec

GOLD_VERSION = 1
ANNOTATION_KEYS = ("optional", "note")


class GoldFile(BaseModel):
    version: int
    article_id: str
    schema_name: str
    incidents: list[dict[str, Any]]

    model_config = {"populate_by_name": True}

    @classmethod
    def read(cls, path: Path) -> GoldFile:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
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
    """Each incident as the schema dumps it, with the annotation keys kept."""
    if gold.schema_name != schema.name:
        raise GoldError(f"{path}: written for schema '{gold.schema_name}', scoring uses '{schema.name}'; pass --schema")
    records = []
    for number, incident in enumerate(gold.incidents, start=1):
        fields = {k: v for k, v in incident.items() if k not in ANNOTATION_KEYS}
        try:
            record = schema.record_model.model_validate(fields)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "incident"
            raise GoldError(f"{path}: incident {number}, field '{field}': {first['msg']}") from error
        dumped = record.model_dump(mode="json")
        unknown = set(fields) - set(dumped)
        if unknown:
            raise GoldError(f"{path}: incident {number}: unknown field(s) {sorted(unknown)} for schema '{schema.name}'")
        records.append({**dumped, **{k: incident[k] for k in ANNOTATION_KEYS if k in incident}})
    return records


def load_gold(folder: Path, schema: SchemaSpec) -> dict[str, list[dict[str, Any]]]:
    if not folder.is_dir():
        raise GoldError(f"{folder}: no gold folder; pass --gold DIR with one <article id>.json per article")
    files = sorted(folder.glob("*.json"))
    if not files:
        raise GoldError(f"{folder}: no gold files (*.json) here")
    return {path.stem: validate_incidents(path, GoldFile.read(path), schema) for path in files}
