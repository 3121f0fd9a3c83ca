"""A small OpenAI Batch API on 127.0.0.1, for tests: the four endpoints a batch needs and the
batch listing llmx uses to find a batch whose id it did not get to write down.

    POST /v1/files                 (multipart, purpose=batch)  → a file object
    POST /v1/batches               {input_file_id, endpoint, completion_window} → a batch
    GET  /v1/batches/ID            → the batch; processed on the first look once ``release`` is set
    GET  /v1/batches               → the batches, newest first
    GET  /v1/files/ID/content      → the file's bytes (input, output or error JSONL)
    DELETE (a test pops ``batches`` or ``files``): the next look is a 404, as for an expired batch

Each request line is answered by a *script* (see :mod:`llmx.testing.fake_model`): a completion
(schema-valid by default), or with a fault "status" an error line with that status. Clear
``release`` to keep batches in progress (a crash test kills the client meanwhile).
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from llmx.testing.fake_model import Script, always, chat_completion, schema_answer


@dataclass
class BatchStub:
    script: Script = field(default_factory=lambda: always(schema_answer))
    files: dict[str, bytes] = field(default_factory=dict)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    creates: int = 0  # POST /v1/batches seen: a resumed run must not add one
    release: threading.Event = field(default_factory=threading.Event)
    # The output file's lines as the provider would send them; a test may garble or add lines.
    mangle: Callable[[list[str]], list[str]] = field(default=lambda lines: lines)

    def __post_init__(self) -> None:
        self.release.set()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._answered = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with stub._lock:
                    path, _, query = self.path.partition("?")
                    status, payload = stub._get(path, dict(urllib.parse.parse_qsl(query)))
                self._send(status, payload)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with stub._lock:
                    status, payload = stub._post(self.path, self.headers.get("content-type", ""), body)
                self._send(status, payload)

            def _send(self, status: int, payload: bytes | dict[str, Any]) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header(
                    "content-type", "application/octet-stream" if isinstance(payload, bytes) else "application/json"
                )
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def _file(self, content: bytes, purpose: str) -> dict[str, Any]:
        file_id = self._new_id("file")
        self.files[file_id] = content
        return {"id": file_id, "object": "file", "bytes": len(content), "created_at": 0, "filename": "x.jsonl",
                "purpose": purpose, "status": "processed"}  # fmt: skip

    def _post(self, path: str, content_type: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if path.rstrip("/") == "/v1/files":
            form = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + body
            )
            parts = {part.get_param("name", header="content-disposition"): part for part in form.iter_parts()}
            purpose = str(parts["purpose"].get_content()).strip() if "purpose" in parts else ""
            content = parts["file"].get_payload(decode=True)
            return 200, self._file(content if isinstance(content, bytes) else b"", purpose)
        if path.rstrip("/") == "/v1/batches":
            request = json.loads(body)
            if request.get("input_file_id") not in self.files:
                return 404, {"error": {"message": "no such file"}}
            self.creates += 1
            batch_id = self._new_id("batch")
            lines = [line for line in self.files[request["input_file_id"]].split(b"\n") if line.strip()]
            self.batches[batch_id] = {
                "id": batch_id, "object": "batch", "endpoint": request["endpoint"],
                "input_file_id": request["input_file_id"], "completion_window": request["completion_window"],
                "status": "in_progress", "created_at": self.creates, "metadata": request.get("metadata"),
                "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
            }  # fmt: skip
            return 200, self.batches[batch_id]
        return 404, {"error": {"message": f"no route {path}"}}

    def _get(self, path: str, query: dict[str, str] | None = None) -> tuple[int, bytes | dict[str, Any]]:
        parts = path.strip("/").split("/")
        query = query or {}
        if parts[:2] == ["v1", "batches"] and len(parts) == 2:
            # Newest first, paged by `limit` and `after` (the id of the last batch of the page before)
            data = sorted(self.batches.values(), key=lambda b: -b["created_at"])
            if "after" in query:
                ids = [b["id"] for b in data]
                data = data[ids.index(query["after"]) + 1 :] if query["after"] in ids else []
            limit = int(query.get("limit", 20))
            return 200, {"object": "list", "data": data[:limit], "has_more": len(data) > limit}
        if parts[:2] == ["v1", "batches"] and len(parts) == 3 and parts[2] in self.batches:
            batch = self.batches[parts[2]]
            if batch["status"] == "in_progress" and self.release.is_set():
                self._process(batch)
            return 200, batch
        if parts[:2] == ["v1", "files"] and len(parts) == 4 and parts[3] == "content" and parts[2] in self.files:
            return 200, self.files[parts[2]]
        return 404, {"error": {"message": f"no route {path}"}}

    def _process(self, batch: dict[str, Any]) -> None:
        output: list[str] = []
        errors: list[str] = []
        for line in self.files[batch["input_file_id"]].split(b"\n"):
            if not line.strip():
                continue
            request = json.loads(line)
            reply = self.script(request["body"], self._answered)
            self._answered += 1
            if reply.fault == "status":
                body = {"error": {"message": reply.error_message or f"injected {reply.status}", "type": "server_error"}}
                status = reply.status
            else:
                body, status = chat_completion(request["body"], reply), 200
            answer = {"id": self._new_id("req"), "custom_id": request["custom_id"], "error": None,
                      "response": {"status_code": status, "request_id": "r", "body": body}}  # fmt: skip
            (output if status == 200 else errors).append(json.dumps(answer) + "\n")
        output = self.mangle(output)
        if output:
            batch["output_file_id"] = self._file("".join(output).encode(), "batch_output")["id"]
        if errors:
            batch["error_file_id"] = self._file("".join(errors).encode(), "batch_output")["id"]
        batch["request_counts"].update(completed=len(output), failed=len(errors))
        batch["status"] = "completed"

    def __enter__(self) -> BatchStub:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
