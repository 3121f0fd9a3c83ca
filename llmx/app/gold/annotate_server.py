"""The annotate page's server: stdlib ``http.server`` on 127.0.0.1 only, over an
:class:`~llmx.app.gold.annotation.AnnotationSession`.

It answers only requests addressed to it by a loopback name (``Host``), and takes edits only
when they come from its own page (``Origin``, when a browser sends one, and a JSON body): a web page open in
another tab cannot write gold files through it, and a DNS-rebinding name cannot reach it.
Stopping it (Ctrl-C, SIGTERM) lets the edits in flight finish writing (the request threads are
joined, not killed), so what the page was told is saved is on disk.
"""

from __future__ import annotations

import json
import re
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from llmx.app.gold.annotation import AnnotationSession
from llmx.errors import EditConflict, GoldError, LlmxError, OutputError, UsageError
from llmx.viewer.annotate import render_annotate_page

HOST = "127.0.0.1"
MAX_BODY = 1_000_000  # an edit is a few hundred bytes; the largest is one incident
ARTICLE = re.compile(r"^/api/article/([^/]+)(/edit)?$")


class AnnotateServer(ThreadingHTTPServer):
    daemon_threads = False  # stopping waits for an edit being written, never cuts it
    block_on_close = True

    def __init__(self, session: AnnotationSession, port: int) -> None:
        self.session = session
        try:
            super().__init__((HOST, port), _Handler)
        except OSError as error:
            raise UsageError(
                f"cannot listen on {HOST}:{port} ({error.strerror}); pass another --port, or --port 0 for any free one"
            ) from error

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"


class _Handler(BaseHTTPRequestHandler):
    server: AnnotateServer
    # One request per connection (HTTP/1.0): no idle keep-alive connection holds a thread that
    # stopping would wait for; and a client that stalls mid-request is dropped after `timeout`.
    protocol_version = "HTTP/1.0"
    timeout = 10

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the terminal stays quiet: the page says what happened

    def _allowed_hosts(self) -> set[str]:
        port = self.server.server_address[1]
        return {f"{HOST}:{port}", f"localhost:{port}"}

    def _refuse_foreign(self, writing: bool) -> bool:
        if self.headers.get("Host", "") not in self._allowed_hosts():
            self._send(HTTPStatus.FORBIDDEN, {"error": "this server answers only http://127.0.0.1 (its own page)"})
            return True
        origin = self.headers.get("Origin")
        if writing and origin is not None and urlsplit(origin).netloc not in self._allowed_hosts():
            self._send(HTTPStatus.FORBIDDEN, {"error": f"edits are taken only from the annotate page, not {origin}"})
            return True
        if writing and self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            self._send(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"error": "send the edit as application/json"})
            return True
        return False

    def do_GET(self) -> None:
        if self._refuse_foreign(writing=False):
            return
        session = self.server.session
        path = urlsplit(self.path).path
        try:
            if path == "/":
                self._send_page(render_annotate_page(session.page_config()))
            elif path == "/api/articles":
                self._send(HTTPStatus.OK, {"articles": session.index()})
            elif path == "/api/agreement":
                self._send(HTTPStatus.OK, session.agreement())
            elif (found := ARTICLE.match(path)) and not found.group(2):
                self._send(HTTPStatus.OK, {"article": session.article(unquote(found.group(1)))})
            else:
                self._send(HTTPStatus.NOT_FOUND, {"error": f"no such page: {path}"})
        except LlmxError as error:
            self._send(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": str(error)})

    def do_POST(self) -> None:
        if self._refuse_foreign(writing=True):
            return
        found = ARTICLE.match(urlsplit(self.path).path)
        if not found or not found.group(2):
            self._send(HTTPStatus.NOT_FOUND, {"error": "edits go to /api/article/<id>/edit"})
            return
        article_id = unquote(found.group(1))
        edit = self._body()
        if edit is None:
            return
        session = self.server.session
        try:
            article = session.edit(article_id, edit)
        except EditConflict as error:
            self._send(HTTPStatus.CONFLICT, {"error": str(error), **self._current(article_id)})
        except OutputError as error:
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": str(error)})
        except (GoldError, UsageError) as error:
            self._send(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": _short(str(error)), **self._current(article_id)})
        else:
            self._send(HTTPStatus.OK, {"article": article, "index": session.index()})

    def _current(self, article_id: str) -> dict[str, Any]:
        try:
            return {"article": self.server.session.article(article_id)}
        except LlmxError:
            return {}

    def _body(self) -> dict[str, Any] | None:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            self._send(HTTPStatus.BAD_REQUEST, {"error": f"an edit is a JSON body of 1 to {MAX_BODY} bytes"})
            return None
        try:
            body = json.loads(self.rfile.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None
        if not isinstance(body, dict):
            self._send(HTTPStatus.BAD_REQUEST, {"error": "an edit is a JSON object"})
            return None
        return body

    def _send(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        self._write(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json")

    def _send_page(self, html: str) -> None:
        self._write(HTTPStatus.OK, html.encode(), "text/html; charset=utf-8")

    def _write(self, status: HTTPStatus, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:",
        )
        self.end_headers()
        self.wfile.write(body)


def _short(message: str) -> str:
    """A refusal as the page shows it: without the file path every gold message starts with."""
    return re.sub(r"^\S+\.json: ", "", message)


@contextmanager
def _stop_on_sigterm(server: AnnotateServer) -> Iterator[None]:
    """SIGTERM stops the server like Ctrl-C: edits in flight finish, then it closes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve(session: AnnotationSession, port: int, on_ready: Callable[[str], None]) -> None:
    """Serve until Ctrl-C or SIGTERM; then wait for edits being written, and close."""
    with AnnotateServer(session, port) as server:
        on_ready(server.url)
        with _stop_on_sigterm(server), suppress(KeyboardInterrupt):
            server.serve_forever(poll_interval=0.2)
        server.server_close()  # joins the request threads: an edit being written is finished
