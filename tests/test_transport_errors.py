"""Every way a request can fail below HTTP says what happened, where and what to do (issue 33):
a redirect loop is a redirect loop, not "cannot connect"; a TLS or HTTP mismatch is named and not
retried; a body cut off or undecodable fails the article, the run goes on. Each case is a real
server on 127.0.0.1 sending those bytes (llmx/testing/transport_faults.py), driven through the CLI
and through openai's own client (the path Azure and a default query take)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from llmx.errors import EndpointError, TransientModelError
from llmx.model.retry import RetryPolicy
from llmx.model.server import ModelServer, make_client
from llmx.testing.transport_faults import FaultServer
from tests.helpers import extract_args, run_cli
from tests.test_silent_cases import configure, error_line

SEED = "seeds/000_e376b6ba81a78c64.txt"

# fault, exit code, words the one error line (or the article's failure) must hold
CASES = [
    ("redirect_loop", 2, ["redirects in a loop", "too many redirects", "/v1/chat/completions", "set --base-url"]),
    ("redirect_ftp", 2, ["redirects to a URL llmx cannot follow", "ftp://files.example/v1"]),
    ("not_http", 2, ["not valid HTTP", "Bad status line", "is port"]),
    ("long_header", 2, ["not valid HTTP", "8190 bytes"]),
    ("bad_chunk", 2, ["not valid HTTP", "chunk"]),
    ("plain_for_tls", 2, ["failed the TLS handshake", "write http:// in --base-url"]),
    ("short_body", 1, ["answer body that was cut off", "content length", "2 tries"]),
    ("bad_gzip", 1, ["cannot be decoded", "gzip", "2 tries"]),
]


def _url(server: FaultServer) -> str:
    return server.tls_base_url if server.fault in ("plain_for_tls", "self_signed") else server.base_url


@pytest.mark.parametrize(("fault", "code", "words"), CASES, ids=[c[0] for c in CASES])
def test_a_transport_fault_is_named_from_the_cli(
    project: Path, live_requests: None, fault: str, code: int, words: list[str]
) -> None:
    configure(project, "max_wait = 0.05", "max_attempts = 2")
    with FaultServer(fault) as server:
        result = run_cli(*extract_args(_url(server), "runs/t", inputs=SEED))
    said = error_line(result.output) if code == 2 else result.output
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word.lower() in " ".join(said.split()).lower(), (word, said)
    assert "cannot connect" not in said


def test_a_redirect_loop_is_not_retried(project: Path, live_requests: None) -> None:
    configure(project, "max_wait = 0.05", "max_attempts = 5")
    with FaultServer("redirect_loop") as server:
        result = run_cli(*extract_args(server.base_url, "runs/loop", inputs=SEED))
        asked = server.requests
    assert result.exit_code == 2 and "redirects in a loop" in error_line(result.output)
    assert asked <= 11, asked  # one attempt (the client follows 10 redirects), not 5 attempts × 10


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_an_untrusted_certificate_names_ssl_cert_file(project: Path, live_requests: None) -> None:
    with FaultServer("self_signed") as server:
        result = run_cli(*extract_args(server.tls_base_url, "runs/tls", inputs=SEED))
    line = error_line(result.output)
    assert result.exit_code == 2 and "TLS certificate this machine does not trust" in line
    assert "SSL_CERT_FILE" in line and server.tls_base_url in line


def test_a_host_that_does_not_resolve_is_named(project: Path, live_requests: None) -> None:
    configure(project, "max_wait = 0.05", "max_attempts = 1")
    result = run_cli(*extract_args("http://no-such-host.invalid/v1", "runs/dns", inputs=SEED))
    line = error_line(result.output)
    assert result.exit_code == 2 and "the host name 'no-such-host.invalid' does not resolve" in line


def _through_openai_client(url: str) -> BaseException:
    """One request through openai's own client (its vendored aiohttp transport re-raises
    aiohttp's errors as httpx2's): the path Azure OpenAI and a default query take."""

    async def ask() -> BaseException:
        client = make_client("k", url, 5, default_query={"q": "1"})
        server = ModelServer(client, RetryPolicy(max_attempts=2, initial_wait=0.001, max_wait=0.01))
        try:
            await server.post({"model": "m", "messages": []})
        except Exception as error:
            return error
        finally:
            await server.aclose()
        raise AssertionError("no error")

    return asyncio.run(ask())


@pytest.mark.parametrize(
    ("fault", "kind", "words"),
    [
        ("redirect_loop", EndpointError, "redirects in a loop"),
        ("redirect_ftp", EndpointError, "redirects to a URL llmx cannot follow"),
        ("not_http", EndpointError, "not valid HTTP"),
        ("plain_for_tls", EndpointError, "write http://"),
        ("short_body", TransientModelError, "cut off"),
    ],
)
def test_openais_own_client_says_the_same(live_requests: None, fault: str, kind: type, words: str) -> None:
    with FaultServer(fault) as server:
        error = _through_openai_client(_url(server))
    assert isinstance(error, kind) and words in str(error), repr(error)


def test_a_refused_connection_through_openais_client_is_not_a_timeout(live_requests: None) -> None:
    error = _through_openai_client("http://127.0.0.1:9/v1")
    assert isinstance(error, EndpointError) and "connection refused (nothing listens on 127.0.0.1 port 9)" in str(error)


def test_the_batch_api_names_a_redirect_loop_too(project: Path, live_requests: None) -> None:
    configure(project, "max_wait = 0.05", "max_attempts = 2")
    with FaultServer("redirect_loop") as server:
        args = ["extract", SEED, "--batch", "--base-url", server.base_url, "--cassettes", "tape", "--out", "runs/b"]
        result = run_cli(*args, "--strategy", "single", env={"OPENAI_API_KEY": "sk-test"})
    line = error_line(result.output)
    assert result.exit_code == 2 and line.startswith("error: Batch API upload:") and "redirects in a loop" in line
