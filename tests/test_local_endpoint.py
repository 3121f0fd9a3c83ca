"""`extract --local` asks the server for what it was started with: the prompt cache on or off."""

from __future__ import annotations

import pytest

from llmx.app.run.endpoint import resolve_endpoint
from llmx.inputs.config import Settings
from llmx.model import local_server as local


@pytest.mark.parametrize("cache", [False, True])
def test_local_requests_follow_the_servers_prompt_cache(monkeypatch: pytest.MonkeyPatch, cache: bool) -> None:
    state = local.ServerState(
        pid=1, port=1, base_url="http://127.0.0.1:1/v1", model="m", model_sha256="x", started_at=0.0,
        slots=2, cache_prompt=cache,
    )  # fmt: skip
    monkeypatch.setattr(local, "up", lambda progress, **kwargs: state)
    endpoint = resolve_endpoint(Settings(), None, True, None)
    assert endpoint.extra_body["cache_prompt"] is cache and endpoint.base_url == state.base_url
