"""Read the project's alias table (``schemas/aliases.yaml``): ``canonical name: [variant, ...]``."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import RootModel, ValidationError

from llmx.core.normalize import Aliases
from llmx.errors import ConfigError
from llmx.runs.files import read_text


class _AliasFile(RootModel[dict[str, list[str]]]):
    pass


def load_aliases(path: Path | None) -> Aliases:
    if path is None or not path.is_file():
        return Aliases()
    try:
        data = yaml.safe_load(read_text(path, "the aliases file")) or {}
        groups = _AliasFile.model_validate(data).root
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    except ValidationError as error:
        raise ConfigError(
            f"{path}: expected `canonical name: [variant, ...]` entries ({error.errors()[0]['msg']})"
        ) from error
    return Aliases.from_mapping(groups)
