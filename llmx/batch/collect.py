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
from llmx.cassettes.gateway import CallLog, CassetteBacked, refuse_unusable, usage_of
from llmx.cassettes.store import Cassette, allowed_response, canonical_json
from llmx.errors import BatchLineFailed, BatchPending, ModelError
from llmx.runs.files import now_iso


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
        line = {"custom_id": custom_id, "method": "POST", "url": CHAT_PATH, "body": {**kwargs, **self.extra_body}}
        self.collected[custom_id] = json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        raise BatchPending(f"article {article_id}: request {len(log.calls) + 1} waits for a batch")


def collect(
    batch: Any, record: BatchRecord, inputs: dict[str, bytes], answers: bytes, cassettes: CassetteBackend, mode: str
) -> None:
    """The batch's answers become cassettes; every other line of the record is a failed line."""
    for raw in answers.split(b"\n"):
        if not raw.strip():
            continue
        item = json.loads(raw)
        custom_id = str(item.get("custom_id"))
        response = item.get("response") or {}
        body = response.get("body") or {}
        if response.get("status_code") != 200 or item.get("error"):
            error = item.get("error") or body.get("error") or {}
            record.failed[custom_id] = f"HTTP {response.get('status_code')}: {error.get('message', error)}"
            continue
        try:
            completion = ChatCompletion.model_validate(body)
            refuse_unusable(completion)  # truncated, refused, empty: never cached
        except (ModelError, ValueError) as problem:
            record.failed[custom_id] = str(problem).splitlines()[0][:300]
            continue
        article_id, key = custom_id.rsplit("/", 1)
        request = json.loads(inputs[custom_id])["body"]
        text, recomputed = canonical_json(request, mode)
        if recomputed != key:
            record.failed[custom_id] = "the answer's request does not match its cassette key"
            continue
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
                response=allowed_response(body),
            )
        )
        record.answered[custom_id] = usage_of(completion)
    for custom_id in inputs:
        if custom_id not in record.answered and custom_id not in record.failed:
            record.failed[custom_id] = f"no answer: the batch ended {batch.status}"
    record.status, record.state = batch.status, "collected"
