"""Request-level cassettes: what one is, its key, and what a miss changed.

The key is the sha256 of the canonical request: model, messages, response schema (or tools),
mode and generation parameters. Only an allow-list of request fields is ever stored, so headers,
API keys and transport hints cannot reach a cassette. Where cassettes are kept is a backend
(:mod:`llmx.cassettes.backend`): one readable file per request (:mod:`llmx.cassettes.folder`,
for fixtures) or one SQLite file for large runs (:mod:`llmx.cassettes.sqlite_store`).

On a miss in strict replay, :func:`describe_change` compares the request with the nearest
recorded one for the same article and attempt, and names what changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from llmx.core.modes import GENERATION_PARAMS
from llmx.core.redact import public_url
from llmx.errors import CassetteError

CASSETTE_VERSION = 1
# replay: answers come only from cassettes; record: every request is sent and recorded;
# auto: replay what is recorded, send and record the rest.
CassettePolicy = Literal["replay", "record", "auto"]
# What identifies a request (GENERATION_PARAMS, in llmx.core.modes). Everything else a client
# sends (headers, keys, extra_body transport hints such as llama.cpp's cache_prompt) stays out
# of the key and the file; extra_body may not set a keyed field (llmx.inputs.config).


class Cassette(BaseModel):
    version: int = CASSETTE_VERSION
    key: str
    article_id: str
    attempt: int
    recorded_at: str
    latency_s: float
    served_by: dict[str, str] = {}
    request: dict[str, Any]
    response: dict[str, Any]


def allowed_response(body: dict[str, Any]) -> dict[str, Any]:
    """Only the response fields replay needs. A server that echoes headers (and so the API key)
    in an extra field must not get it into a cassette that is committed."""
    kept: dict[str, Any] = {k: body[k] for k in ("id", "object", "created", "model") if k in body}
    choices = []
    for choice in body.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        raw = choice.get("message")
        message: dict[str, Any] = raw if isinstance(raw, dict) else {}
        kept_choice: dict[str, Any] = {
            "index": choice.get("index", 0),
            "message": {k: message[k] for k in ("role", "content", "tool_calls", "refusal") if k in message},
            "finish_reason": choice.get("finish_reason"),
        }
        tokens = token_logprobs(choice)
        if tokens is not None:
            kept_choice["logprobs"] = {"content": tokens}
        choices.append(kept_choice)
    kept["choices"] = choices
    usage = body.get("usage")
    if isinstance(usage, dict):
        kept["usage"] = {
            k: usage[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens") if isinstance(usage.get(k), int)
        }
        for details, field in (
            ("prompt_tokens_details", "cached_tokens"),
            ("completion_tokens_details", "reasoning_tokens"),
        ):
            value = (usage.get(details) or {}).get(field) if isinstance(usage.get(details), dict) else None
            if isinstance(value, int):
                kept["usage"][details] = {field: value}
    return kept


def token_logprobs(choice: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The answer's tokens and their log-probabilities, as OpenAI-compatible servers give them
    (``choices[i].logprobs.content``); only ``token`` and ``logprob`` are kept, with an empty
    ``top_logprobs`` (the bytes and the alternatives would triple a cassette). None when the
    server sent none."""
    raw = choice.get("logprobs")
    content = raw.get("content") if isinstance(raw, dict) else None
    if not isinstance(content, list):
        return None
    return [
        {"token": t["token"], "logprob": float(t["logprob"]), "top_logprobs": []}  # the field openai's model requires
        for t in content
        if isinstance(t, dict) and isinstance(t.get("token"), str) and isinstance(t.get("logprob"), int | float)
    ]


class RecordedAnswer(BaseModel):
    """The part of a cassette that replay reads (validating the stored request, ~5,000 JSON nodes
    of schema, would double the cost of a replay lookup)."""

    version: int = CASSETTE_VERSION
    key: str
    latency_s: float
    response: dict[str, Any]


Loaded = TypeVar("Loaded", Cassette, RecordedAnswer)


# pydantic writes its own version into every validation error ("…/errors.pydantic.dev/2.13/v/…"),
# and instructor's re-ask quotes the error: left in, the key of every re-ask would change with
# the installed pydantic, and recordings would stop replaying on another machine.
_VERSIONED_URL = re.compile(r"\n? *For further information visit https://errors\.pydantic\.dev/\S+")


def _stable(messages: list[Any], line_endings: bool = True) -> list[Any]:
    """Messages without what varies with the machine: pydantic's versioned URL, and (unless
    ``line_endings`` is False) CRLF line endings, which a checkout with git's autocrlf gives every
    article and template on Windows: the same text either way, so the same key."""

    def stable(text: str) -> str:
        text = _VERSIONED_URL.sub("", text)
        return text.replace("\r\n", "\n") if line_endings else text

    return [
        {**m, "content": stable(m["content"])} if isinstance(m, dict) and isinstance(m.get("content"), str) else m
        for m in messages
    ]


def canonical_request(request: dict[str, Any], line_endings: bool = True) -> tuple[str, str]:
    """A request as sorted, compact JSON (version-dependent text and CRLF line endings made
    plain), and its sha256 key. Text recorded with LF keeps the key it always had."""
    stable = {**request, "messages": _stable(request.get("messages", []), line_endings)}
    text = json.dumps(stable, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return text, hashlib.sha256(text.encode()).hexdigest()


def _request_of(kwargs: dict[str, Any], mode: str) -> dict[str, Any]:
    request: dict[str, Any] = {"model": kwargs.get("model"), "mode": mode, "messages": kwargs.get("messages", [])}
    for name in ("response_format", "tools", "tool_choice"):
        if kwargs.get(name) is not None:
            request[name] = kwargs[name]
    request["params"] = {name: kwargs[name] for name in GENERATION_PARAMS if kwargs.get(name) is not None}
    return request


def canonical_json(kwargs: dict[str, Any], mode: str) -> tuple[str, str]:
    """The canonical request of a call's arguments: what identifies it, and its key."""
    return canonical_request(_request_of(kwargs, mode))


def crlf_key(kwargs: dict[str, Any], mode: str) -> str | None:
    """The key an llmx before line-ending-blind keys gave this request, when its text holds CRLF
    (so a cassette recorded then from CRLF text still replays); None when it is the same key."""
    messages = kwargs.get("messages", [])
    if not any(isinstance(m, dict) and "\r\n" in str(m.get("content", "")) for m in messages):
        return None
    return canonical_request(_request_of(kwargs, mode), line_endings=False)[1]


def scrubbed(cassette: Cassette) -> Cassette:
    """What every backend writes (:mod:`llmx.cassettes.backend`): the response's allow-list
    applied again and server URLs without credentials, whoever built the cassette (a gateway, the
    batch collector, ``llmx cassettes pack``). Each backend also redacts the endpoint's secrets,
    in every form, from what it writes."""
    served_by = {k: public_url(v) if "://" in v else v for k, v in cassette.served_by.items()}
    return cassette.model_copy(update={"response": allowed_response(cassette.response), "served_by": served_by})


def read_cassette(path: Path, model: type[Loaded] = Cassette) -> Loaded:  # type: ignore[assignment]
    try:
        cassette = model.model_validate_json(path.read_bytes())
    except OSError as error:
        raise CassetteError(
            f"{path}: cannot read the cassette ({error.strerror}); check its permissions", path
        ) from error
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CassetteError(
            f"{path}: corrupt cassette ({where or 'file'}: {first['msg']}); delete it to re-record", path
        ) from error
    if cassette.version != CASSETTE_VERSION:
        raise CassetteError(
            f"{path}: cassette version {cassette.version}; this llmx reads version {CASSETTE_VERSION}: "
            "delete it to re-record, or use the llmx that wrote it",
            path,
        )
    return cassette


def readable_json(value: Any, depth: int = 0, expand: int = 3) -> str:
    """JSON laid out for diffs (one line per top-level field, per message, per choice) but
    encoded by the C encoder below that: ``indent=`` would force the pure-Python encoder, which
    made writing a cassette (its schema is ~5,000 JSON nodes) cost ~2 ms."""
    pad = "  " * (depth + 1)
    if depth < expand and isinstance(value, dict) and value:
        items = (
            f"{pad}{json.dumps(k, ensure_ascii=False)}: {readable_json(v, depth + 1, expand)}" for k, v in value.items()
        )
        return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"
    if depth < expand and isinstance(value, list) and value:
        items = (f"{pad}{readable_json(v, expand, expand)}" for v in value)
        return "[\n" + ",\n".join(items) + "\n" + "  " * depth + "]"
    return json.dumps(value, ensure_ascii=False)


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    changed = []
    if old.get("model") != new.get("model"):
        changed.append(f"model {old.get('model')!r} → {new.get('model')!r}")
    if old.get("mode") != new.get("mode"):
        changed.append(f"mode {old.get('mode')!r} → {new.get('mode')!r}")
    if old.get("params") != new.get("params"):
        changed.append(f"parameters {old.get('params')} → {new.get('params')}")
    schema_keys = ("response_format", "tools", "tool_choice")
    if any(old.get(k) != new.get(k) for k in schema_keys):
        changed.append("response schema")
    old_messages, new_messages = old.get("messages", []), new.get("messages", [])
    if old_messages != new_messages:
        changed.append(_message_change(old_messages, new_messages))
    return changed


def _message_change(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> str:
    if len(old) != len(new):
        return f"{len(old)} → {len(new)} messages"
    for before, after in zip(old, new, strict=True):
        if before != after:
            a, b = str(before.get("content", "")), str(after.get("content", ""))
            if a != b and a.replace("\r\n", "\n") == b.replace("\r\n", "\n"):
                now, was = ("CRLF", "LF") if "\r\n" in b else ("LF", "CRLF")
                return (
                    f"{after.get('role', 'message')} prompt: only the line endings changed, {was} → {now} (an "
                    f"article or template saved with {now} line endings); save it with {was} again, or record anew"
                )
            cut = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
            was, now = a[max(0, cut - 15) : cut + 25], b[max(0, cut - 15) : cut + 25]
            return f"{after.get('role', 'message')} prompt text at char {cut}: {was!r} → {now!r}"
    return "messages"


def describe_change(nearest: Cassette | None, request: dict[str, Any]) -> str:
    if nearest is None:
        return "no cassette recorded for this article"
    changes = _differences(nearest.request, request)
    return "; ".join(changes) if changes else "same request, different key (cassette from another llmx version?)"


def nearest_recorded(candidates: list[Cassette], attempt: int, request: dict[str, Any]) -> Cassette | None:
    """Of an article's cassettes, the one closest to ``request`` (the same attempt first)."""
    same_attempt = [c for c in candidates if c.attempt == attempt] or candidates
    if not same_attempt:
        return None
    return min(same_attempt, key=lambda c: _distance(c, request))


def _distance(cassette: Cassette, request: dict[str, Any]) -> tuple[int, int, float]:
    """How far a recorded request is from ``request``: the parts that differ, then the messages
    that differ (line endings aside), then the newest recording first."""
    old, new = cassette.request.get("messages", []), request.get("messages", [])
    plain = [str(m.get("content", "")).replace("\r\n", "\n") if isinstance(m, dict) else m for m in old]
    now = [str(m.get("content", "")).replace("\r\n", "\n") if isinstance(m, dict) else m for m in new]
    differing = sum(a != b for a, b in zip(plain, now, strict=False)) + abs(len(plain) - len(now))
    return len(_differences(cassette.request, request)), differing, -_timestamp(cassette.recorded_at)


def _timestamp(iso: str) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso).timestamp()
    except (TypeError, ValueError):
        return 0.0
