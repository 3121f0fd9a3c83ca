"""``llmx extract … --engine ray``: the same extraction on Ray Data, for corpora and clusters
one process cannot serve (``pip install 'llmx-incidents[ray]'``).

The driver (this module) reads the inputs as a Ray Dataset (in parallel, by Ray), hands
batches to a pool of :class:`llmx.app.run.ray.worker.ExtractWorker` (one extractor and one gateway
per worker, llmx's own concurrency inside), and hands every result line to the run
(:class:`llmx.app.run.extraction_run.ExtractionRun`: lock, recipe, resume, budget, status, export),
as the plain engine does.

What holds across workers: one cassette store, one adaptive window of requests in flight, one
budget (:mod:`llmx.app.run.ray.actors`). Resume: articles finished with this recipe are skipped;
a worker that dies is replaced by Ray and its batch redone, its cassettes replaying; after the
driver dies, the same command goes on from the run folder and the cassettes. With no address
a local Ray starts (and stops at the end); ``--ray-address`` or ``RAY_ADDRESS`` joins a cluster.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from llmx.app.run.extraction_job import ExtractionJob, RayOptions
from llmx.app.run.extraction_run import ExtractionRun, RunHooks
from llmx.errors import EndpointError, LlmxError, UsageError
from llmx.runs.results import ArticleResult

WORKER_CPUS = 0.25  # a worker mostly waits on the network; Ray still has CPUs left to read the inputs


def _start_ray(address: str | None) -> bool:
    """Join or start Ray; True when this call started it (and so should stop it)."""
    try:
        import ray
    except ImportError:
        raise UsageError("--engine ray needs Ray: pip install 'llmx-incidents[ray]'") from None
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")  # Ray's core logs to the terminal otherwise
    options: dict[str, Any] = {"logging_level": "ERROR", "log_to_driver": False}
    if address is None:
        options["include_dashboard"] = False
    ray.init(address=address, **options)
    import ray.data

    for name in ("ray", "ray.data"):  # after the import: Ray Data sets up its own logging then
        logging.getLogger(name).setLevel(logging.ERROR)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # llmx shows its own
    context.print_on_execution_start = False
    return True


class RayEngine:
    """An engine of :class:`~llmx.app.run.extraction_run.ExtractionRun`: the run (folder, resume,
    budget, status, export) is the same as the plain engine's; the articles are read and
    extracted on Ray, and each result line comes back to the run here, on the driver."""

    name = "ray"
    reads_inputs = False  # ten million rows are not read on the driver first: the workers read them

    def __init__(self, options: RayOptions) -> None:
        self.options = options

    def check(self, job: ExtractionJob) -> None:
        if any(not isinstance(item, str | Path) for item in job.inputs):
            raise UsageError("--engine ray reads files and folders (Parquet, JSONL, CSV, .txt), not articles in memory")

    async def work(self, run: ExtractionRun, hooks: RunHooks) -> None:
        started_ray = _start_ray(self.options.address)
        try:
            self._extract(run, hooks)
        except KeyboardInterrupt:
            run.interrupted = True
        except Exception as error:
            # A worker's error reaches the driver wrapped by Ray: the llmx error inside is what to say.
            cause = _llmx_cause(error)
            if cause is not None and cause is not error:
                raise cause from None
            raise
        finally:
            if started_ray:
                import ray

                ray.shutdown()

    def _extract(self, run: ExtractionRun, hooks: RunHooks) -> None:
        import ray

        from llmx.app.run.ray.inputs import read_dataset
        from llmx.app.run.ray.worker import ExtractWorker, SharedState

        job, settings = run.job, run.job.settings
        live = job.endpoint.live_possible and job.policy != "replay"
        shared = SharedState.start(run, self.options.workers, live)
        results = read_dataset([str(item) for item in job.inputs], settings).map_batches(
            ExtractWorker,
            fn_constructor_args=(shared.spec(run, str(Path.cwd())),),
            batch_size=self.options.batch_size or settings.concurrency,
            compute=ray.data.ActorPoolStrategy(size=self.options.workers),
            num_cpus=WORKER_CPUS,
            batch_format="numpy",
        )
        for batch in results.iter_batches(batch_format="numpy", batch_size=None):
            for article_id, outcome, line in zip(batch["article_id"], batch["outcome"], batch["line"], strict=True):
                if outcome == "fatal":
                    raise EndpointError(str(line))
                run.seen(str(article_id))  # skipped and not started too: the run counts what is left
                if outcome not in ("skipped", "not_started"):
                    result = ArticleResult.model_validate_json(line)
                    run.complete(result)
                    hooks.on_result(result)
        shared.finish(run)


def _llmx_cause(error: BaseException) -> LlmxError | None:
    """The :class:`LlmxError` an exception is or wraps: Ray raises a worker's error as a
    ``RayTaskError`` subclass of it whose message is a traceback; its ``cause`` is the original."""
    seen: BaseException | None = error
    for _ in range(20):
        inner = getattr(seen, "cause", None)
        if isinstance(inner, BaseException):
            seen = inner
        elif seen is None or isinstance(seen, LlmxError):
            return seen
        else:
            seen = seen.__cause__
    return None
