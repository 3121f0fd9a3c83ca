"""A small OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benchmarks.

Each request is answered by a *script* (see :mod:`llmx.testing.fake_model`): a completion, or a
fault: an HTTP status with optional ``Retry-After``, a hang, a dropped connection, a non-JSON
body, a refusal or an empty choices list. Nothing here talks to anything but the loopback
interface. The default script answers from the request's own schema.

    with StubServer() as server:
        client = AsyncOpenAI(base_url=server.base_url, api_key="test")
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from llmx.testing.fake_model import Reply, Script, always, chat_completion, schema_answer


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a cancelled request, a test that stopped early) is not news."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class StubServer:
    script: Script = field(default_factory=lambda: always(schema_answer))
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # path and query of each request
    statuses: list[int] = field(default_factory=list)  # status of each answer sent

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
                headers = {k.lower(): v for k, v in self.headers.items()}
                with stub._lock:
                    number = len(stub.requests)
                    stub.requests.append(body)
                    stub.headers.append(headers)
                    stub.paths.append(self.path)
                refused = stub.refuse(self.path, headers, body)
                if refused is not None:
                    status, payload = refused
                    self._send(status, payload if isinstance(payload, bytes) else json.dumps(payload).encode())
                    return
                reply = stub.script(body, number)
                if stub.delay or (reply.delay and reply.fault != "drip"):
                    time.sleep(stub.delay + reply.delay)
                stub._answer(self, body, reply)

            def _send(self, status: int, payload: bytes, extra: dict[str, str] | None = None) -> None:
                with stub._lock:
                    stub.statuses.append(status)
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

        self._handler = Handler
        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def refuse(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, Any] | None:
        """An error answer (status, JSON or raw bytes) before the script is asked, or None. The
        plain stub takes everything; the provider stubs (:mod:`llmx.testing.provider_stubs`)
        refuse what their provider refuses."""
        return None

    def completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        """The body of a successful answer; provider stubs add what their provider adds."""
        return chat_completion(body, reply)

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
        if reply.fault == "error_200":
            error = {"error": {"message": reply.error_message or "injected error", "type": "server_error"}}
            handler._send(200, json.dumps(error).encode())
            return
        if reply.fault == "drip":
            self._drip(handler, json.dumps(self.completion(body, reply)).encode(), reply.delay or 0.5)
            return
        handler._send(200, json.dumps(self.completion(body, reply)).encode())

    def _drip(self, handler: Any, payload: bytes, every: float) -> None:
        """The whole answer, eight bytes at a time: each read gets data, the body never ends in time."""
        with self._lock:
            self.statuses.append(200)
        handler.send_response(200)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(payload)))
        handler.end_headers()
        try:
            for start in range(0, len(payload), 8):
                if self._stop.wait(every):
                    return
                handler.wfile.write(payload[start : start + 8])
                handler.wfile.flush()
        except OSError:
            return  # the client gave up

    def __enter__(self) -> StubServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()


def main() -> None:
    """``python -m llmx.testing.stub_server --delay 0.2``: serve schema-valid answers until killed;
    prints the base URL."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before each answer")
    options = parser.parse_args()
    with StubServer(delay=options.delay) as server:
        print(server.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
