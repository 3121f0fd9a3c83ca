"""A model server that misbehaves: statuses, bodies that are not answers, slow or no answers,
faults below HTTP. One seed article, recorded into an empty cassette folder, 2 tries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial

from bad_kinds import LIVE, SEED, Kind, configure, says, stub

FAST = configure("max_attempts = 2", "max_wait = 0.05")


def faulty(name: str, server: Callable[[], AbstractContextManager[str]], *options: str, **extra: object) -> Kind:
    return Kind(
        name,
        "server",
        ["extract", SEED, *options, *LIVE, "--out", "runs/x"],
        FAST,
        server=server,  # type: ignore[arg-type]
        env={"OPENAI_API_KEY": "sk-bench-0000"},
        **extra,
    )  # type: ignore[arg-type]


def fixed(status: int, body: bytes) -> Callable[[], AbstractContextManager[str]]:
    return partial(stub, (status, body))


def scripted(**reply: object) -> Callable[[], AbstractContextManager[str]]:
    from llmx.testing.fake_model import Reply

    return partial(stub, script=lambda body, n: Reply(**reply))  # type: ignore[arg-type]


def answering(content: str) -> Callable[[], AbstractContextManager[str]]:
    from llmx.testing.fake_model import Reply

    return partial(stub, script=lambda body, n: Reply(content=content))


def transport(fault: str, tls: bool = False) -> Callable[[], AbstractContextManager[str]]:
    @contextmanager
    def serve() -> Iterator[str]:
        from llmx.testing.transport_faults import FaultServer

        with FaultServer(fault) as server:
            yield server.tls_base_url if tls else server.base_url

    return serve


def huge_count() -> AbstractContextManager[str]:
    from llmx.testing.fake_model import schema_answer

    return stub(script=lambda body, n: schema_answer(body, killed=10**20))


@contextmanager
def nothing_there() -> Iterator[str]:
    yield "http://127.0.0.1:9/v1"


KINDS = [
    faulty("500 every time", fixed(500, b'{"error": {"message": "boom"}}')),
    faulty("502 HTML page", fixed(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>"), check=says("HTML page")),
    faulty("429 every time", scripted(fault="status", status=429, retry_after="0")),
    faulty("401", fixed(401, b'{"error": {"message": "bad key sk-bench-0000"}}'), check=says("OPENAI_API_KEY")),
    faulty("404 HTML", fixed(404, b"<html>Not Found</html>"), check=says("/v1")),
    faulty("200 HTML body", fixed(200, b"<html>login required</html>")),
    faulty("200 empty body", fixed(200, b"")),
    faulty("200 invalid JSON", fixed(200, b'{"choices": [')),
    faulty("200 JSON array", fixed(200, b"[1, 2]")),
    faulty("200 choices null", fixed(200, b'{"choices": null}')),
    faulty(
        "200 message without content",
        fixed(200, b'{"choices": [{"index": 0, "message": {"role": "assistant"}, "finish_reason": "stop"}]}'),
    ),
    faulty("200 error object", scripted(fault="error_200", error_message="quota exceeded")),
    faulty("empty choices", scripted(fault="empty_choices")),
    faulty("answer not JSON", answering("Here are the incidents: none.")),
    faulty("answer JSON of another shape", answering('{"events": []}')),
    faulty("answer with a count of 10**20", huge_count),
    faulty("refusal", scripted(fault="refusal", content="I cannot help with that.")),
    faulty("truncated (length)", scripted(finish_reason="length", content='{"incidents": [')),
    faulty("slow body", scripted(fault="drip", delay=0.3, content="{" + " " * 300 + "}"), "--timeout", "1", timeout=60),
    faulty("no answer (hang)", scripted(fault="hang"), "--timeout", "1", timeout=60),
    faulty("dropped connection", scripted(fault="drop")),
    faulty("connection refused", nothing_there),
    faulty("redirect loop", transport("redirect_loop"), check=says("redirects in a loop")),
    faulty("redirect to ftp", transport("redirect_ftp")),
    faulty("not HTTP", transport("not_http")),
    faulty("body cut short", transport("short_body")),
    faulty("bad gzip", transport("bad_gzip")),
    faulty("plain HTTP behind https://", transport("plain_for_tls", tls=True), check=says("http://")),
]
