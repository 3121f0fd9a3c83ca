"""Read the project's alias table (``schemas/aliases.yaml``: ``canonical name: [variant, ...]``)
and its actor vocabulary (``schemas/actors.yaml``: actors, roles, not_actors; see
:mod:`llmx.core.actors`)."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, RootModel, ValidationError

from llmx.core.actors import ActorVocabulary
from llmx.core.normalize import Aliases
from llmx.errors import ConfigError
from llmx.runs.files import read_text


class _AliasFile(RootModel[dict[str, list[str]]]):
    pass


ACTORS_FILE = "actors.yaml"
M = TypeVar("M", bound=BaseModel)


class _ActorFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actors: dict[str, list[str]] = {}
    roles: list[str] = []
    not_actors: dict[str, list[str]] = {}


def load_aliases(path: Path | None, actors: Path | None = None) -> Aliases:
    """The alias table, with the actor vocabulary when ``actors`` (default: ``actors.yaml``
    beside the aliases file) exists."""
    if actors is None and path is not None:
        actors = path.parent / ACTORS_FILE
    groups = _read(path, _AliasFile, "`canonical name: [variant, ...]` entries").root if path and path.is_file() else {}
    vocabulary = None
    if actors is not None and actors.is_file():
        found = _read(actors, _ActorFile, "`actors:`, `roles:` and `not_actors:` sections (see schemas/actors.yaml)")
        vocabulary = ActorVocabulary.from_mapping(found.actors, found.roles, found.not_actors)
    return Aliases.from_mapping(groups, vocabulary)


def _read(path: Path, model: type[M], expected: str) -> M:
    try:
        data = yaml.safe_load(read_text(path, "the aliases file")) or {}
        return model.model_validate(data)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(
            f"{path}: expected {expected} ({where}: {first['msg']}; quote words YAML reads as "
            'booleans or null, such as "on", "no", "null")'
        ) from error
