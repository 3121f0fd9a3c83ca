"""Stubs of real providers on 127.0.0.1: the plain :class:`StubServer` takes any request; these
refuse what their provider refuses, with the provider's own error bodies, so a test shows that
llmx's requests pass the real thing's rules and that its errors are read right.

- :class:`OpenAIStub`: Bearer auth, ``/v1/chat/completions``; strict structured outputs check
  the schema (as OpenAI words its 400s); reasoning models (o1, o3, o4, gpt-5) refuse
  ``max_tokens`` and any temperature but 1; usage carries cached and reasoning tokens.
- :class:`AzureOpenAIStub`: the same models behind ``/openai/deployments/{name}/chat/completions
  ?api-version=...`` with the key in an ``api-key`` header.
- :class:`OllamaStub` (``/v1`` of ``ollama serve``) and :class:`VLLMStub` (``vllm serve``): only
  the models they serve; any schema, ``strict`` ignored (their grammar always applies).

The rules are written here from the providers' documentation, independently of
:mod:`llmx.model.strict_schema`, so the two can disagree and a test can notice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from llmx.testing.fake_model import Reply
from llmx.testing.stub_server import StubServer

Refusal = tuple[int, Any]
# Keywords OpenAI's strict mode answers "'<keyword>' is not permitted" for (fine-tuned models'
# documented list, which Azure's documentation repeats).
NOT_PERMITTED = {
    "default",
    *("minLength", "maxLength", "pattern", "format"),
    *("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
    *("patternProperties", "unevaluatedProperties", "propertyNames", "minProperties", "maxProperties"),
    *("unevaluatedItems", "contains", "minContains", "maxContains", "minItems", "maxItems", "uniqueItems"),
    *("allOf", "oneOf", "not", "if", "then", "else", "dependentRequired", "dependentSchemas"),
}
REASONING_FAMILIES = ("o1", "o3", "o4", "gpt-5")


def openai_error(message: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


def strict_schema_error(schema: Any, context: tuple[str, ...] = ()) -> str | None:
    """The first rule of strict mode ``schema`` breaks, in OpenAI's words, or None."""
    if not isinstance(schema, dict):
        return None
    where = f"In context={context}, "
    if "$ref" in schema and len(schema) > 1:
        return f"context={context}, $ref cannot have keywords {set(schema) - {'$ref'}}."
    for keyword in schema:
        if keyword in NOT_PERMITTED:
            return f"{where}'{keyword}' is not permitted."
    properties = schema.get("properties")
    if isinstance(properties, dict):
        if schema.get("additionalProperties") is not False:
            return f"{where}'additionalProperties' is required to be supplied and to be false."
        missing = [name for name in properties if name not in (schema.get("required") or [])]
        if missing:
            return (
                f"{where}'required' is required to be supplied and to be an array including every key in "
                f"properties. Missing '{missing[0]}'."
            )
    for place, child in _subschemas(schema, context):
        problem = strict_schema_error(child, place)
        if problem:
            return problem
    return None


def _subschemas(schema: dict[str, Any], context: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    """The schemas nested in ``schema`` (fields, definitions, items, alternatives), each with its path."""
    children: list[tuple[tuple[str, ...], Any]] = []
    properties = schema.get("properties")
    for name, child in (properties if isinstance(properties, dict) else {}).items():
        children.append(((*context, "properties", name), child))
    for name, child in (schema.get("$defs") or {}).items():
        children.append(((*context, "$defs", name), child))
    if isinstance(schema.get("items"), dict):
        children.append(((*context, "items"), schema["items"]))
    for number, child in enumerate(schema.get("anyOf") or []):
        children.append(((*context, "anyOf", str(number)), child))
    return children


@dataclass
class OpenAIStub(StubServer):
    """api.openai.com's chat completions, as far as llmx uses them."""

    cached_tokens: int = 0  # usage.prompt_tokens_details.cached_tokens of every answer
    reasoning_tokens: int = 0  # usage.completion_tokens_details.reasoning_tokens, reasoning models only
    models: dict[str, str] = field(default_factory=dict)  # name sent → model it is (Azure: deployments)

    def model_of(self, path: str, body: dict[str, Any]) -> str:
        name = str(body.get("model"))
        return self.models.get(name, name)

    def is_reasoning(self, model: str) -> bool:
        return model.lower().startswith(REASONING_FAMILIES)

    def refuse(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Refusal | None:
        if urlsplit(path).path != "/v1/chat/completions":
            return 404, openai_error(f"Invalid URL (POST {urlsplit(path).path})")
        if not headers.get("authorization", "").startswith("Bearer "):
            return 401, openai_error("You didn't provide an API key.")
        return self.refuse_request(self.model_of(path, body), body)

    def refuse_request(self, model: str, body: dict[str, Any]) -> Refusal | None:
        if self.is_reasoning(model):
            if "max_tokens" in body:
                message = (
                    "Unsupported parameter: 'max_tokens' is not supported with this model. "
                    "Use 'max_completion_tokens' instead."
                )
                return 400, openai_error(message, "max_tokens", "unsupported_parameter")
            if body.get("temperature", 1) != 1:
                message = (
                    f"Unsupported value: 'temperature' does not support {body['temperature']} with this model. "
                    "Only the default (1) value is supported."
                )
                return 400, openai_error(message, "temperature", "unsupported_value")
        fmt = body.get("response_format") or {}
        spec = fmt.get("json_schema") if isinstance(fmt, dict) else None
        if isinstance(spec, dict) and spec.get("strict") is True:
            schema = spec.get("schema")
            problem: str | None
            if not isinstance(schema, dict) or schema.get("type") != "object" or "anyOf" in schema:
                kind = schema.get("type") if isinstance(schema, dict) else None
                problem = f"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{kind}\"'."
            else:
                problem = strict_schema_error(schema)
            if problem:
                message = f"Invalid schema for response_format '{spec.get('name')}': {problem}"
                return 400, openai_error(message, "response_format")
        for number, tool in enumerate(body.get("tools") or []):
            function = tool.get("function") or {}
            problem = strict_schema_error(function.get("parameters")) if function.get("strict") is True else None
            if problem:
                message = f"Invalid schema for function '{function.get('name')}': {problem}"
                return 400, openai_error(message, f"tools[{number}].function.parameters")
        return None

    def completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        answer = super().completion(body, reply)
        reasoning = self.reasoning_tokens if self.is_reasoning(str(body.get("model"))) else 0
        usage = answer["usage"]
        usage["completion_tokens"] += reasoning
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        usage["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens, "audio_tokens": 0}
        usage["completion_tokens_details"] = {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        }
        for choice in answer["choices"]:
            choice["message"].setdefault("refusal", None)
            choice["message"]["annotations"] = []
        return {**answer, "service_tier": "default", "system_fingerprint": "fp_stub"}


AZURE_PATH = re.compile(r"^/openai/deployments/(?P<deployment>[^/]+)/chat/completions$")


@dataclass
class AzureOpenAIStub(OpenAIStub):
    """An Azure OpenAI resource: ``models`` maps each deployment to the model behind it."""

    models: dict[str, str] = field(default_factory=lambda: {"extractor": "gpt-4o-mini"})

    def __post_init__(self) -> None:
        super().__post_init__()
        self.base_url = f"http://127.0.0.1:{self.port}/openai"

    def model_of(self, path: str, body: dict[str, Any]) -> str:
        match = AZURE_PATH.match(urlsplit(path).path)
        return self.models.get(match["deployment"], "") if match else ""

    def is_reasoning(self, model: str) -> bool:
        return super().is_reasoning(self.models.get(model, model))

    def refuse(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Refusal | None:
        parts = urlsplit(path)
        match = AZURE_PATH.match(parts.path)
        if not match or not parse_qs(parts.query).get("api-version"):
            return 404, {"error": {"code": "404", "message": "Resource not found"}}
        if not headers.get("api-key"):
            message = (
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
                "valid key for an active subscription and use a correct regional API endpoint for your resource."
            )
            return 401, {"error": {"code": "401", "message": message}}
        if match["deployment"] not in self.models:
            message = "The API deployment for this resource does not exist."
            return 404, {"error": {"code": "DeploymentNotFound", "message": message}}
        return self.refuse_request(self.models[match["deployment"]], body)

    def completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        answer = super().completion(
            {**body, "model": self.models.get(str(body.get("model")), body.get("model"))}, reply
        )
        return {**answer, "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]}


@dataclass
class OllamaStub(StubServer):
    """``ollama serve``'s OpenAI-compatible ``/v1``: the pulled models only."""

    pulled: tuple[str, ...] = ("qwen2.5:7b",)

    def refuse(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Refusal | None:
        if urlsplit(path).path != "/v1/chat/completions":
            return 404, b"404 page not found"
        if body.get("model") not in self.pulled:
            message = f'model "{body.get("model")}" not found, try pulling it first'
            return 404, {"error": {"message": message, "type": "api_error", "param": None, "code": None}}
        return None

    def completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        return {**super().completion(body, reply), "system_fingerprint": "fp_ollama"}


@dataclass
class VLLMStub(StubServer):
    """``vllm serve MODEL``: one served model name, errors in vLLM's own top-level shape."""

    served_model_name: str = "Qwen/Qwen2.5-7B-Instruct"

    def refuse(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Refusal | None:
        if urlsplit(path).path != "/v1/chat/completions":
            return 404, {"detail": "Not Found"}
        if body.get("model") != self.served_model_name:
            message = f"The model `{body.get('model')}` does not exist."
            return 404, {"object": "error", "message": message, "type": "NotFoundError", "param": None, "code": 404}
        return None

    def completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        answer = super().completion(body, reply)
        answer["usage"]["prompt_tokens_details"] = None
        return answer
