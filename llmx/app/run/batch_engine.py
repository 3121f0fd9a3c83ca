"""``llmx extract --batch``: answers from the provider's Batch API, at the batch price.

A round is a replay in which a miss, instead of calling the model, puts the request into the
batch (:class:`llmx.batch.collect.CollectingGateway`). The round's requests are written to
``batch/`` in the run folder, split at the API's limits, uploaded, and the batch created;
``batch.json`` records each step at once (:mod:`llmx.batch.ledger`), so a batch is never
submitted twice. When the batch is done every answer becomes a cassette, and the next round
replays: articles whose requests are all recorded finish exactly as in a replay (validation,
grounding); those that need a re-ask put it into the next batch. Rounds stop when none adds a
request, or after ``reasks + 2`` rounds. A line the provider failed fails its article
(``batch_failed``, with the provider's reason); its answer is never cached, so the next
``--batch`` run asks again.

``--max-cost`` is checked between rounds: a batch's cost is known only once it is done, so no
new round is submitted once the run folder has spent the cap (a round may overshoot it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from llmx.app.run.extraction_job import ExtractionJob
from llmx.app.run.extraction_run import ExtractionRun, RunHooks
from llmx.app.run.interrupts import watch_interrupts
from llmx.batch.api import BatchApi, submit
from llmx.batch.collect import CollectingGateway
from llmx.batch.ledger import BatchStore
from llmx.batch.rounds import BatchOptions, BatchReport, settle
from llmx.cassettes.stores import open_store
from llmx.errors import BatchPending, UsageError
from llmx.runs.results import ArticleResult, Usage


async def batch_rounds(
    run: ExtractionRun,
    gateway: CollectingGateway,
    api: BatchApi,
    options: BatchOptions,
    on_result: Callable[[ArticleResult], None],
    on_interrupt: Callable[[], None],
) -> BatchReport:
    """Replay, collect the misses into a batch, submit it, wait, collect, and replay again."""
    store, stop = BatchStore(run.run_dir), asyncio.Event()
    report, bound = BatchReport(), run.job.settings.reasks + 2
    todo: list[str] | None = None  # the ids still waiting for an answer, after the first round
    waiting: dict[str, ArticleResult] = {}

    def finish(result: ArticleResult, paid: Usage | None = None) -> None:
        run.complete(result, paid)
        on_result(result)

    with watch_interrupts(stop, on_interrupt) as interrupted:
        for number in range(1, bound + 1):
            if not await settle(api, store, gateway.store, gateway.mode, options, stop, report):
                run.interrupted = interrupted.is_set()
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
                finish(result, spent)

            await run.run_articles(gateway, run.todo(todo), arrived, stop)
            todo = list(waiting)
            if not gateway.collected or stop.is_set() or run.budget.reached:
                break
            if number == bound:  # still re-asking after every round allowed: say so, and stop
                for result in waiting.values():
                    if result.error is not None:
                        result.error.message += f" (after {bound} batch rounds; run --batch again to go on)"
                    finish(result)
                waiting = {}
                break
            store.write_round(gateway.collected[cid] for cid in sorted(gateway.collected))
            report.rounds += 1
            if not options.wait:
                for record in store.unsettled:
                    await submit(api, store, record, report.submitted)
                report.pending = True
                return report
        run.interrupted = interrupted.is_set()
    if not waiting and not stop.is_set():
        store.close()  # its failed lines are forgotten: the next --batch run asks again
    return report


class BatchEngine:
    """``--batch``: an engine of :class:`~llmx.app.run.extraction_run.ExtractionRun` whose answers
    come in rounds from the provider's Batch API."""

    name = "batch"
    reads_inputs = True

    def __init__(self, options: BatchOptions) -> None:
        self.options = options

    def check(self, job: ExtractionJob) -> None:
        if not job.endpoint.live_possible:
            raise UsageError("--batch needs a provider: set OPENAI_API_KEY, or pass --base-url URL")
        settings = job.settings
        self.store = open_store(settings.cassette_store, settings.cassettes, job.endpoint.redact)
        self.store.check_writable()

    async def work(self, run: ExtractionRun, hooks: RunHooks) -> BatchReport:
        job = run.job
        gateway = CollectingGateway(self.store, job.settings.mode, job.endpoint.extra_body)
        async with gateway, BatchApi(job.endpoint, job.settings) as api:
            return await batch_rounds(run, gateway, api, self.options, hooks.on_result, hooks.on_interrupt)
