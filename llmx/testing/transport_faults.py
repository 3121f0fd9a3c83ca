"""A server on 127.0.0.1 that answers every request with one transport fault, byte for byte,
for tests and ``bench/bad_inputs``: what no well-behaved HTTP server (the stub of
:mod:`llmx.testing.stub_server`) can be made to send.

    with FaultServer("redirect_loop") as server:   # server.base_url, server.requests
        ...

Faults: ``redirect_loop`` (307 back to itself), ``redirect_ftp`` (307 to ftp://), ``not_http``
(an SSH banner), ``short_body`` (fewer bytes than Content-Length), ``bad_gzip``, ``bad_chunk``,
``long_header`` (a 200 KB header line), ``plain_for_tls`` (plain HTTP where https is asked: use
``server.tls_base_url``), ``self_signed`` (TLS with a certificate no one trusts; needs ``openssl``).
"""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
import tempfile
import threading
from pathlib import Path

_BODY = b'{"choices":[{"index":0,"message":{"role":"assistant","content":"{}"},"finish_reason":"stop"}]}'
_ANSWERS = {
    "redirect_ftp": b"HTTP/1.1 307 Temporary Redirect\r\nLocation: ftp://files.example/v1\r\nContent-Length: 0\r\n\r\n",
    "not_http": b"SSH-2.0-OpenSSH_8.9\r\n",
    "short_body": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n" + _BODY,
    "bad_gzip": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
    b"Content-Length: 10\r\n\r\n0123456789",
    "bad_chunk": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"zz\r\nabc\r\n",
    "long_header": b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 200_000 + b"\r\nContent-Length: 2\r\n\r\n{}",
    "plain_for_tls": b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    "self_signed": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(_BODY)
    + _BODY,
}
FAULTS = ("redirect_loop", *_ANSWERS)


class FaultServer:
    def __init__(self, fault: str) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        self.fault = fault
        self.requests = 0  # requests read (each redirect followed is one more)
        self._lock = threading.Lock()
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.tls_base_url = f"https://127.0.0.1:{self.port}/v1"
        self._tls: ssl.SSLContext | None = self._self_signed() if fault == "self_signed" else None
        self._stop = threading.Event()

    def _self_signed(self) -> ssl.SSLContext:
        folder = Path(tempfile.mkdtemp(prefix="llmx-tls-"))
        key, cert = folder / "key.pem", folder / "cert.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
             "-keyout", str(key), "-out", str(cert)],
            check=True,
            capture_output=True,
        )  # fmt: skip
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        return context

    def __enter__(self) -> FaultServer:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._socket.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            if self._tls is not None:
                connection = self._tls.wrap_socket(connection, server_side=True)
            if self.fault == "plain_for_tls":
                connection.recv(65536)  # a TLS hello, answered in plain HTTP
                connection.sendall(_ANSWERS["plain_for_tls"])
                return
            self._requests(connection)
        except (OSError, ssl.SSLError):
            pass  # the client gave up, or refused the certificate
        finally:
            connection.close()

    def _requests(self, connection: socket.socket) -> None:
        pending = b""
        while True:  # keep-alive: a redirect loop comes back on the same connection
            while b"\r\n\r\n" not in pending:
                data = connection.recv(65536)
                if not data:
                    return
                pending += data
            head, pending = pending.split(b"\r\n\r\n", 1)
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            needed = int(length.group(1)) if length else 0
            while len(pending) < needed:
                data = connection.recv(65536)
                if not data:
                    return
                pending += data
            pending = pending[needed:]
            with self._lock:
                self.requests += 1
            if self.fault != "redirect_loop":
                connection.sendall(_ANSWERS[self.fault])
                self._stop.wait(0.2)  # let the client read it before the close
                return
            path = head.split(b" ", 2)[1]
            connection.sendall(
                b"HTTP/1.1 307 Temporary Redirect\r\nLocation: " + path + b"\r\nContent-Length: 0\r\n\r\n"
            )


def main() -> None:
    """``python -m llmx.testing.transport_faults FAULT``: serve that fault until killed; prints the
    base URL (the https one for plain_for_tls and self_signed)."""
    import sys

    fault = sys.argv[1] if len(sys.argv) > 1 else ""
    with FaultServer(fault) as server:
        tls = fault in ("plain_for_tls", "self_signed")
        print(server.tls_base_url if tls else server.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
