"""What a model server's failure says, read out of openai's and aiohttp's exceptions: the
message a server put in an error body, the parameter it names, and whether the connection was
refused, dropped or just slow (openai's aiohttp transport reports all three as timeouts)."""

from __future__ import annotations

from typing import Any

import openai

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


def error_detail(error: openai.APIStatusError) -> str:
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


def error_param(error: openai.APIStatusError) -> str | None:
    """The request field an OpenAI-style error names (``{"error": {"param": "max_tokens"}}``)."""
    body = error.body
    inner = body.get("error") if isinstance(body, dict) else None
    param = (inner if isinstance(inner, dict) else body if isinstance(body, dict) else {}).get("param")
    return param if isinstance(param, str) and param else None


def cannot_connect(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ConnectionError) or "cannot connect" in str(seen).lower():
            return True
        if type(seen).__name__ in ("ConnectError", "ClientConnectorError"):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def reports_usage(answer: dict[str, Any]) -> bool:
    usage = answer.get("usage")
    if not isinstance(usage, dict):
        return False
    counts = [usage.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens")]
    return any(isinstance(n, int) and n > 0 for n in counts)


_DROPPED = ("ServerDisconnectedError", "RemoteProtocolError", "ClientPayloadError", "ConnectionResetError")


def dropped(error: BaseException) -> bool:
    """The connection closed mid-request (not a timeout, not a refusal to connect)."""
    seen: BaseException | None = error
    while seen is not None:
        if type(seen).__name__ in _DROPPED or "server disconnected" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def root_cause(error: BaseException) -> str:
    seen: BaseException = error
    while seen.__cause__ is not None or seen.__context__ is not None:
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    text = str(seen).strip() or type(seen).__name__
    return short(text, 120)


def short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
