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
        _, key = canonical_json(kwargs, self.mode)
        answer = self.store.load_answer(article_id, key)
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
    batch: Any, record: BatchRecord, inputs: dict[str, bytes], answers: bytes, cassettes: CassetteBackend, mode: str
) -> None:
    """The batch's answers become cassettes; every other line of the record is a failed line.

    One bad line never costs the others: a line that is not JSON, or that answers a ``custom_id``
    this file never sent, is listed in ``record.ignored`` and skipped; the requests it may have
    answered fail by line ("no answer") and the next ``--batch`` run asks them again."""
    redact = cassettes.redact
    for number, raw in enumerate(answers.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except ValueError:
            record.ignored.append(f"output line {number}: not JSON: {redact.text(_short(raw))}")
            continue
        custom_id = str(item.get("custom_id")) if isinstance(item, dict) else ""
        if custom_id not in inputs:
            record.ignored.append(f"output line {number}: answers custom_id {redact.text(custom_id[:120])!r}, not sent")
            continue
        if custom_id in record.answered:
            continue  # a provider that repeats a line: the first answer stands
        outcome = _collect_line(batch, item, custom_id, inputs[custom_id], cassettes, mode)
        if isinstance(outcome, Usage):
            record.answered[custom_id] = outcome
            record.failed.pop(custom_id, None)
        else:
            record.failed[custom_id] = redact.text(outcome)
    for custom_id in inputs:
        if custom_id not in record.answered and custom_id not in record.failed:
            record.failed[custom_id] = f"no answer: the batch ended {batch.status}"
    record.status, record.state = batch.status, "collected"


def _collect_line(
    batch: Any, item: dict[str, Any], custom_id: str, sent: bytes, cassettes: CassetteBackend, mode: str
) -> Usage | str:
    """One answer line into a cassette: its tokens, or the reason it cannot be."""
    raw_response = item.get("response")
    response: dict[str, Any] = raw_response if isinstance(raw_response, dict) else {}
    raw_body = response.get("body")
    body: dict[str, Any] = raw_body if isinstance(raw_body, dict) else {}
    if response.get("status_code") != 200 or item.get("error"):
        error = item.get("error") or body.get("error") or {}
        message = error.get("message", error) if isinstance(error, dict) else error
        return f"HTTP {response.get('status_code')}: {message}"
    body = cassettes.redact.json(allowed_response(body))
    try:
        completion = chat_completion(body)
        refuse_unusable(completion)  # truncated, refused, empty: never cached
    except (ModelError, ValueError) as problem:
        return str(problem).splitlines()[0][:300]
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


def _short(raw: bytes, limit: int = 80) -> str:
    text = raw.decode(errors="replace").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
