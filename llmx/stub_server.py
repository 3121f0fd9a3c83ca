"""A small OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benchmarks.

Each request is answered by a *script*: a function from (request body, request number) to a
:class:`Reply`, which is either a completion (content, finish reason, usage) or a fault: an
HTTP status with optional ``Retry-After``, a hang, a dropped connection, a non-JSON body, a
refusal or an empty choices list. Nothing here talks to anything but the loopback interface.

    with StubServer(script=always(valid_answer)) as server:
        client = AsyncOpenAI(base_url=server.base_url, api_key="test")
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import httpx2

Fault = Literal["status", "hang", "drop", "non_json", "refusal", "empty_choices"]


@dataclass
class Reply:
    content: str = '{"incidents": []}'
    finish_reason: str = "stop"
    fault: Fault | None = None
    status: int = 200
    retry_after: str | None = None
    delay: float = 0.0
    usage: tuple[int, int] = (100, 20)
    error_message: str | None = None


Script = Callable[[dict[str, Any], int], Reply]


def always(make: Callable[[dict[str, Any]], Reply]) -> Script:
    return lambda body, _number: make(body)


def sequence(*replies: Reply, then: Script | None = None) -> Script:
    """Reply with each in turn; after the last, use ``then`` (default: repeat the last)."""

    def script(body: dict[str, Any], number: int) -> Reply:
        if number < len(replies):
            return replies[number]
        return then(body, number) if then else replies[-1]

    return script


ARTICLE = re.compile(r"<article>\s*(.*?)\s*</article>", re.S)


def first_sentence(body: dict[str, Any]) -> str:
    user = next((m["content"] for m in body.get("messages", []) if m.get("role") == "user"), "")
    match = ARTICLE.search(user)
    text = match.group(1) if match else user
    return re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]


def valid_answer(body: dict[str, Any]) -> Reply:
    """One schema-valid incident whose evidence is the article's first sentence (grounded)."""
    incident = {
        "date": None,
        "date_text": None,
        "location": "Ain al-Asad airbase",
        "admin_region": "Anbar",
        "country": "Iraq",
        "attacker": None,
        "claimed_by": "Islamic Resistance in Iraq",
        "target": "US forces",
        "weapon": "drone",
        "intercepted": None,
        "killed": None,
        "injured": 0,
        "evidence": first_sentence(body),
    }
    return Reply(content=json.dumps({"incidents": [incident]}))


def chat_completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """The JSON body of a chat completion for ``reply`` (refusal and empty choices included)."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.fault == "refusal":
        message = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
    prompt, completion = reply.usage
    choices = [{"index": 0, "message": message, "finish_reason": reply.finish_reason}]
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "stub"),
        "choices": [] if reply.fault == "empty_choices" else choices,
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }


def mock_transport(script: Script, requests: list[dict[str, Any]] | None = None) -> httpx2.MockTransport:
    """The same scripted answers in process, without a socket (for unit tests)."""
    seen = requests if requests is not None else []

    def handle(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content or b"{}")
        seen.append(body)
        reply = script(body, len(seen) - 1)
        if reply.fault == "status":
            headers = {"retry-after": reply.retry_after} if reply.retry_after else {}
            return httpx2.Response(
                reply.status, json={"error": {"message": f"injected {reply.status}"}}, headers=headers
            )
        if reply.fault == "non_json":
            return httpx2.Response(200, content=b"<html>upstream proxy error</html>")
        if reply.fault in ("hang", "drop"):
            raise (
                httpx2.ReadTimeout("injected", request=request)
                if reply.fault == "hang"
                else httpx2.RemoteProtocolError("injected", request=request)
            )
        return httpx2.Response(200, json=chat_completion(body, reply))

    return httpx2.MockTransport(handle)


@dataclass
class StubServer:
    script: Script = field(default_factory=lambda: always(valid_answer))
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes; with Nagle on, the body waits for the
            # client's delayed ACK (~40 ms a request), which would be measured as llmx's overhead.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                self._send(200, b'{"status": "ok"}')

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with stub._lock:
                    number = len(stub.requests)
                    stub.requests.append(body)
                    stub.headers.append({k.lower(): v for k, v in self.headers.items()})
                reply = stub.script(body, number)
                if stub.delay or reply.delay:
                    time.sleep(stub.delay + reply.delay)
                stub._answer(self, body, reply)

            def _send(self, status: int, payload: bytes, extra: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

        self._handler = Handler
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def _answer(self, handler: Any, body: dict[str, Any], reply: Reply) -> None:
        if reply.fault == "hang":
            self._stop.wait(600)  # the client times out first; the server thread is a daemon
            return
        if reply.fault == "drop":
            handler.connection.shutdown(socket.SHUT_RDWR)
            handler.close_connection = True
            return
        if reply.fault == "status":
            extra = {"retry-after": reply.retry_after} if reply.retry_after else {}
            error = {"error": {"message": reply.error_message or f"injected {reply.status}", "type": "server_error"}}
            handler._send(reply.status, json.dumps(error).encode(), extra)
            return
        if reply.fault == "non_json":
            handler._send(200, b"<html>upstream proxy error</html>")
            return
        handler._send(200, json.dumps(chat_completion(body, reply)).encode())

    def __enter__(self) -> StubServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()


def main() -> None:
    """``python -m llmx.stub_server --delay 0.2``: serve valid answers until killed; prints the base URL."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before each answer")
    options = parser.parse_args()
    with StubServer(delay=options.delay) as server:
        print(server.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
