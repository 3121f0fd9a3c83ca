"""Which generation parameters a model takes, by model family: one small table, pure.

OpenAI's reasoning models (o1, o3, o4-mini, gpt-5...) refuse ``max_tokens`` (they want
``max_completion_tokens``, which also bounds the hidden reasoning) and take only their default
temperature; every other chat model llmx meets takes both as they are. The family is read from
the model name alone, never from the endpoint: a run recorded against the API must rebuild the
very same request (and so the same cassette key) when it is replayed with no endpoint at all.

A model the table gets wrong (an Azure deployment name, a new family) is set in the config, and
those entries come first:

    [tool.llmx.model_params]
    "my-o3-deployment" = { token_limit = "max_completion_tokens", temperature = false }
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

TokenLimit = Literal["max_tokens", "max_completion_tokens"]


class ModelFamily(BaseModel):
    """The parameter names and values one family of models accepts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token_limit: TokenLimit = "max_tokens"  # the name the output-token limit is sent under
    temperature: bool = True  # false: only the model's default is allowed, so none is sent
    logprobs: bool = True  # false: the family refuses token log-probabilities, so none are asked for


REASONING = ModelFamily(token_limit="max_completion_tokens", temperature=False, logprobs=False)
CHAT = ModelFamily()

# pattern (fnmatch, case-insensitive) → family; the first match wins, "*" catches the rest.
BUILT_IN: tuple[tuple[str, ModelFamily], ...] = (
    ("o1*", REASONING),
    ("o3*", REASONING),
    ("o4*", REASONING),
    ("gpt-5*", REASONING),
    ("*", CHAT),
)


def family_for(model: str, overrides: Mapping[str, ModelFamily] | None = None) -> tuple[str, ModelFamily]:
    """The pattern that matched and its family. Config entries are tried before the built-in
    table. A provider prefix ("openai/o3-mini", as routers spell it) is looked through."""
    names = {model.lower(), model.rsplit("/", 1)[-1].lower()}
    for pattern, family in (*(overrides or {}).items(), *BUILT_IN):
        if any(fnmatch.fnmatchcase(name, pattern.lower()) for name in names):
            return pattern, family
    return "*", CHAT  # unreachable while BUILT_IN ends with "*"; kept for a table edited later


def generation_params(
    model: str,
    temperature: float,
    max_tokens: int,
    seed: int | None = None,
    overrides: Mapping[str, ModelFamily] | None = None,
    logprobs: bool = False,
) -> dict[str, Any]:
    """The generation parameters sent to ``model`` (and so part of its cassette keys)."""
    _, family = family_for(model, overrides)
    params: dict[str, Any] = {}
    if family.temperature:
        params["temperature"] = temperature
    params[family.token_limit] = max_tokens
    if seed is not None:
        params["seed"] = seed
    if logprobs and family.logprobs:  # the answer's token log-probabilities: what confidence is made from
        params["logprobs"] = True
    return params


def setting_for(param: str, model: str) -> str:
    """The config key that changes ``param``, for an error that names the parameter the server refused."""
    root = param.split(".", 1)[0].split("[", 1)[0]
    entry = f'[tool.llmx.model_params] "{model}"'
    if root in ("max_tokens", "max_completion_tokens"):
        other = "max_completion_tokens" if root == "max_tokens" else "max_tokens"
        return f'{entry} = {{ token_limit = "{other}" }} in the config'
    if root == "temperature":
        return f"{entry} = {{ temperature = false }} in the config (or another temperature)"
    if root in ("response_format", "tools", "tool_choice"):
        return "strict = false in [tool.llmx] (or --no-strict), or another --mode"
    if root == "seed":
        return "seed in [tool.llmx]"
    return "extra_body in [tool.llmx]"
