"""Load a schema module from ``schemas/<name>.py`` and describe it for the rest of llmx.

A schema module defines ``Extraction``, a pydantic model with one list field whose items are the
records (incidents, templates...). How ``llmx score`` compares each record field is declared on
the field itself: ``json_schema_extra={"llmx": {"match": "alias", "threshold": 80}}``.

Importing a schema runs its code, so only two kinds of schema are ever imported: one of the
project's (a name in ``schemas_dir``, from the config or the command line) and a file the user
names on the command line. A run folder is data people send each other: the schema it names
(:func:`load_recorded_schema`) must be a plain name of the project's ``schemas_dir`` whose file
still has the sha256 the run recorded, never a path it chose.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from llmx.core.event_rules import EventRule, build_rule
from llmx.core.fields import MATCH_KINDS, FieldSpec, MatchKind
from llmx.core.verify import VerifySpec, parse_verify
from llmx.errors import SchemaError
from llmx.model.strict_schema import check_strict, inline_sibling_refs


@dataclass(frozen=True)
class SchemaSpec:
    name: str
    path: Path
    sha256: str
    response_model: type[BaseModel]
    list_field: str
    record_model: type[BaseModel]
    fields: dict[str, FieldSpec]
    descriptions: dict[str, str] = field(default_factory=dict)
    verify: dict[str, VerifySpec] = field(default_factory=dict)  # field → its declared article check
    event: EventRule | None = None  # when two reports are one event (llmx events); None: not declared

    @property
    def evidence_field(self) -> str | None:
        return "evidence" if "evidence" in self.record_model.model_fields else None

    def json_schema(self, strict: bool = False) -> dict[str, Any]:
        """The schema the model sees: every property required, no llmx keys, no extras. Under
        ``strict`` it is checked against strict structured outputs' rules first: a schema that
        breaks one is a :class:`SchemaError` naming this file, before any request."""
        schema = model_schema_for_llm(self.response_model, strict)
        if strict:
            check_strict(schema, _shown(self.path))
        return schema


# A schema name as a run records it: a file stem of schemas_dir, never a path.
_SCHEMA_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


def load_schema(name: str, schemas_dir: Path) -> SchemaSpec:
    """A schema of the project (a name in ``schemas_dir``) or a ``.py`` file the user named in the
    config or on the command line. Never call it with a name read from a run folder: that is
    :func:`load_recorded_schema`."""
    path = (schemas_dir / f"{name}.py") if not name.endswith(".py") else Path(name)
    if not path.is_file():
        raise SchemaError(f"unknown schema '{name}': no {path}; known schemas: {_known(schemas_dir)}")
    source = _read_source(path)
    module = _import_file(path)
    response_model = getattr(module, "Extraction", None)
    if not (isinstance(response_model, type) and issubclass(response_model, BaseModel)):
        raise SchemaError(
            f"{path}: defines no pydantic model named 'Extraction'; add one whose one list field holds the records"
        )
    list_field, record_model = _record_field(path, response_model)
    fields = {name: _field_spec(path, name, info) for name, info in record_model.model_fields.items()}
    verify = _verify_specs(path, record_model)
    descriptions = {name: info.description or "" for name, info in record_model.model_fields.items()}
    return SchemaSpec(
        name=path.stem,
        path=path,
        sha256=hashlib.sha256(source).hexdigest(),
        response_model=response_model,
        list_field=list_field,
        record_model=record_model,
        fields=fields,
        descriptions=descriptions,
        verify=verify,
        event=_event_rule(path, module, record_model),
    )


def load_recorded_schema(name: str, sha256: str | None, schemas_dir: Path, where: Path) -> SchemaSpec:
    """The schema a run folder (``where``) says it was extracted with: only a plain name of the
    project's ``schemas_dir`` is loaded, and only when that file still has the run's sha256 (an
    empty hash, as hand-made results have, is not checked). A path, ``..`` or another hash is a
    :class:`SchemaError` saying to name the schema on the command line (``--schema``)."""
    if not _SCHEMA_NAME.fullmatch(name):
        raise SchemaError(
            f"{where}: names schema {name!r}, which is not a schema name of this project; llmx only imports "
            f"schemas from {schemas_dir} or one you name: pass --schema NAME_OR_PATH"
        )
    path = schemas_dir / f"{name}.py"
    if not path.is_file():
        raise SchemaError(
            f"{where}: was extracted with schema '{name}', and {schemas_dir} has no {name}.py "
            f"(known schemas: {_known(schemas_dir)}); pass --schema NAME_OR_PATH"
        )
    digest = hashlib.sha256(_read_source(path)).hexdigest()
    if sha256 and digest != sha256:
        raise SchemaError(
            f"{where}: was extracted with schema '{name}' sha256 {sha256[:12]}…, but {_shown(path)} is now "
            f"{digest[:12]}…; to use the schema as it is now pass --schema {name}, or --schema PATH for another file"
        )
    return load_schema(name, schemas_dir)


def _known(schemas_dir: Path) -> str:
    try:
        known = sorted(p.stem for p in schemas_dir.glob("*.py") if not p.stem.startswith("_"))
    except OSError:
        known = []
    return ", ".join(known) or "none"


def _read_source(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise SchemaError(f"{path}: cannot read the schema ({error.strerror})") from error


def _import_file(path: Path) -> types.ModuleType:
    module_name = f"llmx_user_schema_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise SchemaError(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # pydantic resolves forward references through sys.modules
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # a user's file can raise anything, sys.exit() included
        sys.modules.pop(module_name, None)
        line = _failing_line(error, path)
        said = " ".join(str(error).split())  # a YAML or JSON error spans lines: one line here
        raise SchemaError(f"{path}: failed to import: {type(error).__name__}: {said}{line}") from error
    return module


def _record_field(path: Path, model: type[BaseModel]) -> tuple[str, type[BaseModel]]:
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if typing.get_origin(annotation) is list:
            (item,) = typing.get_args(annotation)
            if isinstance(item, type) and issubclass(item, BaseModel):
                return name, item
    raise SchemaError(f"{path}: Extraction has no list-of-models field; add e.g. `incidents: list[Incident]`")


def _field_spec(path: Path, name: str, info: Any) -> FieldSpec:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    declared = dict(extra.get("llmx") or {})
    declared.pop("verify", None)  # read by _verify_specs
    declared.pop("event", None)  # read by _event_rule
    match = declared.pop("match", None) or _default_match(info.annotation)
    if match not in MATCH_KINDS:
        raise SchemaError(f"{path}: field '{name}' has match '{match}'; use one of {', '.join(MATCH_KINDS)}")
    try:
        return FieldSpec(name=name, match=match, **declared)
    except TypeError as error:
        raise SchemaError(f"{path}: field '{name}': bad llmx options {declared}: {error}") from error


def _failing_line(error: BaseException, path: Path) -> str:
    """`` (at line N)``: where importing the schema file failed (its last frame in the file)."""
    import traceback

    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename) == path]
    return f" (at line {frames[-1].lineno})" if frames else ""


def _verify_specs(path: Path, record_model: type[BaseModel]) -> dict[str, VerifySpec]:
    """Each field's ``verify`` declaration; a bad one, or one naming a missing field, is a SchemaError."""
    specs: dict[str, VerifySpec] = {}
    for name, info in record_model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        llmx = extra.get("llmx")
        try:
            spec = parse_verify(name, llmx.get("verify") if isinstance(llmx, dict) else None)
        except ValueError as error:
            raise SchemaError(f"{path}: field '{name}': {error}") from error
        if spec is None:
            continue
        missing = [other for other in spec.references if other not in record_model.model_fields]
        if missing:
            raise SchemaError(f"{path}: field '{name}': verify names no such field {', '.join(map(repr, missing))}")
        specs[name] = spec
    return specs


def _event_rule(path: Path, module: types.ModuleType, record_model: type[BaseModel]) -> EventRule | None:
    """The event rule: the module's ``EVENT = {field: {...}}`` and each field's ``"event"`` key."""
    module_rule = getattr(module, "EVENT", None) or {}
    if not isinstance(module_rule, dict):
        raise SchemaError(f"{path}: EVENT must be a dict {{field: {{'agree': ..., 'fuse': ...}}}}")
    declared = dict(module_rule)
    for name, info in record_model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        llmx = extra.get("llmx")
        if isinstance(llmx, dict) and "event" in llmx:
            if name in declared:
                raise SchemaError(f"{path}: field '{name}' declares its event rule twice (EVENT and the field)")
            declared[name] = llmx["event"]
    if not declared:
        return None
    try:
        return build_rule(declared, list(record_model.model_fields))
    except ValueError as error:
        raise SchemaError(f"{path}: {error}") from error


def _default_match(annotation: Any) -> MatchKind:
    kinds = {arg for arg in typing.get_args(annotation) if arg is not type(None)} or {annotation}
    if kinds <= {int, float}:
        return "number"
    if kinds <= {bool} or any(isinstance(k, type) and issubclass(k, Enum) for k in kinds):
        return "exact"
    return "fuzzy"


def model_schema_for_llm(model: type[BaseModel], strict: bool = False) -> dict[str, Any]:
    schema = copy.deepcopy(model.model_json_schema())
    _tighten(schema, strict)
    if strict:
        schema = inline_sibling_refs(schema, schema.get("$defs") or {})
    return schema


def _tighten(node: Any, strict: bool, is_name_map: bool = False) -> None:
    """No llmx keys; every object closed to extra fields.

    Without ``strict`` a default is dropped and its field made required: what the seed cassettes
    were recorded with, and what a grammar server needs (it lets a model skip an optional field).
    Under ``strict`` nothing the user wrote is changed silently: a default stays, and the strict
    check refuses it with the fix, since a field the model must always fill has no default."""
    if isinstance(node, dict):
        if not is_name_map:  # keys of `properties` / `$defs` are field names, not keywords
            node.pop("llmx", None)
            if node.get("type") == "object" and "properties" in node:
                if strict:
                    node.setdefault("additionalProperties", False)  # extra='allow' stays, and is refused
                else:
                    node.pop("default", None)
                    node["required"] = list(node["properties"])
                    node["additionalProperties"] = False
            elif not strict:
                node.pop("default", None)
        for key, value in node.items():
            _tighten(value, strict, is_name_map=not is_name_map and key in ("properties", "$defs"))
    elif isinstance(node, list):
        for value in node:
            _tighten(value, strict)


def _shown(path: Path) -> str:
    """A schema file as the user would type it: relative to where they are, when it is below."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
