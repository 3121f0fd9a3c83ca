"""Every chat-completion request passes here, below instructor's re-asks: one :class:`Gateway`
protocol, answered from a cassette, or sent to the model server and recorded.

Each request is logged in the article's :class:`CallLog` (tokens, latency, replayed or live),
so usage covers re-asks and replays alike.

Live calls are guarded where they are made, by the model server (:mod:`llmx.model.live`).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self

from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ValidationError

from llmx.cassettes.backend import CassetteBackend
from llmx.cassettes.store import (
    Cassette,
    RecordedAnswer,
    allowed_response,
    canonical_json,
    crlf_key,
)
from llmx.errors import CassetteError, ContentFiltered, InvalidOutputError, RefusalError
from llmx.runs.files import now_iso
from llmx.runs.results import Usage

if TYPE_CHECKING:
    from llmx.model.server import ModelServer


class CallRecord(BaseModel):
    key: str
    attempt: int
    replayed: bool
    latency_s: float
    usage: Usage = Usage()
    finish_reason: str | None = None
    cassette: str | None = None  # where a replayed answer came from (a file, or a row of the store)


@dataclass
class CallLog:
    """Every request made for one article, in order."""

    calls: list[CallRecord] = field(default_factory=list)
    last_answer: ChatCompletion | None = None  # the latest completion: its tokens give the values' confidence

    def add(
        self, key: str, replayed: bool, latency: float, completion: ChatCompletion | None, cassette: str | None = None
    ) -> None:
        choice = completion.choices[0] if completion and completion.choices else None
        self.last_answer = completion
        self.calls.append(
            CallRecord(
                key=key,
                attempt=len(self.calls),
                replayed=replayed,
                latency_s=round(latency, 3),
                usage=usage_of(completion),
                finish_reason=choice.finish_reason if choice else None,
                cassette=str(cassette) if cassette else None,
            )
        )

    @property
    def usage(self) -> Usage:
        total = Usage()
        for call in self.calls:
            total.add(call.usage)
        return total

    @property
    def live_usage(self) -> Usage:
        """What this run paid for: the calls that were not replayed."""
        total = Usage()
        for call in self.calls:
            if not call.replayed:
                total.add(call.usage)
        return total


def usage_of(completion: ChatCompletion | None) -> Usage:
    usage = completion.usage if completion else None
    if usage is None:
        return Usage()
    prompt_details = getattr(usage, "prompt_tokens_details", None)
    completion_details = getattr(usage, "completion_tokens_details", None)
    return Usage(
        prompt_tokens=usage.prompt_tokens or 0,
        completion_tokens=usage.completion_tokens or 0,
        cached_tokens=(getattr(prompt_details, "cached_tokens", None) or 0) if prompt_details else 0,
        reasoning_tokens=(getattr(completion_details, "reasoning_tokens", None) or 0) if completion_details else 0,
    )


def chat_completion(body: dict[str, Any]) -> ChatCompletion:
    """The completion in ``body``. Cassettes keep only each token and its log-probability
    (store.token_logprobs), while openai's model requires ``top_logprobs``: they are given back
    empty, in a copy, so what is recorded stays as it was."""
    choices = body.get("choices")
    if isinstance(choices, list) and any(isinstance(c, dict) and c.get("logprobs") for c in choices):
        body = {**body, "choices": [_with_top_logprobs(c) for c in choices]}
    return ChatCompletion.model_validate(body)


def _with_top_logprobs(choice: Any) -> Any:
    content = (choice.get("logprobs") or {}).get("content") if isinstance(choice, dict) else None
    if not isinstance(content, list):
        return choice
    tokens = [{"top_logprobs": [], **t} if isinstance(t, dict) else t for t in content]
    return {**choice, "logprobs": {**choice["logprobs"], "content": tokens}}


class Gateway(Protocol):
    """Answers one chat-completion request for one article: what the extraction calls, below
    instructor's re-asks. Implementations, side by side: :class:`ReplayGateway` (cassettes
    only), :class:`RecordingGateway` (replay what is recorded, call the model and record the rest)
    and :class:`llmx.batch.collect.CollectingGateway` (replay, or put the request into a batch).

    Whoever opens a gateway closes it (``async with``), in the event loop that used it."""

    mode: str  # the output mode: part of every cassette key

    async def create(self, article_id: str, log: CallLog, **kwargs: Any) -> ChatCompletion: ...

    async def aclose(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: object) -> None: ...


class CassetteBacked:
    """What every gateway shares: the cassette store, the output mode, and the replay of a hit."""

    def __init__(self, store: CassetteBackend, mode: str) -> None:
        self.store = store
        self.mode = mode

    def lookup(self, article_id: str, kwargs: dict[str, Any]) -> tuple[str, str, RecordedAnswer | None]:
        """The request's canonical text, its key, and its recorded answer if any: under its key, or
        the key an older llmx gave it when its text holds CRLF line endings."""
        text, key = canonical_json(kwargs, self.mode)
        answer = self.store.load_answer(article_id, key)
        if answer is None and (earlier := crlf_key(kwargs, self.mode)) is not None:
            answer = self.store.load_answer(article_id, earlier)
        return text, key, answer

    def replayed(self, article_id: str, answer: RecordedAnswer, log: CallLog) -> ChatCompletion:
        where = self.store.location(article_id, answer.key)
        # An answer the model gave (no choices, empty text) replays as it went live; a response that
        # is no chat completion at all (``{}``, edited) is the cassette's fault, said once.
        try:
            completion = chat_completion(answer.response)
        except ValidationError as error:  # an empty or edited answer: the cassette, not the model
            detail = _first_error(error) if answer.response else "an empty response"
            raise CassetteError(
                f"article {article_id}: {where} holds no model answer ({detail}); "
                "delete that cassette, or --record asks the model again"
            ) from error
        log.add(answer.key, True, answer.latency_s, completion, self.store.location(article_id, answer.key))
        return completion

    async def aclose(self) -> None:
        """Nothing to close but what a subclass opened."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class ReplayGateway(CassetteBacked):
    """Strict replay: every answer comes from a cassette; a miss names what changed."""

    async def create(self, article_id: str, log: CallLog, **kwargs: Any) -> ChatCompletion:
        text, _, answer = self.lookup(article_id, kwargs)
        if answer is None:
            raise self.store.miss(article_id, len(log.calls), json.loads(text))
        return self.replayed(article_id, answer, log)


class RecordingGateway(CassetteBacked):
    """Replay what is recorded (``auto``) or nothing (``record``); send the rest to the model
    server and record each usable answer before returning it."""

    def __init__(
        self,
        store: CassetteBackend,
        mode: str,
        server: ModelServer,
        policy: Literal["auto", "record"] = "auto",
        served_by: dict[str, str] | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(store, mode)
        self.server = server
        self.policy = policy
        self.served_by = served_by or {}
        self.extra_body = extra_body or {}

    async def create(self, article_id: str, log: CallLog, **kwargs: Any) -> ChatCompletion:
        attempt = len(log.calls)
        if self.policy == "auto":
            text, key, answer = self.lookup(article_id, kwargs)
            if answer is not None:
                return self.replayed(article_id, answer, log)
        else:
            text, key = canonical_json(kwargs, self.mode)
        started = time.perf_counter()
        # Redacted before anything reads it: a proxy that echoes the key into the answer text gets it
        # into neither the records nor the cassette, and replay returns exactly what the run saw.
        # extra_body never overrides what the key is made of (config refuses it; this keeps it so).
        body = self.server.redact.json(allowed_response(await self.server.post({**self.extra_body, **kwargs})))
        latency = time.perf_counter() - started
        try:
            completion = chat_completion(body)
        except ValueError as error:
            raise InvalidOutputError(
                f"the server's answer is not a chat completion: {_first_error(error)}",
                self.server.redact(json.dumps(body)[:2000]),
            ) from error
        log.add(key, replayed=False, latency=latency, completion=completion)
        refuse_unusable(completion)  # before saving: failures are never cached
        cassette = Cassette(
            key=key,
            article_id=article_id,
            attempt=attempt,
            recorded_at=now_iso(),
            latency_s=round(latency, 3),
            served_by=self.served_by,
            request=json.loads(text),
            response=body,
        )
        await asyncio.to_thread(self.store.save, cassette)  # the fsync must not stall other requests
        if self.server.fatal is not None:  # e.g. an answer with no usage under --max-cost: kept, then stop
            raise self.server.fatal
        return completion

    async def aclose(self) -> None:
        """Close the HTTP client inside the event loop that used it."""
        await self.server.aclose()


def _first_error(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(error).splitlines()[0][:200]


def refuse_unusable(completion: ChatCompletion) -> None:
    if not completion.choices:
        raise InvalidOutputError("the server answered with no choices")
    choice = completion.choices[0]
    if getattr(choice.message, "refusal", None):
        refusal = " ".join(str(choice.message.refusal).split())[:200]
        raise RefusalError(f"the model refused: {refusal}")
    if choice.finish_reason == "content_filter":
        raise ContentFiltered(
            "the provider's content filter stopped the answer (finish_reason content_filter); "
            "it is not cached, so the next run asks again"
        )
    # An answer cut off at max_tokens is recorded like any other: it is what the model answers to
    # that request, so replay repeats the run; instructor reports it, and the extractor keeps its
    # whole records (llmx.extraction.salvage).
