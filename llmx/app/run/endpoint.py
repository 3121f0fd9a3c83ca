"""Where answers come from: resolve the model server (an API, any OpenAI-compatible base URL,
or the local llama-server) and the cassette policy, and build the gateway for a run."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from llmx.cassettes.backend import CassetteBackend
from llmx.cassettes.gateway import Gateway, RecordingGateway, ReplayGateway
from llmx.cassettes.store import CassettePolicy
from llmx.cassettes.stores import check_readable, open_store
from llmx.core.redact import Redactor, public_url
from llmx.errors import UsageError
from llmx.inputs.config import Settings
from llmx.model.endpoint import LOCAL_TIMEOUT, OPENAI_URL, Endpoint, check_base_url
from llmx.model.retry import RetryPolicy

if TYPE_CHECKING:
    from llmx.model.server import ModelServer


def api_key_from_env(settings: Settings, environ: Mapping[str, str]) -> str | None:
    """The key from the environment: Azure OpenAI's own variable first (as openai's client reads
    it) when ``api_version`` says Azure, else OPENAI_API_KEY."""
    key = environ.get("OPENAI_API_KEY") or None
    if settings.api_version:
        key = environ.get("AZURE_OPENAI_API_KEY") or key
    return key


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
        from llmx.model import local_server as local

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
            # The local server queues what its slots cannot take, so its default wait is long; a
            # timeout the user set (option or config) is theirs, and is kept.
            timeout=settings.timeout if "timeout" in settings.model_fields_set else LOCAL_TIMEOUT,
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
    served_by = {"base_url": Redactor.for_endpoint(api_key, url).text(public_url(url))}
    if settings.api_version:
        served_by["api_version"] = settings.api_version
    return Endpoint(url, api_key, served_by, extra_body, settings.timeout, settings.api_version)


def choose_policy(requested: CassettePolicy | None, endpoint: Endpoint, in_ci: bool) -> CassettePolicy:
    """Strict replay with no model (and always in CI); with a model, replay what is recorded and record the rest."""
    policy: CassettePolicy = requested or ("auto" if endpoint.live_possible and not in_ci else "replay")
    if policy != "replay" and not endpoint.live_possible:
        raise UsageError(f"--{policy} needs a model to call: add --local, or --base-url URL, or set OPENAI_API_KEY")
    return policy


def build_gateway(
    settings: Settings,
    endpoint: Endpoint,
    policy: CassettePolicy,
    store: CassetteBackend | None = None,
    server: ModelServer | None = None,
) -> Gateway:
    """The gateway a run's policy needs: strict replay, or the model server behind the cassettes.
    Open it with ``async with`` in the loop that uses it: that closes its connections. The Ray
    engine hands in its own ``store`` and ``server`` (shared through actors)."""
    store = store or open_store(settings.cassette_store, settings.cassettes, endpoint.redact)
    check_readable(store)
    if policy == "replay" or not endpoint.live_possible:
        return ReplayGateway(store, settings.mode)
    store.check_writable()
    return RecordingGateway(
        store,
        settings.mode,
        server or build_server(settings, endpoint),
        policy,
        served_by=endpoint.served_by,
        extra_body=endpoint.extra_body,
    )


def build_server(settings: Settings, endpoint: Endpoint, concurrency: int | None = None) -> ModelServer:
    """The model server: openai's client, the retry policy, and the adaptive window of requests
    in flight (up to ``concurrency``, fewer while the server answers 429)."""
    from llmx.model.rate_control import RateController
    from llmx.model.server import ModelServer, make_client  # openai: only when a model may be called

    client = make_client(endpoint.api_key, endpoint.base_url, endpoint.timeout, api_version=endpoint.api_version)
    rate = RateController(concurrency or settings.concurrency, max_pause=settings.max_wait)
    retry = RetryPolicy(max_attempts=settings.max_attempts, max_wait=settings.max_wait, rate=rate)
    return ModelServer(client, retry, endpoint.redact, require_usage=settings.max_cost is not None, direct=True)
