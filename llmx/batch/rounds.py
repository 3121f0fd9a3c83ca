"""What a ``--batch`` run waits for: every batch it has with the provider submitted, polled until
done, and collected into cassettes. The rounds themselves (replay, collect the misses, submit,
settle, replay again) are driven by :mod:`llmx.app.run.batch_engine`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llmx.batch.api import BatchApi, submit
from llmx.batch.collect import collect
from llmx.batch.ledger import BatchStore
from llmx.cassettes.backend import CassetteBackend
from llmx.errors import BatchGone

DONE = ("completed", "failed", "expired", "cancelled")


@dataclass
class BatchView:
    batch_id: str
    status: str
    completed: int
    failed: int
    total: int


@dataclass
class BatchOptions:
    poll_seconds: float = 30.0
    wait: bool = True  # --no-wait: submit, then leave the batch to the provider
    on_status: Callable[[list[BatchView]], None] = field(default=lambda views: None)


@dataclass
class BatchReport:
    submitted: list[str] = field(default_factory=list)  # batch ids this process created
    pending: bool = False  # left with the provider (--no-wait, or Ctrl-C while waiting)
    rounds: int = 0
    failed_lines: int = 0
    ignored: list[str] = field(default_factory=list)  # output lines that were unreadable or answered nothing sent


async def settle(
    api: BatchApi,
    store: BatchStore,
    cassettes: CassetteBackend,
    mode: str,
    options: BatchOptions,
    stop: asyncio.Event,
    report: BatchReport,
) -> bool:
    """Wait for every unsettled batch and collect it. False when left waiting (--no-wait, Ctrl-C).
    A batch or file the provider no longer has (404) is a :class:`BatchGone` that says how to start over."""
    try:
        for record in store.unsettled:
            await submit(api, store, record, report.submitted)
        while store.unsettled:
            batches = {r.batch_id: await api.retrieve(r.batch_id or "") for r in store.unsettled}
            options.on_status([_view(b) for b in batches.values()])
            for record in store.unsettled:
                batch = batches[record.batch_id]
                if batch.status not in DONE:
                    continue
                inputs = _by_custom_id((store.run_dir / record.file).read_bytes())
                files: list[tuple[str, bytes]] = []
                for label, file_id in (("output file", batch.output_file_id), ("error file", batch.error_file_id)):
                    if file_id:
                        files.append((f"batch {label} {file_id}", await api.content(file_id)))
                await asyncio.to_thread(collect, batch, record, inputs, files, cassettes, mode)
                report.failed_lines += len(record.failed)
                report.ignored += record.ignored
                store.save()
            if not store.unsettled:
                return True
            if not options.wait or stop.is_set():
                return False
            with contextlib.suppress(TimeoutError):  # Ctrl-C ends the wait at once
                await asyncio.wait_for(stop.wait(), options.poll_seconds)
        return True
    except BatchGone as error:
        raise BatchGone(
            f"{error}; the provider no longer has what {store.path} names (expired, deleted, or another key). "
            f"To start over, remove {store.path} and run the same command again: the requests with no answer "
            "go into a new batch (answers already collected replay)"
        ) from error


def _by_custom_id(content: bytes) -> dict[str, bytes]:
    return {json.loads(line)["custom_id"]: line for line in content.split(b"\n") if line.strip()}


def _view(batch: Any) -> BatchView:
    counts = batch.request_counts
    return BatchView(
        str(batch.id),
        str(batch.status),
        counts.completed if counts else 0,
        counts.failed if counts else 0,
        counts.total if counts else 0,
    )
