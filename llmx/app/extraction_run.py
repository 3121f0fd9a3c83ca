"""Run an extraction into a run folder: the use case behind ``llmx extract``, ``bench/`` and
:func:`llmx.extract`.

An :class:`ExtractionRun` is a context manager. Entering it checks everything that can be
checked before the first request (the articles, every prompt rendering, a price for
``--max-cost``) and takes the run folder (its lock, its recipe, ``run.json``); leaving it
closes the folder with the status the run earned, or "failed" and the reason if it raised.
The articles are streamed, never held (:class:`~llmx.inputs.corpus.Corpus`): the checks read
them once, :meth:`ExtractionRun.todo` reads them again for the extraction.
Inside, :meth:`ExtractionRun.run_articles` extracts articles through a gateway it is handed:
:func:`extract_articles` opens one for a plain run, :mod:`llmx.app.batch_extraction` a
collecting one for ``--batch``; each closes what it opened.

``--max-cost`` caps what the run folder spends (earlier runs into it included). The spend of an
article is known when its answer arrives, so the cap is checked as each article finishes: once
reached, no new article starts and those in flight finish, so a run may overshoot by what was
in flight (at most ``concurrency`` articles). The same command with a higher cap resumes.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from llmx.app.endpoint import build_gateway
from llmx.app.interrupts import watch_interrupts
from llmx.app.worker_pool import run_all
from llmx.cassettes.gateway import Gateway, RecordingGateway
from llmx.cassettes.store import CassettePolicy
from llmx.core.redact import Redactor, public_url
from llmx.errors import ERROR_KINDS, BudgetExceeded, ConfigError, LlmxError
from llmx.inputs.articles import Article, ArticleInput
from llmx.inputs.config import Settings
from llmx.inputs.corpus import Corpus, KeptTexts
from llmx.inputs.tables import Columns
from llmx.model.endpoint import OPENAI_URL, Endpoint
from llmx.runs.costs import Budget, PriceBook, price_result
from llmx.runs.files import now_iso
from llmx.runs.folder import RunWriter, run_target
from llmx.runs.results import ArticleResult, RunManifest, RunStatus, RunSummary, Usage

if TYPE_CHECKING:
    from llmx.batch.rounds import BatchOptions
    from llmx.extraction.extractor import Extractor
    from llmx.model.rate_control import RateController


@dataclass(frozen=True, kw_only=True)
class ExtractionJob:
    """What to extract, with what, into where. Keyword-only: a reorder cannot swap two options."""

    inputs: list[ArticleInput]  # paths, folders, globs, or Article objects
    settings: Settings
    endpoint: Endpoint = field(default_factory=Endpoint)
    policy: CassettePolicy = "replay"
    out_dir: Path | None = None
    redo_changed: bool = False
    command: list[str] = field(default_factory=list)  # as typed; redacted before it is written
    export_format: str | None = None
    batch: BatchOptions | None = None  # answers from the provider's Batch API (llmx.app.batch_extraction)


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
    batch: Any = None  # a --batch run's llmx.app.batch_extraction.BatchReport
    article_ids: list[str] = field(default_factory=list)  # the job's articles, in input order
    rate: RateController | None = None  # the adaptive window of requests in flight, when a model was called

    @property
    def exit_code(self) -> int:
        """From the error classes: a cassette miss is 3, the budget reached 5, any other failure 1."""
        codes = [ERROR_KINDS.get(r.error.kind, LlmxError).exit_code for r in self.failed if r.error]
        if self.over_budget is not None:
            codes.append(self.over_budget.exit_code)
        return 130 if self.interrupted else max(codes, default=0)


def redact_command(argv: list[str], redact: Redactor) -> list[str]:
    """The command as typed, minus credentials: URLs lose user, password and query values."""
    return [redact.text(public_url(arg) if "://" in arg else arg) for arg in argv]


class ExtractionRun:
    """One run into one run folder. ``with ExtractionRun(job) as run:`` prepares it (every check,
    the folder locked); :meth:`execute` does the work; leaving closes the folder."""

    def __init__(self, job: ExtractionJob) -> None:
        self.job = job
        self.interrupted = False
        self.summary = RunSummary()  # what this run wrote (results are not kept: memory stays flat)
        self.finished: set[str] = set()
        self.rate: RateController | None = None
        self._started = 0.0
        self._writer: RunWriter | None = None
        self._texts: KeptTexts | None = None

    def __enter__(self) -> Self:
        from llmx.extraction.extractor import build_extractor  # instructor + openai: only to extract

        job, settings = self.job, self.job.settings
        self.corpus = Corpus(job.inputs, Columns.of(settings))  # a long article fails alone (too_long)
        self.extractor: Extractor = build_extractor(settings, job.endpoint.redact)
        self.extractor.check_renders(self.corpus.checked())  # the first pass: ids, sizes, renders
        self.article_ids: list[str] = self.corpus.ids
        url = job.endpoint.base_url or (OPENAI_URL if job.endpoint.api_key else None)
        self.prices = PriceBook(settings.prices, batch=job.batch is not None, provider_url=url)
        pays = job.endpoint.live_possible and job.policy != "replay"
        if settings.max_cost is not None and pays and not self.prices.known(settings.model):
            raise ConfigError(
                f"--max-cost needs a price for model {settings.model!r}, and none is known: "
                f'add it to [tool.llmx.prices], e.g. "{settings.model}" = {{prompt = 0.15, completion = 0.6}}',
                "--max-cost",
            )
        self.run_dir = run_target(job.out_dir, settings.runs_dir, settings.kept_folders)
        manifest = RunManifest(
            status="running",
            started_at=now_iso(),
            command=redact_command(job.command, job.endpoint.redact),
            inputs=[str(Path(item).absolute()) for item in job.inputs if not isinstance(item, Article)],
            settings={
                **settings.model_dump(mode="json", by_alias=True),
                "cassette_policy": job.policy,
                **job.endpoint.served_by,
            },
            article_ids=list(self.article_ids),
        )
        self._writer = RunWriter(
            self.run_dir, manifest, self.extractor.recipe, job.redo_changed, redact=job.endpoint.redact
        )
        self._texts = KeptTexts(self.run_dir)
        self.todo_count = sum(1 for aid in self.article_ids if aid not in self._writer.done)
        self.budget = Budget(settings.max_cost, self._writer.folder_summary.spent_usd or 0.0)
        self._started = time.perf_counter()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """A run that raised is closed "failed", with the reason; one that finished is already closed."""
        if self._texts is not None:
            self._texts.close()
        writer = self._writer
        if writer is None or writer.closed:
            return
        reason = str(error) if isinstance(error, LlmxError) else f"{kind.__name__}: {error}" if kind else None
        writer.close("failed" if kind else "interrupted", self._elapsed(), reason)

    def todo(self, only: Iterable[str] | None = None) -> Iterator[Article]:
        """The articles still to extract (``only`` those ids, if given), read again from the inputs.
        A text llmx derived (an HTML page's) is kept in the run folder as it is read."""
        done, texts = self.writer.done, self._texts
        wanted = set(only) if only is not None else None

        def keep(article: Article) -> None:
            if texts is not None and (article.id not in done or article.id not in texts.kept):
                texts.add(article)

        for article in self.corpus.again(keep):
            if article.id not in done and (wanted is None or article.id in wanted):
                yield article

    @property
    def writer(self) -> RunWriter:
        if self._writer is None:
            raise RuntimeError("enter the run first: `with ExtractionRun(job) as run:`")
        return self._writer

    def _elapsed(self) -> float:
        return time.perf_counter() - self._started

    def complete(self, result: ArticleResult, paid: Usage | None = None) -> None:
        """A result arrived: price it, count its spend against the budget, append it to the run."""
        price_result(result, self.prices, paid)
        self.budget.add(result.provenance.spent_usd)
        self.writer.append(result)
        self.summary.add(result)
        self.finished.add(result.article_id)

    async def run_articles(
        self,
        gateway: Gateway,
        articles: Iterable[Article],
        on_result: Callable[[ArticleResult], None],
        stop: asyncio.Event,
    ) -> None:
        """One pass over ``articles`` through ``gateway``; takes no new article once ``stop`` is set
        or the budget is reached. ``on_result`` decides what becomes of each result."""
        if self.budget.reached:
            return

        def arrived(result: ArticleResult) -> None:
            on_result(result)
            if self.budget.reached:
                stop.set()

        extractor = self.extractor
        await run_all(
            lambda article: extractor.extract(article, gateway), articles, self.job.settings.concurrency, arrived, stop
        )

    def execute(self, work: Callable[[], Coroutine[Any, Any, Any]]) -> ExtractionOutcome:
        """Run ``work`` (which sets ``self.interrupted`` on Ctrl-C) to its end, then close the run
        folder with the status it earned. ``work`` may return a batch report."""
        # Everything loaded so far lives for the whole run; without this, every full collection
        # rescans all of it (1.3 s of 6.5 s when replaying 10k articles).
        gc.freeze()
        try:
            batch = asyncio.run(work())
        except (KeyboardInterrupt, asyncio.CancelledError):
            self.interrupted, batch = True, None
        writer = self.writer
        not_started = sum(1 for aid in self.article_ids if aid not in writer.done and aid not in self.finished)
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
        writer.close(status, self._elapsed(), str(over) if over else None)
        summary = self.summary
        summary.wall_s = round(self._elapsed(), 3)
        for result in writer.done.values():
            summary.add(result)
        outcome = ExtractionOutcome(
            self.run_dir, self.job.policy, summary, writer.failed, len(writer.done), self.interrupted, over_budget=over
        )
        outcome.not_started, outcome.batch = not_started, batch
        outcome.article_ids, outcome.rate = list(self.article_ids), self.rate
        if self.job.export_format and not self.interrupted:
            outcome.export = self._export(self.job.export_format)
        return outcome

    def _export(self, fmt: str) -> Path | None:
        from llmx.runs.export import FORMATS, column_kinds, write_export
        from llmx.runs.folder import read_results

        if fmt == "jsonl":  # extractions.jsonl is the run itself
            return None
        path = self.run_dir / f"extractions{FORMATS[fmt][0]}"
        kinds = column_kinds(self.extractor.schema.record_model)
        return write_export(read_results(self.run_dir), fmt, path, force=True, kinds=kinds)


def extract_articles(
    job: ExtractionJob,
    on_result: Callable[[ArticleResult], None] = lambda result: None,
    on_interrupt: Callable[[], None] = lambda: None,
    on_start: Callable[[ExtractionRun], None] = lambda run: None,
) -> ExtractionOutcome:
    """Extract ``job``'s articles into its run folder: replayed, or through the model server.
    ``on_start`` sees the prepared run (how many articles are to do), ``on_result`` each result
    as it is written. (``--batch`` runs are :func:`llmx.app.batch_extraction.extract_batch`.)"""
    with ExtractionRun(job) as run:
        on_start(run)

        async def work() -> None:
            stop = asyncio.Event()

            def record(result: ArticleResult) -> None:
                run.complete(result)
                on_result(result)

            # Opened here and closed here, in the loop that used its connections.
            async with build_gateway(job.settings, job.endpoint, job.policy) as gateway:
                if isinstance(gateway, RecordingGateway):
                    run.rate = gateway.server.policy.rate
                with watch_interrupts(stop, on_interrupt) as interrupted:
                    try:
                        await run.run_articles(gateway, run.todo(), record, stop)
                    finally:
                        run.interrupted = interrupted.is_set()

        return run.execute(work)
