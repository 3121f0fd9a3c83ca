"""Run an extraction into a run folder: the use case behind ``llmx extract`` (and ``bench/``).

Everything that can be checked is checked before the first request: the articles, every
prompt rendering, the cassette folder, the run folder's lock and recipe, a price for
``--max-cost``. Then articles run concurrently and each result is priced and appended as it
finishes; the first Ctrl-C takes no new article and lets the ones in flight finish and be
written (they are paid for), a second stops at once.

``--max-cost`` caps what the run folder spends (earlier runs into it included). The spend of an
article is known when its answer arrives, so the cap is checked as each article finishes: once
reached, no new article starts and those in flight finish, so a run may overshoot by what was
in flight (at most ``concurrency`` articles). The same command with a higher cap resumes.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmx.articles import Article, load_articles
from llmx.cassette_gateway import CassetteGateway
from llmx.cassettes import CassettePolicy
from llmx.config import Settings
from llmx.costs import Budget, PriceBook, price_result
from llmx.endpoint import OPENAI_URL, Endpoint, build_gateway
from llmx.errors import ERROR_KINDS, BudgetExceeded, ConfigError, LlmxError
from llmx.files import Redactor, now_iso, public_url
from llmx.results import ArticleResult, RunManifest, RunStatus, RunSummary, Usage
from llmx.run_folder import RunWriter, default_run_dir

if TYPE_CHECKING:
    from llmx.batch import BatchOptions


@dataclass
class ExtractionJob:
    inputs: list[str]
    settings: Settings
    endpoint: Endpoint
    policy: CassettePolicy
    out_dir: Path | None = None
    redo_changed: bool = False
    command: list[str] = field(default_factory=list)  # as typed; redacted before it is written
    export_format: str | None = None
    batch: BatchOptions | None = None  # --batch: answers from the provider's Batch API (llmx.batch)


@dataclass
class ExtractionOutcome:
    run_dir: Path
    policy: CassettePolicy
    summary: RunSummary  # this run's articles: kept from before and done now
    failed: list[ArticleResult]
    resumed: int
    interrupted: bool = False
    export: Path | None = None
    over_budget: BudgetExceeded | None = None
    not_started: int = 0  # articles left for a later run (over budget, interrupted, batch not collected)
    batch: Any = None  # a --batch run's llmx.batch.BatchReport

    @property
    def exit_code(self) -> int:
        """From the error classes: a cassette miss is 3, the budget reached 5, any other failure 1."""
        codes = [ERROR_KINDS.get(r.error.kind, LlmxError).exit_code for r in self.failed if r.error]
        if self.over_budget is not None:
            codes.append(self.over_budget.exit_code)
        return 130 if self.interrupted else max(codes, default=0)


def redact_command(argv: list[str], redact: Redactor) -> list[str]:
    """The command as typed, minus credentials: URLs lose user, password and query values."""
    return [public_url(arg) if "://" in arg else (redact(arg) or "") for arg in argv]


class ExtractionRun:
    """A prepared run: every check passed, the run folder locked. ``execute`` does the work."""

    def __init__(self, job: ExtractionJob) -> None:
        from llmx.extract import build_extractor  # instructor + openai: only for commands that extract

        settings = job.settings
        self.job = job
        self.articles: list[Article] = load_articles(job.inputs, settings.max_article_chars)
        gateway: CassetteGateway
        if job.batch is not None:
            from llmx.batch import collecting_gateway

            gateway = collecting_gateway(settings, job.endpoint)
        else:
            gateway = build_gateway(settings, job.endpoint, job.policy)
        self.extractor = build_extractor(settings, gateway, job.endpoint.redact)
        self.extractor.check_renders(self.articles)
        url = job.endpoint.base_url or (OPENAI_URL if job.endpoint.api_key else None)
        self.prices = PriceBook(settings.prices, batch=job.batch is not None, provider_url=url)
        pays = job.endpoint.live_possible and job.policy != "replay"
        if settings.max_cost is not None and pays and not self.prices.known(settings.model):
            raise ConfigError(
                f"--max-cost needs a price for model {settings.model!r}, and none is known: "
                f'add it to [tool.llmx.prices], e.g. "{settings.model}" = {{prompt = 0.15, completion = 0.6}}',
                "--max-cost",
            )
        self.run_dir = job.out_dir or default_run_dir(settings.runs_dir)
        manifest = RunManifest(
            status="running",
            started_at=now_iso(),
            command=redact_command(job.command, job.endpoint.redact),
            inputs=[str(Path(item).absolute()) for item in job.inputs],  # `llmx view` finds the texts anywhere
            settings={
                **settings.model_dump(mode="json", by_alias=True),
                "cassette_policy": job.policy,
                **job.endpoint.served_by,
            },
            article_ids=[a.id for a in self.articles],
        )
        self.writer = RunWriter(self.run_dir, manifest, self.extractor.recipe, job.redo_changed)
        self.todo = [a for a in self.articles if a.id not in self.writer.done]
        self.budget = Budget(settings.max_cost, self.writer.folder_summary.spent_usd or 0.0)
        self.interrupted = False
        self.summary = RunSummary()  # what this run wrote (results are not kept: memory stays flat)
        self.finished: set[str] = set()

    def complete(self, result: ArticleResult, paid: Usage | None = None) -> None:
        """A result arrived: price it, count its spend against the budget, append it to the run."""
        price_result(result, self.prices, paid)
        self.budget.add(result.provenance.spent_usd)
        self.writer.append(result)
        self.summary.add(result)
        self.finished.add(result.article_id)

    def execute(
        self,
        on_result: Callable[[ArticleResult], None] = lambda result: None,
        on_interrupt: Callable[[], None] = lambda: None,
    ) -> ExtractionOutcome:
        if self.job.batch is not None:
            from llmx.batch import execute_batch

            return execute_batch(self, self.job.batch, on_result, on_interrupt)
        return self.guarded(lambda: self._run(on_result, on_interrupt))

    def guarded(self, work: Callable[[], Coroutine[Any, Any, Any]]) -> ExtractionOutcome:
        """Run ``work`` (which sets ``self.interrupted`` on Ctrl-C), then close the run folder with
        the status it earned, or with "failed" and the reason if it raised."""
        writer = self.writer
        # Everything loaded so far lives for the whole run; without this, every full collection
        # rescans all of it (1.3 s of 6.5 s when replaying 10k articles).
        gc.freeze()
        started = time.perf_counter()
        try:
            batch = asyncio.run(work())
        except (KeyboardInterrupt, asyncio.CancelledError):
            self.interrupted, batch = True, None
        except LlmxError as error:
            writer.close("failed", time.perf_counter() - started, str(error))
            raise
        except BaseException as error:
            writer.close("failed", time.perf_counter() - started, f"{type(error).__name__}: {error}")
            raise
        not_started = sum(1 for a in self.articles if a.id not in writer.done and a.id not in self.finished)
        over = None
        if self.budget.reached and not_started and not self.interrupted:
            cap = self.budget.cap or 0.0
            over = BudgetExceeded(
                f"spent ${self.budget.spent:.4f} of --max-cost ${cap:.4f}; {not_started} article(s) not started",
                cap,
                self.budget.spent,
            )
        status: RunStatus = "interrupted" if self.interrupted else ("over_budget" if over else "complete")
        if status == "complete" and getattr(batch, "pending", False):
            status = "batch_pending"  # --no-wait: the provider still works on it
        writer.close(status, time.perf_counter() - started, str(over) if over else None)
        summary, self.summary.wall_s = self.summary, round(time.perf_counter() - started, 3)
        for result in writer.done.values():
            summary.add(result)
        outcome = ExtractionOutcome(
            self.run_dir, self.job.policy, summary, writer.failed, len(writer.done), self.interrupted, over_budget=over
        )
        outcome.not_started, outcome.batch = not_started, batch
        if self.job.export_format and not self.interrupted:
            from llmx.export import FORMATS, write_export
            from llmx.run_folder import read_results

            path = self.run_dir / f"extractions{FORMATS[self.job.export_format][0]}"
            if self.job.export_format != "jsonl":  # extractions.jsonl is the run itself
                outcome.export = write_export(read_results(self.run_dir), self.job.export_format, path, force=True)
        return outcome

    def watch_interrupts(self, stop: asyncio.Event, on_interrupt: Callable[[], None]) -> Callable[[], object]:
        """In the running loop: the first Ctrl-C sets ``stop`` (no new work), a second cancels
        everything. Returns the function that removes the handler."""
        loop, main = asyncio.get_running_loop(), asyncio.current_task()

        def interrupt() -> None:
            if self.interrupted and main is not None:
                main.cancel()
                return
            self.interrupted = True
            stop.set()
            on_interrupt()

        loop.add_signal_handler(signal.SIGINT, interrupt)
        return lambda: loop.remove_signal_handler(signal.SIGINT)

    async def run_articles(
        self, articles: list[Article], on_result: Callable[[ArticleResult], None], stop: asyncio.Event
    ) -> RunSummary:
        """One pass over ``articles``; stops taking new ones once ``stop`` is set or the budget is reached."""
        from llmx.worker_pool import run_all

        if self.budget.reached:
            return RunSummary()

        def arrived(result: ArticleResult) -> None:
            on_result(result)
            if self.budget.reached:
                stop.set()

        return await run_all(self.extractor, articles, self.job.settings.concurrency, arrived, stop)

    async def _run(self, on_result: Callable[[ArticleResult], None], on_interrupt: Callable[[], None]) -> None:
        stop = asyncio.Event()

        def record(result: ArticleResult) -> None:
            self.complete(result)
            on_result(result)

        unwatch = self.watch_interrupts(stop, on_interrupt)
        try:
            await self.run_articles(self.todo, record, stop)
        finally:
            unwatch()
