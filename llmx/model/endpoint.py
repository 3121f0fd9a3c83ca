"""Where a model is: the base URL, the key, how long to wait, what to say about who served it.

An :class:`Endpoint` is resolved from settings and options by :mod:`llmx.app.run.endpoint`; it is
plain data, so a Ray worker or a batch client can be handed one and build its own client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from llmx.core.redact import Redactor, public_url
from llmx.errors import EndpointError

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
        """Every form of the key and of what the base URL carries (query values, a key in its path)."""
        return Redactor.for_endpoint(self.api_key, self.base_url)


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
