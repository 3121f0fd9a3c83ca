"""Redaction: secrets out of every text llmx writes or shows. The one place that knows what a
secret looks like; run files, cassettes, batch files, messages and the terminal all go through
a :class:`Redactor`.

A key can reach text in many forms: as given (an error body, a proxy echoing it into the answer),
URL-encoded (in a query or a path), JSON-escaped, base64 (a Basic auth header echoed back). The
secrets are the API key and what a base URL carries: its user and password, every query value,
and each path segment that looks like a credential (``/k/sk-proj-…/v1``, a 32-character token).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode, urlsplit, urlunsplit

REDACTED = "***"
MIN_SECRET = 4  # shorter strings are too common in text to be replaced everywhere

# Prefixes of API keys and tokens in the wild (OpenAI, Anthropic, Groq, xAI, Hugging Face, GitHub, Google).
_KEY_PREFIX = re.compile(r"^(sk|pk|rk|gsk|xai|hf|ghp|gho|key|api|token|bearer)[-_]|^AIza", re.IGNORECASE)
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_\-.~+/=]+")


def looks_like_secret(segment: str) -> bool:
    """A URL path segment that is probably a credential: a known key prefix, or a long token
    (16+ characters mixing upper case, lower case and digits, or 32+ letters and digits).
    Deployment and model names (``gpt-4o-mini-2024-07-18``) are lower case and stay."""
    text = unquote(segment)
    if len(text) < 12 or not _TOKEN_CHARS.fullmatch(text):
        return False
    if _KEY_PREFIX.match(text):
        return True
    classes = sum(bool(re.search(pattern, text)) for pattern in ("[a-z]", "[A-Z]", "[0-9]"))
    return (len(text) >= 16 and classes == 3) or (len(text) >= 32 and classes >= 2)


def url_secrets(url: str | None) -> list[str]:
    """The secrets a base URL carries: user, password, query values, credential-like path segments."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
        found = [parts.username or "", parts.password or ""]
    except ValueError:
        return []
    found += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
    found += [unquote(segment) for segment in parts.path.split("/") if looks_like_secret(segment)]
    return [s for s in found if len(s) >= MIN_SECRET]


def public_url(url: str) -> str:
    """A URL safe to write down: no user or password, every query value and every credential-like
    path segment redacted."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return REDACTED
    netloc = f"{host}:{port}" if port else host
    query = urlencode([(k, REDACTED) for k, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    path = "/".join(REDACTED if looks_like_secret(s) else s for s in parts.path.split("/"))
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def forms(secret: str) -> set[str]:
    """Every way ``secret`` may be written: as is, URL-encoded, JSON-escaped, base64 (alone and as
    the password of a Basic auth header)."""
    found = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    for raw in (secret, f":{secret}"):
        encoded = base64.b64encode(raw.encode()).decode()
        found |= {encoded, encoded.rstrip("=")}
    return {f for f in found if len(f) >= MIN_SECRET}


_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


class Redactor:
    """Removes known secrets (in every form), and credentials inside URLs, from any text."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        known = {s for s in secrets if s and len(s) >= MIN_SECRET}
        self.secrets = sorted(known, key=len, reverse=True)
        self._forms = sorted({f for s in known for f in forms(s)}, key=len, reverse=True)
        # A form JSON leaves as it is shows in a dump wherever it shows in a string; one with a
        # quote, a backslash or a control character would not, so its values are always walked.
        self._dump_shows_forms = all(json.dumps(f, ensure_ascii=False)[1:-1] == f for f in self._forms)

    @classmethod
    def for_endpoint(cls, api_key: str | None, base_url: str | None) -> Redactor:
        return cls([api_key, *url_secrets(base_url)])

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], argv: Iterable[str] = ()) -> Redactor:
        """What a process may hold: the keys in the environment, and the base URLs it was given
        (``OPENAI_BASE_URL``, ``--base-url``) with what they carry. For the CLI's last line."""
        args = list(argv)
        urls = [environ.get("OPENAI_BASE_URL")] + [a for a in args if "://" in a]
        urls += [a.split("=", 1)[1] for a in args if a.startswith("--base-url=")]
        keys = [environ.get(name) for name in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY")]
        return cls([*keys, *(s for url in urls for s in url_secrets(url))])

    def __call__(self, text: str | None) -> str | None:
        if text is None:
            return None
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        if "://" not in text:
            return text
        return _URL.sub(lambda m: public_url(m.group(0)) if _has_credentials(m.group(0)) else m.group(0), text)

    def text(self, text: str) -> str:
        """``__call__`` for a text that is never None."""
        return self(text) or ""

    def json(self, value: Any) -> Any:
        """A JSON-like value with every string (and key) redacted. The value itself when nothing in
        it needs redacting: one C-encoded dump to look replaces a walk of every node (an answer with
        log-probabilities has hundreds), which cost the live path ~1 ms a request."""
        try:
            dumped = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):  # not JSON-like all through: walk it
            return self._walk(value)
        if self._dump_shows_forms and "://" not in dumped and not any(form in dumped for form in self._forms):
            return value
        return self._walk(value)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self._walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._walk(v) for v in value]
        return value


def _has_credentials(url: str) -> bool:
    return "@" in url or "?" in url or public_url(url) != url
