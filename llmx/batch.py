"""``llmx extract --batch``: answers from the provider's Batch API, at the batch price.

A round is a replay in which a miss, instead of calling the model, puts the request into the
batch (:class:`CollectingGateway`): the same canonical request and cassette key as the live
path, ``custom_id`` = ``<article id>/<key>``. The round's requests are written to ``batch/`` in
the run folder, split at the API's limits, uploaded, and the batch created; ``batch.json``
records each step at once (:mod:`llmx.batch_store`), so a batch is never submitted twice. When
the batch is done every answer becomes a cassette, and the next round replays: articles whose
requests are all recorded finish exactly as in a replay (validation, grounding); those that
need a re-ask put it into the next batch. Rounds stop when none adds a request, or after
``reasks + 2`` rounds. A line the provider failed fails its article (``batch_failed``, with the
provider's reason); its answer is never cached, so the next ``--batch`` run asks again.

``--max-cost`` is checked between rounds: a batch's cost is known only once it is done, so no
new round is submitted once the run folder has spent the cap (a round may overshoot it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openai.types.chat import ChatCompletion

from llmx.batch_api import CHAT_PATH, BatchApi, submit
from llmx.batch_store import BatchRecord, BatchStore
from llmx.cassette_gateway import CallLog, CassetteGateway, refuse_unusable, usage_of
from llmx.cassettes import Cassette, CassetteStore, allowed_response, canonical_json
from llmx.config import Settings
from llmx.endpoint import Endpoint
from llmx.errors import BatchLineFailed, BatchPending, ModelError, UsageError
from llmx.files import now_iso
from llmx.results import ArticleResult, Usage

if TYPE_CHECKING:
    from llmx.extraction_run import ExtractionOutcome, ExtractionRun

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


class CollectingGateway(CassetteGateway):
    """Replay what is recorded; a miss goes into the batch being collected, and the article
    waits (:class:`BatchPending`). A request the batch failed raises :class:`BatchLineFailed`."""

    def __init__(self, store: CassetteStore, mode: str, extra_body: dict[str, Any]) -> None:
        super().__init__(None, store, "replay", mode, extra_body=extra_body)
        self.collected: dict[str, bytes] = {}  # custom_id → its JSONL line
        self.failed: dict[str, str] = {}

    async def create(self, article_id: str, log: CallLog, **kwargs: Any) -> ChatCompletion:
        _, key = canonical_json(kwargs, self.mode)
        answer = self.store.load_answer(article_id, key)
        if answer is not None:
            return self.replayed(article_id, answer, log)
        custom_id = f"{article_id}/{key}"
        if custom_id in self.failed:
            why = self.failed[custom_id]
            raise BatchLineFailed(
                f"article {article_id}: request {len(log.calls) + 1} failed in the batch: {why}", custom_id
            )
        line = {"custom_id": custom_id, "method": "POST", "url": CHAT_PATH, "body": {**kwargs, **self.extra_body}}
        self.collected[custom_id] = json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        raise BatchPending(f"article {article_id}: request {len(log.calls) + 1} waits for a batch")


def collecting_gateway(settings: Settings, endpoint: Endpoint) -> CollectingGateway:
    if not endpoint.live_possible:
        raise UsageError("--batch needs a provider: set OPENAI_API_KEY, or pass --base-url URL")
    store = CassetteStore(settings.cassettes)
    store.check_writable()
    return CollectingGateway(store, settings.mode, endpoint.extra_body)


def collect(
    batch: Any, record: BatchRecord, inputs: dict[str, bytes], answers: bytes, cassettes: CassetteStore, mode: str
) -> None:
    """The batch's answers become cassettes; every other line of the record is a failed line."""
    for raw in answers.split(b"\n"):
        if not raw.strip():
            continue
        item = json.loads(raw)
        custom_id = str(item.get("custom_id"))
        response = item.get("response") or {}
        body = response.get("body") or {}
        if response.get("status_code") != 200 or item.get("error"):
            error = item.get("error") or body.get("error") or {}
            record.failed[custom_id] = f"HTTP {response.get('status_code')}: {error.get('message', error)}"
            continue
        try:
            completion = ChatCompletion.model_validate(body)
            refuse_unusable(completion)  # truncated, refused, empty: never cached
        except (ModelError, ValueError) as problem:
            record.failed[custom_id] = str(problem).splitlines()[0][:300]
            continue
        article_id, key = custom_id.rsplit("/", 1)
        request = json.loads(inputs[custom_id])["body"]
        text, recomputed = canonical_json(request, mode)
        if recomputed != key:
            record.failed[custom_id] = "the answer's request does not match its cassette key"
            continue
        messages = json.loads(text).get("messages", [])
        cassettes.save(
            Cassette(
                key=key,
                article_id=article_id,
                attempt=sum(1 for m in messages if m.get("role") == "assistant"),  # re-asks before it
                recorded_at=now_iso(),
                latency_s=0.0,
                served_by={"batch_id": str(batch.id), "base_url": "batch"},
                request=json.loads(text),
                response=allowed_response(body),
            )
        )
        record.answered[custom_id] = usage_of(completion)
    for custom_id in inputs:
        if custom_id not in record.answered and custom_id not in record.failed:
            record.failed[custom_id] = f"no answer: the batch ended {batch.status}"
    record.status, record.state = batch.status, "collected"


async def settle(
    run: ExtractionRun,
    api: BatchApi,
    store: BatchStore,
    options: BatchOptions,
    stop: asyncio.Event,
    report: BatchReport,
) -> bool:
    """Wait for every unsettled batch and collect it. False when left waiting (--no-wait, Ctrl-C)."""
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
            answers = b""
            for file_id in (batch.output_file_id, batch.error_file_id):
                if file_id:
                    answers += await api.content(file_id) + b"\n"
            gateway = run.extractor.gateway
            await asyncio.to_thread(collect, batch, record, inputs, answers, gateway.store, gateway.mode)
            report.failed_lines += len(record.failed)
            store.save()
        if not store.unsettled:
            return True
        if not options.wait or stop.is_set():
            return False
        with contextlib.suppress(TimeoutError):  # Ctrl-C ends the wait at once
            await asyncio.wait_for(stop.wait(), options.poll_seconds)
    return True


async def batch_rounds(run: ExtractionRun, options: BatchOptions, on_interrupt: Callable[[], None]) -> BatchReport:
    gateway = run.extractor.gateway
    assert isinstance(gateway, CollectingGateway)
    store, api, stop = BatchStore(run.run_dir), BatchApi(run.job.endpoint, run.job.settings), asyncio.Event()
    report, bound = BatchReport(), run.job.settings.reasks + 2
    unwatch = run.watch_interrupts(stop, on_interrupt)
    todo, waiting = list(run.todo), dict[str, ArticleResult]()
    try:
        for number in range(1, bound + 1):
            if not await settle(run, api, store, options, stop, report):
                report.pending = not run.interrupted
                return report
            gateway.failed, gateway.collected, paid, waiting = store.failed_lines(), {}, store.paid(), {}

            def arrived(result: ArticleResult, paid: dict[str, Usage] = paid, waiting: dict = waiting) -> None:
                if result.error is not None and result.error.kind == BatchPending.kind:
                    waiting[result.article_id] = result  # not written: the next round finishes it
                    return
                spent = Usage()
                for key in result.provenance.cassette_keys:
                    spent.add(paid.get(f"{result.article_id}/{key}", Usage()))
                run.complete(result, spent)

            await run.run_articles(todo, arrived, stop)
            todo = [a for a in todo if a.id in waiting]
            if not gateway.collected or stop.is_set() or run.budget.reached:
                break
            if number == bound:  # still re-asking after every round allowed: say so, and stop
                for result in waiting.values():
                    if result.error is not None:
                        result.error.message += f" (after {bound} batch rounds; run --batch again to go on)"
                    run.complete(result)
                waiting = {}
                break
            store.write_round(gateway.collected[cid] for cid in sorted(gateway.collected))
            report.rounds += 1
            if not options.wait:
                for record in store.unsettled:
                    await submit(api, store, record, report.submitted)
                report.pending = True
                return report
        if not waiting and not stop.is_set():
            store.close()  # its failed lines are forgotten: the next --batch run asks again
        return report
    finally:
        unwatch()
        await api.aclose()


def execute_batch(
    run: ExtractionRun,
    options: BatchOptions,
    on_result: Callable[[ArticleResult], None],
    on_interrupt: Callable[[], None],
) -> ExtractionOutcome:
    started = time.perf_counter()
    outcome = run.guarded(lambda: batch_rounds(run, options, on_interrupt))
    outcome.summary.wall_s = round(time.perf_counter() - started, 3)
    return outcome


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
