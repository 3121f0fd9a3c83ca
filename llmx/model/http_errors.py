"""What a model server's HTTP error answer says, read out of openai's exceptions: the message a
server put in an error body, the parameter it names, where a redirect that was not followed
points. (A request that got no answer at all: :mod:`llmx.model.transport_errors`.)"""

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


def redirect_fix(error: openai.APIStatusError) -> str:
    """A 3xx that reached llmx (a client that does not follow redirects, or one with no Location)."""
    location = error.response.headers.get("location") if error.response is not None else None
    if not location:
        return "a redirect with no Location: set --base-url to the API's own address"
    return f"redirects to {short(location, 160)}, not followed: set --base-url to that address"


def error_param(error: openai.APIStatusError) -> str | None:
    """The request field an OpenAI-style error names (``{"error": {"param": "max_tokens"}}``)."""
    body = error.body
    inner = body.get("error") if isinstance(body, dict) else None
    param = (inner if isinstance(inner, dict) else body if isinstance(body, dict) else {}).get("param")
    return param if isinstance(param, str) and param else None


def reports_usage(answer: dict[str, Any]) -> bool:
    usage = answer.get("usage")
    if not isinstance(usage, dict):
        return False
    counts = [usage.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens")]
    return any(isinstance(n, int) and n > 0 for n in counts)


def short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
