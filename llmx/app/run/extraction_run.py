"""Run an extraction into a run folder: the use case behind ``llmx extract``, ``bench/`` and
:func:`llmx.extract`.

An :class:`ExtractionRun` is a context manager. Entering it checks everything that can be
checked before the first request (the articles, every prompt rendering, a price for
``--max-cost``) and takes the run folder (its lock, its recipe, ``run.json``); leaving it
closes the folder with the status the run earned, or "failed" and the reason if it raised.
The articles are streamed, never held (:class:`~llmx.inputs.corpus.Corpus`): the checks read
them once, :meth:`ExtractionRun.todo` reads them again for the extraction.

The run is the one lifecycle every engine shares; an :class:`Engine` only turns the articles
still to do into results, each handed to :meth:`ExtractionRun.complete`: the plain engine
(:mod:`llmx.app.run.engines`) through one gateway in this process, ``--batch``
(:mod:`llmx.app.run.batch_engine`) through the provider's Batch API, ``--engine ray``
(:mod:`llmx.app.run.ray.engine`) on Ray workers. Resume, the budget, the status and the export are
the run's, so a fix to one holds for all three.

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
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

from llmx.app.run.extraction_job import ExtractionJob, ExtractionOutcome, redact_command
from llmx.app.run.worker_pool import run_all
from llmx.cassettes.gateway import Gateway
from llmx.errors import BudgetExceeded, ConfigError, LlmxError
from llmx.inputs.articles import Article
from llmx.inputs.corpus import Corpus, KeptTexts
from llmx.inputs.tables import Columns
from llmx.model.endpoint import OPENAI_URL
from llmx.runs.costs import Budget, PriceBook, price_result
from llmx.runs.files import now_iso
from llmx.runs.folder import RunWriter, run_target
from llmx.runs.results import ArticleResult, RunManifest, RunStatus, RunSummary, Usage

if TYPE_CHECKING:
    from llmx.extraction.extractor import Extractor
    from llmx.model.rate_control import RateController


@dataclass(frozen=True)
class RunHooks:
    """What the caller (a progress bar, a notebook) hears of a run; all optional."""

    on_start: Callable[[ExtractionRun], None] = lambda run: None  # every check passed, the folder taken
    on_result: Callable[[ArticleResult], None] = lambda result: None  # as each result is written
    on_interrupt: Callable[[], None] = lambda: None  # the first Ctrl-C: finishing what is in flight


class Engine(Protocol):
    """How a run's articles become results; everything else is :class:`ExtractionRun`'s."""

    name: str  # recorded in run.json's settings
    # True: the run reads and checks every article before the first request (ids, sizes,
    # renders). False (Ray): the workers read them, and ids are learnt as results arrive.
    reads_inputs: bool

    def check(self, job: ExtractionJob) -> None:
        """What this engine refuses before anything is read or written (raises UsageError)."""

    def work(self, run: ExtractionRun, hooks: RunHooks) -> Coroutine[Any, Any, Any]:
        """Extract ``run.todo()``, handing each result to ``run.complete`` then ``hooks.on_result``;
        set ``run.interrupted`` on Ctrl-C. May return a batch report."""
        ...


class ExtractionRun:
    """One run into one run folder. ``with ExtractionRun(job, engine) as run:`` prepares it (every
    check, the folder locked); :meth:`execute` has the engine do the work; leaving closes the folder."""

    def __init__(self, job: ExtractionJob, engine: Engine) -> None:
        self.job = job
        self.engine = engine
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
        self.engine.check(job)
        self.corpus = Corpus(job.inputs, Columns.of(settings))  # a long article fails alone (too_long)
        self.extractor: Extractor = build_extractor(settings, job.endpoint.redact)
        if self.engine.reads_inputs:
            self.extractor.check_renders(self.corpus.checked())  # the first pass: ids, sizes, renders
        self.run_dir = run_target(job.out_dir, settings.runs_dir, settings.kept_folders)  # never another run's
        # Without a first pass the ids are learnt as results arrive; the folder's own lines say
        # which earlier articles this run takes over (their failures are redone).
        self.article_ids: list[str] = self.corpus.ids if self.engine.reads_inputs else self._earlier_ids()
        url = job.endpoint.base_url or (OPENAI_URL if job.endpoint.api_key else None)
        self.provider_url = url
        self.prices = PriceBook(settings.prices, batch=job.batch is not None, provider_url=url)
        pays = job.endpoint.live_possible and job.policy != "replay"
        if settings.max_cost is not None and pays and not self.prices.known(settings.model):
            raise ConfigError(
                f"--max-cost needs a price for model {settings.model!r}, and none is known: "
                f'add it to [tool.llmx.prices], e.g. "{settings.model}" = {{prompt = 0.15, completion = 0.6}}',
                "--max-cost",
            )
        manifest = RunManifest(
            status="running",
            started_at=now_iso(),
            command=redact_command(job.command, job.endpoint.redact),
            inputs=[str(Path(item).absolute()) for item in job.inputs if not isinstance(item, Article)],
            settings={
                **settings.model_dump(mode="json", by_alias=True),
                "cassette_policy": job.policy,
                "engine": self.engine.name,
                **job.endpoint.served_by,
            },
            article_ids=list(self.article_ids),
        )
        self._writer = RunWriter(
            self.run_dir, manifest, self.extractor.recipe, job.redo_changed, redact=job.endpoint.redact
        )
        self._texts = KeptTexts(self.run_dir)
        todo = sum(aid not in self._writer.done for aid in self.article_ids)
        self.todo_count = todo if self.engine.reads_inputs else None  # None: the workers count them
        self.budget = Budget(settings.max_cost, self._writer.folder_summary.spent_usd or 0.0)
        self._known = set(self.article_ids)
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

    def _earlier_ids(self) -> list[str]:
        from llmx.runs.folder import read_results

        return [r.article_id for r in read_results(self.run_dir, missing_ok=True)] if self.run_dir.is_dir() else []

    def seen(self, article_id: str) -> None:
        """An article an engine without a first pass met (finished, skipped or not started)."""
        if article_id not in self._known:
            self._known.add(article_id)
            self.article_ids.append(article_id)

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
        self.seen(result.article_id)

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

    def execute(self, hooks: RunHooks) -> ExtractionOutcome:
        """Have the engine do the work to its end, then close the run folder with the status it
        earned."""
        # Everything loaded so far lives for the whole run; without this, every full collection
        # rescans all of it (1.3 s of 6.5 s when replaying 10k articles).
        gc.freeze()
        try:
            batch = asyncio.run(self.engine.work(self, hooks))
        except (KeyboardInterrupt, asyncio.CancelledError):
            self.interrupted, batch = True, None
        writer = self.writer
        writer.manifest.article_ids = list(dict.fromkeys([*writer.manifest.article_ids, *self.article_ids]))
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
