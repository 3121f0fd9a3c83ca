"""Project defaults from ``[tool.llmx]`` in ``pyproject.toml`` (or a top-level ``llmx.toml``).

Command-line options override these; relative paths are taken from the config file's folder,
so ``llmx extract seeds/`` works the same from any subfolder of the project.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llmx.errors import ConfigError

Mode = Literal["json_schema", "tools", "md_json"]


class Price(BaseModel):
    """USD per million tokens, for the cost line of ``llmx score``."""

    model_config = ConfigDict(extra="forbid")

    prompt: float = Field(ge=0)
    completion: float = Field(ge=0)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = "gpt-4o-mini"
    prompt: str = "incident"
    schema_name: str = Field("incident", alias="schema")
    mode: Mode = "json_schema"
    concurrency: int = Field(4, ge=1, le=1024)
    temperature: float = 0.0
    max_tokens: int = Field(2048, ge=1)
    seed: int | None = None
    reasks: int = Field(2, ge=0, le=10, description="re-asks after invalid or ungrounded output")
    max_attempts: int = Field(5, ge=1, le=20, description="tries per request on transient errors")
    max_wait: float = Field(60.0, ge=0, description="longest single back-off, Retry-After included")
    timeout: float = Field(300.0, gt=0, description="seconds per request")
    max_article_chars: int = Field(24_000, ge=100, description="longer articles are refused")
    prompts_dir: Path = Path("prompts")
    schemas_dir: Path = Path("schemas")
    cassettes: Path = Path("cassettes")
    runs_dir: Path = Path("runs")
    gold: Path = Path("gold")
    aliases: Path = Path("schemas/aliases.yaml")
    extra_body: dict[str, Any] = Field(default_factory=dict, description="sent with every live request")
    prices: dict[str, Price] = Field(default_factory=dict, description="model name → USD per million tokens")


PATH_FIELDS = ("prompts_dir", "schemas_dir", "cassettes", "runs_dir", "gold", "aliases")


def find_config(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        for name in ("llmx.toml", "pyproject.toml"):
            candidate = folder / name
            if candidate.is_file() and (name == "llmx.toml" or "[tool.llmx" in candidate.read_text(errors="replace")):
                return candidate
    return None


def load_settings(start: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    start = (start or Path.cwd()).resolve()
    path = find_config(start)
    raw: dict[str, Any] = {}
    root = start
    if path is not None:
        root = path.parent
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: not valid TOML: {error}") from error
        raw = data if path.name == "llmx.toml" else data.get("tool", {}).get("llmx", {})
    raw.update({key: value for key, value in (overrides or {}).items() if value is not None})
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{path or 'options'}: '{where}': {first['msg']}") from error
    for name in PATH_FIELDS:
        value = getattr(settings, name)
        if not value.is_absolute() and name not in (overrides or {}):
            setattr(settings, name, root / value)
    return settings
