"""In-process fake models: answers built from the request itself, never from a hand-written list
of fields, so a schema edit breaks no test.

    script = always(schema_answer)                    # like pydantic-ai's TestModel
    script = function_model(lambda body, n: {...})    # like its FunctionModel: you build the answer
    client = make_client("key", "http://fake/v1", 5, mock_transport(script))

A *script* maps (request body, request number) to a :class:`Reply`: a completion or a fault.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx2

# status: an HTTP error; hang: no answer; drop: the connection closed; non_json: an HTML page;
# refusal (content: its words); empty_choices; error_200: a 200 whose body is an error object;
# drip: a good answer sent a few bytes at a time, ``delay`` seconds apart (stub server only).
Fault = Literal["status", "hang", "drop", "non_json", "refusal", "empty_choices", "error_200", "drip"]


@dataclass
class Reply:
    content: str = "{}"
    finish_reason: str = "stop"
    fault: Fault | None = None
    status: int = 200
    retry_after: str | None = None
    delay: float = 0.0
    usage: tuple[int, int] = (100, 20)
    error_message: str | None = None
    extra: dict[str, Any] | None = None  # extra top-level fields in the completion body
    # With a request that asks for logprobs: the log-probability of the tokens inside each of these
    # substrings of the content (every other token: SURE_LOGPROB), see fake_tokens.
    doubt: dict[str, float] | None = None


Script = Callable[[dict[str, Any], int], Reply]


def always(make: Callable[[dict[str, Any]], Reply]) -> Script:
    return lambda body, _number: make(body)


def sequence(*replies: Reply, then: Script | None = None) -> Script:
    """Reply with each in turn; after the last, use ``then`` (default: repeat the last)."""

    def script(body: dict[str, Any], number: int) -> Reply:
        if number < len(replies):
            return replies[number]
        return then(body, number) if then else replies[-1]

    return script


def schema_answers(*per_request: dict[str, Any], usage: tuple[int, int] = (100, 20)) -> Script:
    """Request n gets :func:`schema_answer` with the n-th dict of field values (the last repeats):
    e.g. an ungrounded quote first, then the default grounded one."""

    def script(body: dict[str, Any], number: int) -> Reply:
        values = per_request[min(number, len(per_request) - 1)] if per_request else {}
        reply = schema_answer(body, **values)
        reply.usage = usage
        return reply

    return script


def function_model(build: Callable[[dict[str, Any], int], dict[str, Any]]) -> Script:
    """A script whose answer is whatever ``build(body, number)`` returns, as JSON content."""
    return lambda body, number: Reply(content=json.dumps(build(body, number)))


ARTICLE = re.compile(r"<article>\s*(.*?)\s*</article>", re.S)


def article_text(body: dict[str, Any]) -> str:
    user = next((m["content"] for m in body.get("messages", []) if m.get("role") == "user"), "")
    match = ARTICLE.search(user)
    return match.group(1) if match else user


def first_sentence(body: dict[str, Any]) -> str:
    return re.split(r"(?<=[.!?])\s", article_text(body).strip(), maxsplit=1)[0]


def response_schema(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema the request asks for, whichever output mode sent it."""
    response_format = body.get("response_format") or {}
    if "json_schema" in response_format:
        return dict(response_format["json_schema"].get("schema") or {})
    for tool in body.get("tools") or []:
        return dict(tool.get("function", {}).get("parameters") or {})
    return {}


def schema_answer(body: dict[str, Any], records: int = 1, **values: Any) -> Reply:
    """A schema-valid answer for any schema: ``records`` items in each list, every nullable field
    null, enums their first value, a field named ``evidence`` the article's first sentence (so it
    grounds); ``values`` set named fields in every record."""
    schema = response_schema(body)
    context = {"defs": schema.get("$defs", {}), "sentence": first_sentence(body), "records": records, "values": values}
    return Reply(content=json.dumps(_value(schema, context, name=None)))


def _value(node: dict[str, Any], context: dict[str, Any], name: str | None) -> Any:
    if "$ref" in node:
        return _value(context["defs"][node["$ref"].rsplit("/", 1)[-1]], context, name)
    if name is not None and name in context["values"]:
        return context["values"][name]
    options = node.get("anyOf") or node.get("oneOf")
    if options:
        if any(option.get("type") == "null" for option in options):
            return None
        return _value(options[0], context, name)
    if "enum" in node:
        return node["enum"][0]
    if "const" in node:
        return node["const"]
    kind = node.get("type")
    if isinstance(kind, list):
        if "null" in kind:
            return None
        kind = kind[0]
    return _typed_value(node, kind, context, name)


def _typed_value(node: dict[str, Any], kind: Any, context: dict[str, Any], name: str | None) -> Any:
    if kind == "object":
        return {key: _value(child, context, key) for key, child in node.get("properties", {}).items()}
    if kind == "array":
        return [_value(node.get("items", {}), context, None) for _ in range(context["records"])]
    if kind == "string":
        return context["sentence"] if name == "evidence" else "x"
    if kind in ("integer", "number"):
        return node.get("minimum", 0)
    return False if kind == "boolean" else None


def chat_completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """The JSON body of a chat completion for ``reply`` (refusal and empty choices included)."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.fault == "refusal":
        words = reply.content if reply.content != "{}" else "I can't help with that."
        message = {"role": "assistant", "content": None, "refusal": words}
    elif body.get("tools"):  # tools mode: the answer is the forced tool call's arguments
        name = body["tools"][0]["function"]["name"]
        call = {"id": "call_0", "type": "function", "function": {"name": name, "arguments": reply.content}}
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
    prompt, completion = reply.usage
    choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": reply.finish_reason}
    if body.get("logprobs") and isinstance(message.get("content"), str):
        choice["logprobs"] = {"content": fake_tokens(message["content"], reply.doubt)}
    choices = [choice]
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "stub"),
        "choices": [] if reply.fault == "empty_choices" else choices,
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        **(reply.extra or {}),
    }


SURE_LOGPROB = -0.001
_TOKEN = re.compile(r"\s*\w+|\s*[^\w\s]|\s+")


def fake_tokens(content: str, doubt: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """The content cut into word and punctuation tokens (they spell it exactly), each with
    SURE_LOGPROB, or ``doubt[s]`` for the tokens that overlap an occurrence of substring ``s``."""
    low: list[tuple[int, int, float]] = []
    for text, logprob in (doubt or {}).items():
        start = content.find(text)
        while start >= 0:
            low.append((start, start + len(text), logprob))
            start = content.find(text, start + 1)
    tokens = []
    for match in _TOKEN.finditer(content):
        a, b = match.span()
        logprobs = [lp for start, end, lp in low if start < b and end > a]
        tokens.append({"token": match.group(), "logprob": min(logprobs) if logprobs else SURE_LOGPROB})
    return tokens


def mock_transport(script: Script, requests: list[dict[str, Any]] | None = None) -> httpx2.MockTransport:
    """The script's answers in process, without a socket (for unit tests)."""
    seen = requests if requests is not None else []

    def handle(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content or b"{}")
        seen.append(body)
        reply = script(body, len(seen) - 1)
        if reply.fault == "status":
            headers = {"retry-after": reply.retry_after} if reply.retry_after else {}
            message = reply.error_message or f"injected {reply.status}"
            return httpx2.Response(reply.status, json={"error": {"message": message}}, headers=headers)
        if reply.fault == "non_json":
            return httpx2.Response(200, content=b"<html>upstream proxy error</html>")
        if reply.fault in ("hang", "drop"):
            raise (
                httpx2.ReadTimeout("injected", request=request)
                if reply.fault == "hang"
                else httpx2.RemoteProtocolError("injected", request=request)
            )
        return httpx2.Response(200, json=chat_completion(body, reply))

    return httpx2.MockTransport(handle)


class TokenBucket:
    """``rate`` requests a second, bursts up to ``burst``; thread-safe (the stub answers in threads)."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.stamp = burst, clock()
        self.lock = threading.Lock()

    def take(self) -> float | None:
        """None when the request may go; else the seconds until a token is back (its Retry-After)."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return None
            return (1 - self.tokens) / self.rate


def rate_limited(script: Script, bucket: TokenBucket, log: list[tuple[float, int]] | None = None) -> Script:
    """``script`` behind a token bucket: beyond its rate, a 429 whose Retry-After (fractional
    seconds) says when a token is back. ``log`` gets (time, status) per answer."""

    def limited(body: dict[str, Any], number: int) -> Reply:
        wait = bucket.take()
        reply = script(body, number) if wait is None else Reply(fault="status", status=429, retry_after=f"{wait:.3f}")
        if log is not None:
            log.append((bucket.clock(), reply.status if reply.fault == "status" else 200))
        return reply

    return limited
