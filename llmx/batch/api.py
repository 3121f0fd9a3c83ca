"""The provider side of ``--batch``: the Batch API calls through the retry policy, and taking a
request file from wherever a previous process left it to a submitted batch, saving the ledger
after every step (see :mod:`llmx.batch.ledger`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal, Self

from llmx.batch.ledger import BatchRecord, BatchStore
from llmx.errors import BatchGone, EndpointError
from llmx.inputs.config import Settings
from llmx.model import live
from llmx.model.endpoint import Endpoint
from llmx.model.retry import RetryPolicy
from llmx.model.transport_errors import transport_fault

CHAT_PATH: Literal["/v1/chat/completions"] = "/v1/chat/completions"


class BatchApi:
    """The four Batch API calls (and the listing), through the one retry policy."""

    def __init__(self, endpoint: Endpoint, settings: Settings) -> None:
        from llmx.model.server import make_client

        self.client = make_client(
            endpoint.api_key, endpoint.base_url, endpoint.timeout, api_version=endpoint.api_version
        )
        self.retry = RetryPolicy(max_attempts=settings.max_attempts, max_wait=settings.max_wait)
        self.url = str(self.client.base_url)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _call(self, what: str, call: Callable[[], Any]) -> Any:
        import openai

        live.check_allowed(f"Batch API {what} at {self.url}")  # every HTTP request, as for chat
        try:
            async for attempt in self.retry.retrying():
                with attempt:
                    return await call()
            raise AssertionError("tenacity ends with an answer or an error")
        except openai.APIStatusError as error:
            detail = f"HTTP {error.status_code}: {error.message}"
            if error.status_code == 404 and what != "list":
                raise BatchGone(f"Batch API {what} at {self.url}: {detail}") from None
            raise EndpointError(f"Batch API {what} at {self.url}: {detail}", self.url) from None
        except openai.APIConnectionError as error:
            timed_out = isinstance(error, openai.APITimeoutError)
            fault = transport_fault(error, self.url, self.retry.max_attempts, timed_out)
            raise EndpointError(f"Batch API {what}: {fault.message}", self.url) from error

    async def upload(self, name: str, content: bytes) -> str:
        file = await self._call("upload", lambda: self.client.files.create(file=(name, content), purpose="batch"))
        return str(file.id)

    async def create(self, file_id: str, metadata: dict[str, str]) -> Any:
        return await self._call(
            "create",
            lambda: self.client.batches.create(
                input_file_id=file_id, endpoint=CHAT_PATH, completion_window="24h", metadata=metadata
            ),
        )

    async def made_from(self, file_id: str) -> Any | None:
        """A batch already created from this file (the process may have died before writing its id).
        Every page of the account's batches is read: in a busy account it may be far down."""
        after: str | None = None
        while True:
            listing = self.client.batches.list
            page = await self._call("list", functools.partial(listing, limit=100, after=after) if after else listing)
            found = next((b for b in page.data if b.input_file_id == file_id), None)
            if found is not None or not page.data or not getattr(page, "has_more", False):
                return found
            after = page.data[-1].id

    async def retrieve(self, batch_id: str) -> Any:
        return await self._call("status", lambda: self.client.batches.retrieve(batch_id))

    async def content(self, file_id: str) -> bytes:
        response = await self._call("download", lambda: self.client.files.content(file_id))
        return bytes(response.content)

    async def aclose(self) -> None:
        await self.client.close()


async def submit(api: BatchApi, store: BatchStore, record: BatchRecord, submitted: list[str]) -> None:
    """Take a record from wherever it stopped to ``submitted``, saving after every step."""
    if record.state == "written":
        record.input_file_id = await api.upload(
            record.file.rsplit("/", 1)[-1], (store.run_dir / record.file).read_bytes()
        )
        record.state = "uploaded"
        store.save()
    if record.state == "creating":
        found = await api.made_from(record.input_file_id or "")
        if found is not None:
            record.batch_id, record.status, record.state = found.id, found.status, "submitted"
            store.save()
            return
    if record.state in ("uploaded", "creating"):
        record.state = "creating"  # written down before the call: a crash now is found again above
        store.save()
        metadata = {"llmx_run": store.run_dir.name, "llmx_file": record.file}
        batch = await api.create(record.input_file_id or "", metadata)
        record.batch_id, record.status, record.state = batch.id, batch.status, "submitted"
        store.save()
        submitted.append(batch.id)
