"""The engines of a run, and the one way in: :func:`extract_articles` picks the engine the job
asks for and runs it inside the one lifecycle (:class:`llmx.app.run.extraction_run.ExtractionRun`).

The plain engine is here: one gateway in this process, ``concurrency`` articles at once. The
others are :class:`llmx.app.run.batch_engine.BatchEngine` (``--batch``) and
:class:`llmx.app.run.ray.engine.RayEngine` (``--engine ray``), imported only when asked for.
"""

from __future__ import annotations

import asyncio

from llmx.app.run.endpoint import build_gateway
from llmx.app.run.extraction_job import ExtractionJob, ExtractionOutcome
from llmx.app.run.extraction_run import Engine, ExtractionRun, RunHooks
from llmx.app.run.interrupts import watch_interrupts
from llmx.cassettes.gateway import RecordingGateway
from llmx.errors import UsageError
from llmx.runs.results import ArticleResult


class PlainEngine:
    name = "plain"
    reads_inputs = True

    def check(self, job: ExtractionJob) -> None:
        """The plain engine takes every kind of input."""

    async def work(self, run: ExtractionRun, hooks: RunHooks) -> None:
        job, stop = run.job, asyncio.Event()

        def record(result: ArticleResult) -> None:
            run.complete(result)
            hooks.on_result(result)

        # Opened here and closed here, in the loop that used its connections.
        async with build_gateway(job.settings, job.endpoint, job.policy) as gateway:
            if isinstance(gateway, RecordingGateway):
                run.rate = gateway.server.policy.rate
            with watch_interrupts(stop, hooks.on_interrupt) as interrupted:
                try:
                    await run.run_articles(gateway, run.todo(), record, stop)
                finally:
                    run.interrupted = interrupted.is_set()


def engine_for(job: ExtractionJob) -> Engine:
    """The engine ``job`` asks for: Ray with ``job.ray``, the Batch API with ``job.batch``, else plain."""
    if job.batch is not None and job.ray is not None:
        raise UsageError("--engine ray and --batch are two ways to run a large corpus: pick one")
    if job.ray is not None:
        from llmx.app.run.ray.engine import RayEngine

        return RayEngine(job.ray)
    if job.batch is not None:
        from llmx.app.run.batch_engine import BatchEngine

        return BatchEngine(job.batch)
    return PlainEngine()


def extract_articles(job: ExtractionJob, hooks: RunHooks | None = None) -> ExtractionOutcome:
    """Extract ``job``'s articles into its run folder, replayed or through the model, with the
    engine it asks for; ``hooks`` hear the start (how many articles are to do), each result
    as it is written, and the first Ctrl-C."""
    hooks = hooks or RunHooks()
    with ExtractionRun(job, engine_for(job)) as run:
        hooks.on_start(run)
        return run.execute(hooks)
