"""Send one chat-completion request to an OpenAI-compatible server, through the retry policy.

What can recover (429, 5xx, timeouts, a dropped connection) is retried by :class:`RetryPolicy`;
what cannot (a bad URL, 401, 403, 404, a refused connection after the retries) is an
:class:`EndpointError` that stops the run at once, naming the URL and the likely fix, instead of
failing every article the same way. Every text that leaves here is redacted for the key.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2
import openai

from llmx.core.redact import Redactor, public_url
from llmx.errors import EndpointError, InvalidOutputError, ModelError, ParameterRejected, TransientModelError
from llmx.model import live
from llmx.model.article_clock import CLOCK
from llmx.model.direct_post import DirectPost
from llmx.model.http_errors import (
    AZURE_FATAL_STATUS,
    FATAL_STATUS,
    PER_ARTICLE_PARAMS,
    error_detail,
    error_param,
    redirect_fix,
    reports_usage,
    short,
)
from llmx.model.params import setting_for
from llmx.model.retry import RetryPolicy, is_transient
from llmx.model.transport_errors import transport_fault


def make_client(
    api_key: str | None,
    base_url: str | None,
    timeout: float,
    transport: httpx2.AsyncBaseTransport | None = None,
    default_headers: dict[str, str] | None = None,
    default_query: dict[str, str] | None = None,
    api_version: str | None = None,
) -> openai.AsyncOpenAI:
    # openai's own retries are off: llmx's RetryPolicy is the one place that decides.
    # aiohttp under the hood: httpcore's pool polls every open connection on every request,
    # which cost ~1.7 ms a request at 64 connections; aiohttp's pool does not.
    if transport is not None:
        http_client: httpx2.AsyncClient = httpx2.AsyncClient(transport=transport, timeout=timeout)
    else:
        http_client = openai.DefaultAioHttpClient(timeout=timeout)
    common: dict[str, Any] = {
        "api_key": api_key or "no-key",
        "timeout": timeout,
        "max_retries": 0,
        "http_client": http_client,
        "default_headers": default_headers,
        "default_query": default_query,
    }
    if api_version:
        if not base_url:
            raise EndpointError(
                "Azure OpenAI (api_version) needs --base-url https://<resource>.openai.azure.com/openai"
            )
        # Azure OpenAI: openai's own client sends the key as `api-key`, adds `?api-version=`, and
        # puts the model (the deployment name) in the path unless --base-url already names one.
        return openai.AsyncAzureOpenAI(api_version=api_version, base_url=base_url, **common)
    return openai.AsyncOpenAI(base_url=base_url, **common)


class ModelServer:
    """One server, one client, one retry policy; ``post`` returns the answer's JSON body."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        policy: RetryPolicy | None = None,
        redact: Redactor | None = None,
        require_usage: bool = False,
        direct: bool = False,
    ) -> None:
        self.client = client
        self.policy = policy or RetryPolicy()
        # --max-cost counts tokens: an answer without usage leaves the spend unknown, so the first
        # one stops every later request (it is returned, and kept, first).
        self.require_usage = require_usage
        # The HTTP client's timeout bounds each read; this bounds the whole answer, so a body that
        # trickles in a few bytes at a time cannot hold a request for longer than the timeout.
        timeout = client.timeout
        read = timeout if isinstance(timeout, (int, float)) else (timeout.read if timeout is not None else None)
        self.deadline = float(read or 180.0)
        key = client.api_key if client.api_key != "no-key" else None
        self.redact = redact or Redactor.for_endpoint(key, str(client.base_url))
        self.url = self.redact.text(public_url(str(client.base_url)))
        # Set by the first error that says the server cannot work (wrong URL, key, path, a 400 on
        # a parameter every request carries): no request is sent after it, none retried.
        self._fatal: EndpointError | None = None
        self.azure = isinstance(client, openai.AsyncAzureOpenAI)
        # A plain base URL with openai's default HTTP client: the POST goes through aiohttp alone
        # (llmx.model.direct_post); Azure, a default query or a test transport use openai's client.
        self.direct = DirectPost(client) if direct and not self.azure and not client.default_query else None

    async def aclose(self) -> None:
        if self.direct is not None:
            await self.direct.aclose()
        await self.client.close()

    @property
    def fatal(self) -> EndpointError | None:
        """Why no further request may go (the server cannot work, or its answers carry no usage)."""
        return self._fatal

    async def post(self, body: dict[str, Any], path: str = "/chat/completions") -> dict[str, Any]:
        live.check_allowed(f"POST {self.url.rstrip('/')}{path}")
        if self._fatal is not None:
            raise self._fatal
        try:
            answer = await self._post(body, path)
        except EndpointError as error:
            # The server cannot work: the first such error stops the run, and every request in
            # flight reports that same error (the slow start's initial window bounds how many).
            if self._fatal is None:
                self._fatal = error
            raise self._fatal from None
        return self._check_usage(answer)

    def _check_usage(self, answer: dict[str, Any]) -> dict[str, Any]:
        if self.require_usage and self._fatal is None and not reports_usage(answer):
            self._fatal = EndpointError(
                f"{self.url} answered without token usage, so --max-cost cannot be kept (the spend is unknown): "
                "drop --max-cost to go on (answers so far are saved), or use a server that reports usage",
                self.url,
            )
        return answer

    async def _post(self, body: dict[str, Any], path: str) -> dict[str, Any]:
        parts = urlsplit(self.url)
        where = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + path, parts.query, ""))
        if self.azure and "/deployments/" not in self.url:
            where = f"{self.url.rstrip('/')}/deployments/{body.get('model')}{path}"
        try:
            async for attempt in self.policy.retrying():
                with attempt:
                    if self._fatal is not None:  # another request found the server cannot work
                        raise self._fatal
                    content = await self._attempt(body, path, where)
        except openai.APIStatusError as error:
            raise self._status_error(error, where, body) from None
        except openai.APIConnectionError as error:
            timed_out = isinstance(error, openai.APITimeoutError)
            fault = transport_fault(error, where, self.policy.max_attempts, timed_out)
            if fault.kind == "timeout":
                raise TransientModelError(
                    f"{fault.message} ({self.deadline:g} s each); raise --timeout if the model is slow"
                ) from error
            if fault.stops_run:
                raise EndpointError(self.redact.text(fault.message), self.url) from error
            raise TransientModelError(self.redact.text(fault.message)) from error
        try:
            parsed = json.loads(content)
        except ValueError as error:
            raise InvalidOutputError(
                f"{where} answered with a body that is not JSON", self.redact(content[:2000].decode(errors="replace"))
            ) from error
        if not isinstance(parsed, dict):
            raise InvalidOutputError(
                f"{where} answered with JSON that is not an object",
                self.redact(content[:2000].decode(errors="replace")),
            )
        if parsed.get("error") and not parsed.get("choices"):  # a 200 that is an error (some proxies)
            inner = parsed["error"]
            detail = inner.get("message", inner) if isinstance(inner, dict) else inner
            raise ModelError(f"{where} answered 200 with an error: {self.redact(short(str(detail), 400))}")
        return parsed

    async def _attempt(self, body: dict[str, Any], path: str, where: str) -> bytes:
        """One HTTP attempt, its whole answer read within the deadline (else a retried timeout),
        and within what is left of the article's own time when one is running (else the
        article fails ``timeout``: :mod:`llmx.model.article_clock`)."""
        clock = CLOCK.get()
        if clock is None:
            return await self._send(body, path, where, self.deadline)
        with clock.serving() as left:
            try:
                return await self._send(body, path, where, min(self.deadline, left))
            except openai.APITimeoutError:
                if clock.remaining() <= 0:
                    raise clock.expired() from None
                raise

    async def _send(self, body: dict[str, Any], path: str, where: str, deadline: float) -> bytes:
        try:
            async with asyncio.timeout(deadline):
                if self.direct is not None:
                    return await self.direct.post(path, body)
                # The body is plain JSON already (instructor built it), so it goes through
                # openai's documented low-level post: same auth, base URL and timeouts, without
                # re-walking every message and the schema against its TypedDicts (~1-2 ms).
                response = await self.client.post(path, body=body, cast_to=httpx2.Response)
                return bytes(response.content)
        except TimeoutError:
            raise openai.APITimeoutError(request=httpx2.Request("POST", where)) from None

    def _status_error(self, error: openai.APIStatusError, where: str, body: dict[str, Any]) -> Exception:
        status = error.status_code
        detail = self.redact(short(error_detail(error), 400)) or ""
        if is_transient(error):
            return TransientModelError(f"HTTP {status} from {where} after {self.policy.max_attempts} tries: {detail}")
        if 300 <= status < 400:
            return EndpointError(f"HTTP {status} from {where}: {self.redact(redirect_fix(error))}", self.url)
        fatal = AZURE_FATAL_STATUS if self.azure else FATAL_STATUS
        if status in fatal:
            return EndpointError(f"HTTP {status} from {where}: {detail}; {fatal[status]}", self.url)
        param = error_param(error)
        field = param.split(".", 1)[0].split("[", 1)[0] if param else ""
        if status == 400 and param and field in body and field not in PER_ARTICLE_PARAMS:
            model = str(body.get("model"))
            fix = setting_for(param, model)
            return ParameterRejected(
                f"HTTP 400 from {where}: {detail.rstrip('.')}; {model} refuses '{param}': set {fix}",
                self.url,
                param,
            )
        return ModelError(f"HTTP {status} from {where}: {detail}")
