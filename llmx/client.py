"""The model gateway: every chat-completion request passes here, below instructor's re-asks.

For each request it looks up the cassette (replay), or calls the server through the retry
policy and records the answer (record / auto). It logs every attempt's tokens and latency in
the article's :class:`CallLog`, so usage covers re-asks and replays alike.

Live calls can be switched off process-wide (``ALLOW_LIVE_REQUESTS``): the test suite does so,
and a test that needs a live server opts in, as pydantic-ai does with ``ALLOW_MODEL_REQUESTS``.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2
import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel

from llmx.cassettes import (
    Cassette,
    CassetteMode,
    CassetteStore,
    canonical_json,
    describe_change,
    now_iso,
)
from llmx.config import Settings
from llmx.errors import (
    CassetteMiss,
    InvalidOutputError,
    LiveRequestBlocked,
    ModelError,
    RefusalError,
    TransientModelError,
    TruncatedOutputError,
)
from llmx.retry import RetryPolicy, is_transient

ALLOW_LIVE_REQUESTS = True


class CallRecord(BaseModel):
    key: str
    attempt: int
    replayed: bool
    latency_s: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None


@dataclass
class CallLog:
    """Every request made for one article, in order."""

    calls: list[CallRecord] = field(default_factory=list)

    def add(self, key: str, replayed: bool, latency: float, completion: ChatCompletion | None) -> None:
        usage = completion.usage if completion else None
        choice = completion.choices[0] if completion and completion.choices else None
        self.calls.append(
            CallRecord(
                key=key,
                attempt=len(self.calls),
                replayed=replayed,
                latency_s=round(latency, 3),
                prompt_tokens=usage.prompt_tokens if usage else 0,
                completion_tokens=usage.completion_tokens if usage else 0,
                finish_reason=choice.finish_reason if choice else None,
            )
        )


def public_url(url: str) -> str:
    """A base URL without credentials, query or fragment: safe to write down."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def make_client(
    api_key: str | None,
    base_url: str | None,
    timeout: float,
    transport: httpx2.AsyncBaseTransport | None = None,
) -> openai.AsyncOpenAI:
    # openai's own retries are off: llmx's RetryPolicy is the one place that decides.
    # aiohttp under the hood: httpcore's pool polls every open connection on every request,
    # which cost ~1.7 ms a request at 64 connections; aiohttp's pool does not.
    if transport is not None:
        http_client: httpx2.AsyncClient = httpx2.AsyncClient(transport=transport, timeout=timeout)
    else:
        http_client = openai.DefaultAioHttpClient(timeout=timeout)
    return openai.AsyncOpenAI(
        api_key=api_key or "no-key",
        base_url=base_url,
        timeout=timeout,
        max_retries=0,
        http_client=http_client,
    )


class Gateway:
    def __init__(
        self,
        client: openai.AsyncOpenAI | None,
        store: CassetteStore,
        cassette_mode: CassetteMode,
        mode: str,
        policy: RetryPolicy | None = None,
        served_by: dict[str, str] | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.cassette_mode = cassette_mode
        self.mode = mode
        self.policy = policy or RetryPolicy()
        self.served_by = served_by or {}
        self.extra_body = extra_body or {}

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        client: openai.AsyncOpenAI | None,
        cassette_mode: CassetteMode,
        served_by: dict[str, str] | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> Gateway:
        policy = RetryPolicy(max_attempts=settings.max_attempts, max_wait=settings.max_wait)
        body = {**settings.extra_body, **(extra_body or {})}
        return cls(client, CassetteStore(settings.cassettes), cassette_mode, settings.mode, policy, served_by, body)

    async def create(self, article_id: str, log: CallLog, **kwargs: Any) -> ChatCompletion:
        text, key = canonical_json(kwargs, self.mode)
        attempt = len(log.calls)
        if self.cassette_mode != "record":
            answer = self.store.load_answer(article_id, key)
            if answer is not None:
                completion = ChatCompletion.model_validate(answer.response)
                log.add(key, replayed=True, latency=answer.latency_s, completion=completion)
                return completion
            if self.cassette_mode == "replay":
                request = json.loads(text)
                change = describe_change(self.store.nearest(article_id, attempt, request), request)
                raise CassetteMiss(
                    f"article {article_id}: no cassette for request {attempt + 1} ({change}); "
                    "record it with --local, --base-url or OPENAI_API_KEY set (or --auto)"
                )
        if not ALLOW_LIVE_REQUESTS or self.client is None:
            raise LiveRequestBlocked(f"article {article_id}: live model requests are switched off here")
        started = time.perf_counter()
        body = await self._call_with_retries(kwargs)
        latency = time.perf_counter() - started
        try:
            completion = ChatCompletion.model_validate(body)
        except ValueError as error:
            raise InvalidOutputError(
                f"the server's answer is not a chat completion: {error}", json.dumps(body)[:2000]
            ) from error
        log.add(key, replayed=False, latency=latency, completion=completion)
        _refuse_unusable(completion)  # before saving: failures are never cached
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
        return completion

    async def aclose(self) -> None:
        """Close the HTTP client inside the event loop that used it."""
        if self.client is not None:
            await self.client.close()

    def _redact(self, text: str) -> str:
        """Servers echo keys in error bodies ("Incorrect API key provided: sk-..."); never pass one on."""
        key = self.client.api_key if self.client else ""
        return text.replace(key, "***") if key and len(key) > 3 else text

    async def _call_with_retries(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        assert self.client is not None
        try:
            async for attempt in self.policy.retrying():
                with attempt:
                    # The body is plain JSON already (instructor built it), so it goes through
                    # openai's documented low-level post: same auth, base URL and timeouts, without
                    # re-walking every message and the schema against its TypedDicts (~1-2 ms).
                    response = await self.client.post(
                        "/chat/completions", body={**kwargs, **self.extra_body}, cast_to=httpx2.Response
                    )
                    content = response.content
        except openai.APIStatusError as error:
            if is_transient(error):
                raise TransientModelError(f"HTTP {error.status_code} after {self.policy.max_attempts} tries") from error
            body = error.body if isinstance(error.body, dict) else {}
            detail = str(body.get("message") or error.message)
            raise ModelError(f"HTTP {error.status_code}: {self._redact(_short(detail))}") from None
        except (openai.APITimeoutError, openai.APIConnectionError) as error:
            raise TransientModelError(f"{type(error).__name__} after {self.policy.max_attempts} tries") from error
        try:
            body = json.loads(content)
        except ValueError as error:
            raise InvalidOutputError(
                "the server answered with a body that is not JSON", content[:2000].decode(errors="replace")
            ) from error
        if not isinstance(body, dict):
            raise InvalidOutputError(
                "the server answered with JSON that is not an object", content[:2000].decode(errors="replace")
            )
        return body


def _refuse_unusable(completion: ChatCompletion) -> None:
    if not completion.choices:
        raise InvalidOutputError("the server answered with no choices")
    choice = completion.choices[0]
    if getattr(choice.message, "refusal", None):
        raise RefusalError(f"the model refused: {_short(str(choice.message.refusal))}")
    if choice.finish_reason == "length":
        raise TruncatedOutputError(
            "the answer was cut off at max_tokens; raise max_tokens or shorten the article",
            choice.message.content,
        )


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
