"""Project defaults from ``[tool.llmx]`` in ``pyproject.toml`` (or a top-level ``llmx.toml``).

Command-line options override these. Relative paths from the config file are taken from the
config file's folder, so ``llmx extract seeds/`` finds the project's cassettes, prompts and gold
wherever in the project you are; relative paths given on the command line are taken from there.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from llmx.core.modes import KEYED_REQUEST_FIELDS, OUTPUT_MODES, STRATEGIES
from llmx.errors import ConfigError
from llmx.model.params import ModelFamily
from llmx.runs.costs import Price
from llmx.runs.files import read_text


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)  # nan: never a setting

    model: str = "gpt-4o-mini"
    prompt: str = "incident"
    schema_name: str = Field("incident", alias="schema")
    mode: str = "json_schema"
    strategy: str = Field(
        "single",
        description="single (one request per article), evidence (records with the sentences they rest on), "
        "or two_pass (single + recall)",
    )
    recall_prompt: str | None = Field(None, description="the two_pass recall template (default <prompt>_recall)")
    concurrency: int = Field(4, ge=1, le=1024)
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int = Field(2048, ge=1)
    seed: int | None = None
    logprobs: bool = Field(
        True, description="ask for the token log-probabilities of each answer (kept in cassettes; confidence uses them)"
    )
    reasks: int = Field(2, ge=0, le=10, description="re-asks after invalid, ungrounded or unsupported output")
    verify_reasks: int = Field(
        0, ge=0, le=10, description="of the re-asks, how many may ask to fix values the article does not support"
    )
    max_attempts: int = Field(5, ge=1, le=20, description="tries per request on transient errors")
    max_wait: float = Field(60.0, ge=0, description="longest single back-off, Retry-After included")
    timeout: float = Field(180.0, gt=0, description="seconds per request")
    article_timeout: float = Field(900.0, gt=0, description="seconds per article, every request and re-ask included")
    max_article_chars: int = Field(
        1_000_000, ge=100, description="a longer article fails alone (too_long); the rest of the run goes on"
    )
    context_tokens: int = Field(8192, ge=1024, description="the model's context window: no request is sized past it")
    chunk_tokens: int = Field(
        1500, ge=100, description="evidence strategy: most article tokens one marking request reads"
    )
    check_scope: int | str = Field(
        3, description="checks read a record's sentences and this many neighbours either side, or 'article'"
    )
    prompts_dir: Path = Path("prompts")
    schemas_dir: Path = Path("schemas")
    cassettes: Path = Path("cassettes")
    # folder: a readable file per request (fixtures in git); sqlite: one file for large runs (bench/STORE.md)
    cassette_store: Literal["folder", "sqlite"] = Field("folder", description="how cassettes are kept")
    runs_dir: Path = Path("runs")
    gold: Path = Path("gold")
    aliases: Path = Path("schemas/aliases.yaml")
    calibration: Path = Field(
        Path("calibration.json"), description="confidences as probabilities (llmx calibrate writes it; none: raw)"
    )
    # Strict structured outputs. Why the flag is in the cassette key, set here, and on by default:
    # - In the key: with it OpenAI decodes to the schema, without it the schema is a hint; an
    #   answer recorded one way is not the answer to the other request. Off, it adds nothing to
    #   the request, so every key recorded before it existed still holds.
    # - A setting, not guessed from the endpoint ("on for api.openai.com"): replay has no endpoint,
    #   and must rebuild exactly the request that was recorded, so the choice lives in the config
    #   that recording and replay share.
    # - On by default, since current API models want it; grammar servers (llama.cpp, vLLM, Ollama)
    #   ignore it. A project whose cassettes were recorded without it (this repository's seeds)
    #   says strict = false in its config.
    strict: bool = Field(True, description="strict structured outputs: the server follows the schema exactly")
    model_params: dict[str, ModelFamily] = Field(
        default_factory=dict, description="model name pattern → parameters its family takes (see llmx.model.params)"
    )
    api_version: str | None = Field(None, description="Azure OpenAI api-version; set, llmx speaks Azure OpenAI")
    extra_body: dict[str, Any] = Field(default_factory=dict, description="sent with every live request")
    prices: dict[str, Price] = Field(default_factory=dict, description="model name → USD per million tokens")
    max_cost: float | None = Field(None, gt=0, description="USD this run folder may spend; then no new article starts")
    batch_poll_seconds: float = Field(30.0, gt=0, description="how often --batch asks whether a batch is done")
    # The columns of a table corpus (CSV, TSV, Parquet, JSONL) that hold each part of an article.
    id_column: str = Field("id", min_length=1, description="the column of a table corpus that holds the article id")
    text_column: str = Field("text", min_length=1, description="the column that holds the article text")
    date_column: str = Field("date", min_length=1, description="the column that holds the publication date")
    title_column: str = Field("title", min_length=1, description="the column that holds the headline")

    @field_validator("mode")
    @classmethod
    def _known_mode(cls, value: str) -> str:
        if value not in OUTPUT_MODES:
            raise ValueError(f"unknown mode {value!r}; use one of {', '.join(OUTPUT_MODES)}")
        return value

    @field_validator("extra_body")
    @classmethod
    def _nothing_keyed(cls, value: dict[str, Any]) -> dict[str, Any]:
        """A keyed field set here would be sent while cassettes and the recipe say otherwise."""
        keyed = [key for key in value if key in KEYED_REQUEST_FIELDS]
        if keyed:
            raise ValueError(
                f"may not set {keyed[0]!r}: it is part of every request llmx sends, keys and records; "
                f"set it with its own setting (model, temperature, max_tokens, mode...) instead"
            )
        return value

    @field_validator("check_scope")
    @classmethod
    def _known_scope(cls, value: int | str) -> int | str:
        if value != "article" and not (isinstance(value, int) and 0 <= value <= 20):
            raise ValueError(f"check_scope must be 'article' or a number of sentences from 0 to 20, not {value!r}")
        return value

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        if value not in STRATEGIES:
            raise ValueError(f"unknown strategy {value!r}; use one of {', '.join(STRATEGIES)}")
        return value

    @property
    def kept_folders(self) -> dict[str, Path]:
        """The folders that hold the project's own files: no run is written into one."""
        return {
            "gold": self.gold,
            "cassettes": self.cassettes,
            "prompts": self.prompts_dir,
            "schemas": self.schemas_dir,
        }


PATH_FIELDS = ("prompts_dir", "schemas_dir", "cassettes", "runs_dir", "gold", "aliases", "calibration")


def find_config(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        for name in ("llmx.toml", "pyproject.toml"):
            candidate = folder / name
            if candidate.is_file() and (name == "llmx.toml" or "[tool.llmx" in read_text(candidate, "the config")):
                return candidate
    return None


def load_settings(
    start: Path | None = None, overrides: dict[str, Any] | None = None, require_project: bool = False
) -> Settings:
    """Config file values, then the options given on the command line (``None`` = not given).
    With ``require_project``, a folder with no config here or above is an error saying to run ``llmx init``."""
    start = (start or Path.cwd()).resolve()
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    path = find_config(start)
    if path is None and require_project:
        raise ConfigError(
            f"{start}: not an llmx project (no llmx.toml, nor a pyproject.toml with [tool.llmx], here or above); "
            "run `llmx init` to start one here, or cd into your project"
        )
    raw: dict[str, Any] = {}
    root = start
    if path is not None:
        root = path.parent
        try:
            data = tomllib.loads(read_text(path, "the config"))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: not valid TOML: {error}") from error
        raw = data if path.name == "llmx.toml" else data.get("tool", {}).get("llmx", {})
    _check_options(given)
    try:
        settings = Settings.model_validate({**raw, **given})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{path or 'settings'}: '{where}': {_message(first)}", where) from error
    explicit = set(settings.model_fields_set)  # what the config or the options set (not the defaults)
    for name in PATH_FIELDS:
        value = getattr(settings, name)
        if not value.is_absolute():
            setattr(settings, name, (Path.cwd() if name in given else root) / value)
    object.__setattr__(settings, "__pydantic_fields_set__", explicit)
    if "aliases" in explicit and not settings.aliases.is_file():
        raise ConfigError(
            f"{path or 'settings'}: 'aliases': {settings.aliases}: no such file; create it or remove the setting",
            "aliases",
        )
    return settings


OPTION_NAMES = {"batch_poll_seconds": "--poll"}  # settings whose option is spelled otherwise


def _check_options(given: dict[str, Any]) -> None:
    """Blame a bad command-line value on its option, not on the config file."""
    fields = Settings.model_fields
    for name, value in given.items():
        key = "schema_name" if name == "schema" else name
        if key not in fields:
            continue
        try:
            Settings.__pydantic_validator__.validate_assignment(Settings.model_construct(), key, value)
        except ValidationError as error:
            option = OPTION_NAMES.get(name, "--" + name.replace("_", "-"))
            raise ConfigError(f"{option} {value}: {_message(error.errors()[0])}", option) from error


def _message(error: Any) -> str:
    """pydantic's message without its "Value error, " prefix."""
    return str(error["msg"]).removeprefix("Value error, ")
