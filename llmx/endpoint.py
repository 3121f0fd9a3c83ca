"""Where answers come from: resolve the model server (an API, any OpenAI-compatible base URL,
or the local llama-server) and the cassette policy, and build the gateway for a run."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from llmx.cassette_gateway import CassetteGateway
from llmx.cassettes import CassettePolicy, CassetteStore
from llmx.config import Settings
from llmx.errors import EndpointError, UsageError
from llmx.files import Redactor, public_url
from llmx.retry import RetryPolicy

OPENAI_URL = "https://api.openai.com/v1"
LOCAL_TIMEOUT = 900.0  # the local server queues requests beyond its slots: a wait is not a hang


@dataclass
class Endpoint:
    base_url: str | None = None
    api_key: str | None = None
    served_by: dict[str, str] = field(default_factory=dict)
    extra_body: dict[str, Any] = field(default_factory=dict)
    timeout: float = 180.0
    api_version: str | None = None  # Azure OpenAI

    @property
    def live_possible(self) -> bool:
        return bool(self.base_url or self.api_key)

    @property
    def redact(self) -> Redactor:
        return Redactor([self.api_key])


def api_key_from_env(settings: Settings, environ: Mapping[str, str]) -> str | None:
    """The key from the environment: Azure OpenAI's own variable first (as openai's client reads
    it) when ``api_version`` says Azure, else OPENAI_API_KEY."""
    key = environ.get("OPENAI_API_KEY") or None
    if settings.api_version:
        key = environ.get("AZURE_OPENAI_API_KEY") or key
    return key


def check_base_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise EndpointError(
            f"--base-url {public_url(url)!r} is not an http(s) URL; give one like http://127.0.0.1:8080/v1", url
        )
    if parts.username or parts.password:
        # The key travels in the Authorization header; a user:password in the URL cannot go with it.
        raise EndpointError(
            f"--base-url {public_url(url)!r} carries a user or password; put the key in OPENAI_API_KEY instead",
            public_url(url),
        )


def resolve_endpoint(
    settings: Settings,
    base_url: str | None,
    use_local: bool,
    api_key: str | None,
    on_step: Callable[[str], None] = lambda step: None,
) -> Endpoint:
    """The server the settings and options name. ``--local`` starts the local server if needed."""
    extra_body = dict(settings.extra_body)
    if use_local:
        from llmx import local

        state = local.up(on_step)
        # As the server was started: off by default, because answers then repeat token for token
        # (bench/LOCAL.md); `llmx local up --cache-prompt` turns it on for both.
        extra_body.setdefault("cache_prompt", state.cache_prompt)
        return Endpoint(
            base_url=state.base_url,
            served_by={
                "server": f"llama.cpp llama-server ({local.SERVER_PACKAGE})",
                "model_file": local.MODEL_FILE,
                "model_sha256": state.model_sha256,
            },
            extra_body=extra_body,
            timeout=max(settings.timeout, LOCAL_TIMEOUT),
        )
    if base_url:
        check_base_url(base_url)
    if settings.api_version and not base_url and api_key:
        raise UsageError(
            f"api_version {settings.api_version} means Azure OpenAI: give --base-url "
            "https://<resource>.openai.azure.com/openai (and --model the deployment name)"
        )
    if not (base_url or api_key):
        return Endpoint(extra_body=extra_body, timeout=settings.timeout)
    url = base_url or OPENAI_URL
    served_by = {"base_url": public_url(url)}
    if settings.api_version:
        served_by["api_version"] = settings.api_version
    return Endpoint(url, api_key, served_by, extra_body, settings.timeout, settings.api_version)


def choose_policy(requested: CassettePolicy | None, endpoint: Endpoint, in_ci: bool) -> CassettePolicy:
    """Strict replay with no model (and always in CI); with a model, replay what is recorded and record the rest."""
    policy: CassettePolicy = requested or ("auto" if endpoint.live_possible and not in_ci else "replay")
    if policy != "replay" and not endpoint.live_possible:
        raise UsageError(f"--{policy} needs a model to call: add --local, or --base-url URL, or set OPENAI_API_KEY")
    return policy


def build_gateway(settings: Settings, endpoint: Endpoint, policy: CassettePolicy) -> CassetteGateway:
    store = CassetteStore(settings.cassettes)
    server = None
    if endpoint.live_possible and policy != "replay":
        from llmx.model_server import ModelServer, make_client  # openai: only when a model may be called

        store.check_writable()
        from llmx.rate_control import RateController

        client = make_client(endpoint.api_key, endpoint.base_url, endpoint.timeout, api_version=endpoint.api_version)
        # Up to `concurrency` requests in flight, fewer while the server answers 429 (AIMD).
        rate = RateController(settings.concurrency, max_pause=settings.max_wait)
        retry = RetryPolicy(max_attempts=settings.max_attempts, max_wait=settings.max_wait, rate=rate)
        server = ModelServer(client, retry)
    return CassetteGateway(server, store, policy, settings.mode, endpoint.served_by, endpoint.extra_body)
