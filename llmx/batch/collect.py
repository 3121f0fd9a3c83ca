"""A batch round's gateway, and the answers it brings back.

:class:`CollectingGateway` replays what is recorded; a miss, instead of calling the model, puts
the request into the batch being collected: the same canonical request and cassette key as the
live path, ``custom_id`` = ``<article id>/<key>``, and the article waits (:class:`BatchPending`).
When the batch is done, :func:`collect` turns every answer into a cassette, so the next round
replays it.
"""

from __future__ import annotations

import json
from typing import Any

from openai.types.chat import ChatCompletion

from llmx.batch.api import CHAT_PATH
from llmx.batch.ledger import BatchRecord
from llmx.cassettes.backend import CassetteBackend
from llmx.cassettes.gateway import CallLog, CassetteBacked, chat_completion, refuse_unusable, usage_of
from llmx.cassettes.store import Cassette, allowed_response, canonical_json
from llmx.errors import BatchLineFailed, BatchPending, ModelError
from llmx.runs.files import now_iso
from llmx.runs.results import Usage


class CollectingGateway(CassetteBacked):
    """Replay what is recorded; a miss goes into the batch being collected, and the article
    waits (:class:`BatchPending`). A request the batch failed raises :class:`BatchLineFailed`."""

    def __init__(self, store: CassetteBackend, mode: str, extra_body: dict[str, Any]) -> None:
        super().__init__(store, mode)
        self.extra_body = extra_body
        self.collected: dict[str, bytes] = {}  # custom_id → its JSONL line
        self.failed: dict[str, str] = {}

    async def create(self, article_id: str, log: CallLog, **kwargs: Any) -> ChatCompletion:
        _, key, answer = self.lookup(article_id, kwargs)
        if answer is not None:
            return self.replayed(article_id, answer, log)
        custom_id = f"{article_id}/{key}"
        if custom_id in self.failed:
            why = self.failed[custom_id]
            raise BatchLineFailed(
                f"article {article_id}: request {len(log.calls) + 1} failed in the batch: {why}", custom_id
            )
        line = {"custom_id": custom_id, "method": "POST", "url": CHAT_PATH, "body": {**self.extra_body, **kwargs}}
        self.collected[custom_id] = json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        raise BatchPending(f"article {article_id}: request {len(log.calls) + 1} waits for a batch")


def collect(
    batch: Any,
    record: BatchRecord,
    inputs: dict[str, bytes],
    files: list[tuple[str, bytes]],
    cassettes: CassetteBackend,
    mode: str,
) -> None:
    """The batch's answers (``files``: the output and error files, each with its name) become
    cassettes; every other line of the record is a failed line.

    One bad line never costs the others: a line that is not JSON, not an object, has no string
    ``custom_id`` or answers one this file never sent is listed in ``record.ignored`` (by file and
    line) and skipped; the requests it may have answered fail ("no answer") and the next
    ``--batch`` run asks them again. A line of a request that is malformed inside (neither
    ``response`` nor ``error``, no status, a body that is not an object) fails that request,
    naming the line and its ``custom_id``."""
    redact = cassettes.redact
    for label, content in files:
        for number, raw in enumerate(content.split(b"\n"), start=1):
            if not raw.strip():
                continue
            where = f"{label} line {number}"
            item, problem = _read_line(raw, inputs)
            if item is None:
                record.ignored.append(f"{where}: {redact.text(problem)}")
                continue
            custom_id = str(item["custom_id"])
            if custom_id in record.answered:
                continue  # a provider that repeats a line: the first answer stands
            outcome = _collect_line(batch, item, custom_id, inputs[custom_id], cassettes, mode, where)
            if isinstance(outcome, Usage):
                record.answered[custom_id] = outcome
                record.failed.pop(custom_id, None)
            else:
                record.failed[custom_id] = redact.text(outcome)
    count = len(record.ignored)
    unread = f", and {count} output line{'s' if count != 1 else ''} could not be read (listed in batch.json)"
    for custom_id in inputs:
        if custom_id not in record.answered and custom_id not in record.failed:
            record.failed[custom_id] = f"no answer: the batch ended {batch.status}{unread if record.ignored else ''}"
    record.status, record.state = batch.status, "collected"


_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number",
               bool: "true or false", type(None): "null"}  # fmt: skip


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _read_line(raw: bytes, inputs: dict[str, bytes]) -> tuple[dict[str, Any] | None, str]:
    """The line as an object whose ``custom_id`` this batch sent, or why it is not one."""
    try:
        item = json.loads(raw)
    except ValueError:
        return None, f"not JSON: {_short(raw)}"
    if not isinstance(item, dict):
        return None, f"malformed: {_json_type(item)}, not an object with a custom_id"
    custom_id = item.get("custom_id")
    if custom_id is None:
        return None, "malformed: no custom_id, so it answers no request llmx can name"
    if not isinstance(custom_id, str):
        return None, f"malformed: custom_id is {_json_type(custom_id)}, not a string"
    if custom_id not in inputs:
        return None, f"answers custom_id {custom_id[:120]!r}, not sent"
    return item, ""


def _collect_line(
    batch: Any,
    item: dict[str, Any],
    custom_id: str,
    sent: bytes,
    cassettes: CassetteBackend,
    mode: str,
    where: str = "output line",
) -> Usage | str:
    """One answer line into a cassette: its tokens, or the reason it cannot be."""
    malformed = f"{where} (custom_id {custom_id[:120]!r}) is malformed"
    response, error = item.get("response"), item.get("error")
    if error:  # the provider failed this request: its own words
        status = response.get("status_code") if isinstance(response, dict) else None
        return f"{'HTTP ' + str(status) if status else 'the provider failed it'}: {_message(error)}"
    if response is None:
        return f"{malformed}: it has neither 'response' nor 'error'"
    if not isinstance(response, dict):
        return f"{malformed}: 'response' is {_json_type(response)}, not an object"
    status, body = response.get("status_code"), response.get("body")
    if not isinstance(status, int) or isinstance(status, bool):
        return f"{malformed}: 'response' has no status_code (it has {_json_type(status)})"
    if status != 200:
        inner = body.get("error") if isinstance(body, dict) else None
        return f"HTTP {status}: {_message(inner or body or 'no error message')}"
    if not isinstance(body, dict):
        return f"{malformed}: 'response.body' is {_json_type(body)}, not a chat completion"
    body = cassettes.redact.json(allowed_response(body))
    try:
        completion = chat_completion(body)
        refuse_unusable(completion)  # truncated, refused, empty: never cached
    except ModelError as problem:
        return str(problem).splitlines()[0][:300]
    except ValueError as problem:  # pydantic: not the shape of a chat completion
        return f"{malformed}: 'response.body' is not a chat completion ({str(problem).splitlines()[0][:200]})"
    article_id, key = custom_id.rsplit("/", 1)
    request = json.loads(sent)["body"]
    text, recomputed = canonical_json(request, mode)
    if recomputed != key:
        return "the answer's request does not match its cassette key"
    messages = json.loads(text).get("messages", [])
    cassettes.save(
        Cassette(
            key=key,
            article_id=article_id,
            attempt=sum(1 for m in messages if m.get("role") == "assistant"),  # re-asks before it
            recorded_at=now_iso(),
            latency_s=0.0,
            served_by={"batch_id": str(batch.id), "base_url": "batch"},
            request=json.loads(text),
            response=body,
        )
    )
    return usage_of(completion)


def _message(error: Any) -> str:
    message = (error.get("message") or error.get("code") or error) if isinstance(error, dict) else error
    return _short(str(message).encode(), 300)


def _short(raw: bytes, limit: int = 80) -> str:
    text = raw.decode(errors="replace").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
