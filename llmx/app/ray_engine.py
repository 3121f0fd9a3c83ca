"""``llmx extract … --engine ray``: the same extraction on Ray Data, for corpora and clusters
one process cannot serve (``pip install 'llmx-incidents[ray]'``).

The driver (this module) reads the inputs as a Ray Dataset (in parallel, by Ray), hands
batches to a pool of :class:`llmx.app.ray_worker.ExtractWorker` (one extractor and one gateway
per worker, llmx's own concurrency inside), and writes every result line into the run folder
itself, as the plain engine does (:class:`llmx.runs.folder.RunWriter`: lock, recipe, resume).

What holds across workers: one cassette store, one adaptive window of requests in flight, one
budget (:mod:`llmx.app.ray_actors`). Resume: articles finished with this recipe are skipped;
a worker that dies is replaced by Ray and its batch redone, its cassettes replaying; after the
driver dies, the same command goes on from the run folder and the cassettes. With no address
a local Ray starts (and stops at the end); ``--ray-address`` or ``RAY_ADDRESS`` joins a cluster.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmx.app.extraction_run import ExtractionJob, ExtractionOutcome, redact_command
from llmx.errors import BudgetExceeded, ConfigError, EndpointError, LlmxError, UsageError
from llmx.model.endpoint import OPENAI_URL
from llmx.model.rate_control import RateController
from llmx.runs.costs import PriceBook
from llmx.runs.files import now_iso
from llmx.runs.folder import RunWriter, read_results, run_target
from llmx.runs.results import ArticleResult, RunManifest, RunStatus, RunSummary

WORKER_CPUS = 0.25  # a worker mostly waits on the network; Ray still has CPUs left to read the inputs


@dataclass(frozen=True, kw_only=True)
class RayOptions:
    address: str | None = None  # a cluster to join; else RAY_ADDRESS; else a local Ray
    workers: int = 2  # extraction workers (each runs `concurrency` articles at once)
    batch_size: int | None = None  # rows per batch handed to a worker (default: concurrency)


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


def _open_writer(job: ExtractionJob, recipe: Any) -> RunWriter:
    settings = job.settings
    run_dir = run_target(job.out_dir, settings.runs_dir, settings.kept_folders)
    # The ids are known only as the rows are read; the folder's own lines say which to keep.
    earlier = [r.article_id for r in read_results(run_dir, missing_ok=True)] if run_dir.is_dir() else []
    manifest = RunManifest(
        status="running",
        started_at=now_iso(),
        command=redact_command(job.command, job.endpoint.redact),
        inputs=[str(Path(item).absolute()) for item in job.inputs if isinstance(item, str | Path)],
        settings={
            **settings.model_dump(mode="json", by_alias=True),
            "cassette_policy": job.policy,
            "engine": "ray",
            **job.endpoint.served_by,
        },
        article_ids=earlier,
    )
    return RunWriter(run_dir, manifest, recipe, job.redo_changed, redact=job.endpoint.redact)


def extract_with_ray(
    job: ExtractionJob,
    options: RayOptions,
    on_result: Callable[[ArticleResult], None] = lambda result: None,
    on_start: Callable[[Any], None] = lambda run: None,
) -> ExtractionOutcome:
    """Extract ``job``'s inputs on Ray into its run folder; the outcome is the plain engine's."""
    from llmx.extraction.extractor import build_extractor

    settings = job.settings
    if any(not isinstance(item, str | Path) for item in job.inputs):
        raise UsageError("--engine ray reads files and folders (Parquet, JSONL, CSV, .txt), not articles in memory")
    extractor = build_extractor(settings, job.endpoint.redact)  # a prompt or schema error: here, once
    url = job.endpoint.base_url or (OPENAI_URL if job.endpoint.api_key else None)
    live = job.endpoint.live_possible and job.policy != "replay"
    if (
        settings.max_cost is not None
        and live
        and not PriceBook(settings.prices, provider_url=url).known(settings.model)
    ):
        raise ConfigError(
            f"--max-cost needs a price for model {settings.model!r}: add it to [tool.llmx.prices]", "--max-cost"
        )
    started_ray = _start_ray(options.address)
    started = time.perf_counter()
    writer = _open_writer(job, extractor.recipe)
    summary, not_started, spent = RunSummary(), 0, 0.0
    rate: RateController | None = None
    status: RunStatus = "complete"
    interrupted = False
    try:
        import ray
        import ray.data

        from llmx.app.ray_actors import BudgetActor, RateActor, StoreActor, on_this_node
        from llmx.app.ray_inputs import read_dataset
        from llmx.app.ray_worker import ExtractWorker, WorkerSpec

        here = on_this_node()
        store = StoreActor.options(max_concurrency=8, **here).remote(
            settings.cassette_store, str(settings.cassettes), job.endpoint.redact
        )
        if live:
            ray.get(store.check_writable.remote())
        ceiling = settings.concurrency * options.workers
        shared_rate = RateActor.options(**here).remote(ceiling, settings.max_wait) if live else None
        budget = None
        if settings.max_cost is not None:
            budget = BudgetActor.options(**here).remote(settings.max_cost, writer.folder_summary.spent_usd or 0.0)
        spec = WorkerSpec(
            settings,
            job.endpoint,
            job.policy,
            store,
            shared_rate,
            budget,
            frozenset(writer.done),
            url,
            ceiling,
            str(Path.cwd()),
        )
        dataset = read_dataset([item for item in job.inputs if isinstance(item, str | Path)], settings)
        results = dataset.map_batches(
            ExtractWorker,
            fn_constructor_args=(spec,),
            batch_size=options.batch_size or settings.concurrency,
            compute=ray.data.ActorPoolStrategy(size=options.workers),
            num_cpus=WORKER_CPUS,
            batch_format="numpy",
        )
        on_start(writer)
        for batch in results.iter_batches(batch_format="numpy", batch_size=None):
            for outcome, line in zip(batch["outcome"], batch["line"], strict=True):
                if outcome == "fatal":
                    raise EndpointError(str(line))
                if outcome == "not_started":
                    not_started += 1
                elif outcome != "skipped":
                    result = ArticleResult.model_validate_json(line)
                    writer.append(result)
                    summary.add(result)
                    on_result(result)
        spent = float(ray.get(budget.spent.remote())) if budget is not None else 0.0
        if shared_rate is not None:
            window, stats = ray.get(shared_rate.state.remote())
            rate = RateController(ceiling)
            rate.aimd.limit, rate.stats = float(window), stats
        ray.get(store.close.remote())
    except KeyboardInterrupt:
        interrupted, status = True, "interrupted"
    except Exception as error:
        # A worker's error reaches the driver wrapped by Ray: the llmx error inside is what to say.
        cause = _llmx_cause(error)
        writer.close("failed", time.perf_counter() - started, str(cause or error))
        if cause is not None and cause is not error:
            raise cause from None
        raise
    finally:
        if started_ray:
            import ray

            ray.shutdown()
    over = None
    if not interrupted and not_started and settings.max_cost is not None:
        over = BudgetExceeded(
            f"spent ${spent:.4f} of --max-cost ${settings.max_cost:.4f}; {not_started} article(s) not started",
            settings.max_cost,
            spent,
        )
        status = "over_budget"
    wall = time.perf_counter() - started
    writer.close(status, wall, str(over) if over else None)
    summary.wall_s = round(wall, 3)
    for result in writer.done.values():
        summary.add(result)
    outcome = ExtractionOutcome(
        writer.out, job.policy, summary, writer.failed, len(writer.done), interrupted, over_budget=over
    )
    outcome.not_started, outcome.rate = not_started, rate
    written = read_results(writer.out)
    outcome.article_ids = [r.article_id for r in written]  # rows have no input order here: as written
    if job.export_format and job.export_format != "jsonl" and not interrupted:
        from llmx.app.run_export import schema_kinds
        from llmx.runs.export import FORMATS, write_export

        target = writer.out / f"extractions{FORMATS[job.export_format][0]}"
        kinds = schema_kinds(written, job.settings)
        outcome.export = write_export(written, job.export_format, target, force=True, kinds=kinds)
    return outcome


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
