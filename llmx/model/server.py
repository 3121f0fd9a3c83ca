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
from llmx.model.params import setting_for
from llmx.model.retry import RetryPolicy, is_transient

FATAL_STATUS = {
    401: "the server refused the API key: check OPENAI_API_KEY",
    403: "the key may not use this model or endpoint: check the key's permissions and --model",
    # Ollama and vLLM answer 404 for a model they do not have, too
    404: "no chat-completions endpoint or no such model there: does --base-url end in /v1, "
    "does the server have --model?",
}
AZURE_FATAL_STATUS = {
    **FATAL_STATUS,
    401: "the server refused the key: check AZURE_OPENAI_API_KEY (sent as the api-key header)",
    404: "no such deployment or API version: is --model the deployment name, --base-url "
    "https://<resource>.openai.azure.com/openai and --api-version right?",
}
# Fields of a 400 that concern one article's text, not a setting shared by every request: a
# prompt over the context window ("messages"), Azure's content filter ("prompt"). Those fail the
# article; a 400 on any other field of the request stops the run.
PER_ARTICLE_PARAMS = ("messages", "prompt", "input")


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

    def __init__(self, client: openai.AsyncOpenAI, policy: RetryPolicy | None = None) -> None:
        self.client = client
        self.policy = policy or RetryPolicy()
        self.url = public_url(str(client.base_url))
        self.redact = Redactor([client.api_key])
        # The first request goes alone: if the server cannot work at all (wrong URL, key, path),
        # that is found once, not once per article in flight.
        self._first = asyncio.Lock()
        self._proven = False
        self._fatal: EndpointError | None = None
        self.azure = isinstance(client, openai.AsyncAzureOpenAI)

    async def aclose(self) -> None:
        await self.client.close()

    async def post(self, body: dict[str, Any], path: str = "/chat/completions") -> dict[str, Any]:
        live.check_allowed(f"POST {self.url.rstrip('/')}{path}")
        if not self._proven:
            async with self._first:
                if self._fatal is not None:
                    raise self._fatal
                if not self._proven:
                    return await self._prove(body, path)
        # Proven while this one waited: it goes now, beside the others that waited (not after them,
        # one by one under the lock: that made the first `concurrency` requests a queue).
        return await self._post(body, path)

    async def _prove(self, body: dict[str, Any], path: str) -> dict[str, Any]:
        """The first request, alone: a server that cannot work at all is found once."""
        try:
            answer = await self._post(body, path)
        except EndpointError as error:
            self._fatal = error
            raise
        except Exception:
            self._proven = True  # reachable, this request just failed: the others may go
            raise
        self._proven = True
        return answer

    async def _post(self, body: dict[str, Any], path: str) -> dict[str, Any]:
        parts = urlsplit(self.url)
        where = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + path, parts.query, ""))
        if self.azure and "/deployments/" not in self.url:
            where = f"{self.url.rstrip('/')}/deployments/{body.get('model')}{path}"
        try:
            async for attempt in self.policy.retrying():
                with attempt:
                    # The body is plain JSON already (instructor built it), so it goes through
                    # openai's documented low-level post: same auth, base URL and timeouts, without
                    # re-walking every message and the schema against its TypedDicts (~1-2 ms).
                    response = await self.client.post(path, body=body, cast_to=httpx2.Response)
                    content = response.content
        except openai.APIStatusError as error:
            raise self._status_error(error, where, body) from None
        except openai.APIConnectionError as error:
            tries = self.policy.max_attempts
            # openai's aiohttp transport reports a refused connection as a timeout; tell them apart.
            if isinstance(error, openai.APITimeoutError) and not _cannot_connect(error):
                raise TransientModelError(
                    f"no answer from {where} within the timeout, {tries} tries; raise --timeout if the model is slow"
                ) from error
            cause = _root_cause(error)
            raise EndpointError(
                f"cannot connect to {where} ({cause}) after {tries} tries; is the server running, is --base-url right?",
                self.url,
            ) from error
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
        return parsed

    def _status_error(self, error: openai.APIStatusError, where: str, body: dict[str, Any]) -> Exception:
        status = error.status_code
        detail = self.redact(_short(_error_detail(error), 400)) or ""
        if is_transient(error):
            return TransientModelError(f"HTTP {status} from {where} after {self.policy.max_attempts} tries: {detail}")
        fatal = AZURE_FATAL_STATUS if self.azure else FATAL_STATUS
        if status in fatal:
            return EndpointError(f"HTTP {status} from {where}: {detail}; {fatal[status]}", self.url)
        param = _error_param(error)
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


def _error_detail(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        nested = body.get("error")
        inner: dict[str, Any] = nested if isinstance(nested, dict) else body
        text = str(inner.get("message") or error.message)
    else:
        text = error.response.text if error.response is not None else str(error.message)
    if "<html" in text.lower() or "<!doctype" in text.lower():
        return "an HTML page, not an API answer"
    return text


def _error_param(error: openai.APIStatusError) -> str | None:
    """The request field an OpenAI-style error names (``{"error": {"param": "max_tokens"}}``)."""
    body = error.body
    inner = body.get("error") if isinstance(body, dict) else None
    param = (inner if isinstance(inner, dict) else body if isinstance(body, dict) else {}).get("param")
    return param if isinstance(param, str) and param else None


def _cannot_connect(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ConnectionError) or "cannot connect" in str(seen).lower():
            return True
        if type(seen).__name__ in ("ConnectError", "ClientConnectorError"):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _root_cause(error: BaseException) -> str:
    seen: BaseException = error
    while seen.__cause__ is not None or seen.__context__ is not None:
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    text = str(seen).strip() or type(seen).__name__
    return _short(text, 120)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
