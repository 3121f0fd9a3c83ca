"""One Ray worker of ``llmx extract --engine ray``: a callable class Ray Data's actor pool
holds, one per worker process. It builds llmx's extractor (prompts, schema, checks) and its
gateway once, then extracts each batch it is handed with llmx's own concurrency and retries
(asyncio, in the event loop Ray Data runs async workers in), returning one result line per row.

The cassette store, the window of requests in flight and the budget are shared through the
actors of :mod:`llmx.app.run.ray.actors`; the run folder is written by the driver alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from llmx.app.run.endpoint import build_gateway, build_server
from llmx.app.run.ray.actors import RemoteStore, SharedRate
from llmx.app.run.ray.inputs import row_to_article, safe_id
from llmx.cassettes.gateway import Gateway
from llmx.cassettes.store import CassettePolicy
from llmx.errors import ArticleError, EndpointError, PromptError
from llmx.inputs.articles import Article
from llmx.inputs.config import PATH_FIELDS, Settings
from llmx.model.endpoint import Endpoint
from llmx.model.rate_control import RateController
from llmx.runs.costs import PriceBook, price_result
from llmx.runs.results import ArticleResult, Failure, Provenance

if TYPE_CHECKING:
    from llmx.app.run.extraction_run import ExtractionRun

# What became of a row: a result line ("ok", "failed"), or none ("skipped": finished by an
# earlier run; "not_started": the budget was reached; "fatal": the server serves nothing).
Outcome = str


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs, sent once when it starts."""

    settings: Settings
    endpoint: Endpoint
    policy: CassettePolicy
    store: Any  # StoreActor handle
    rate: Any  # RateActor handle, or None when nothing is called
    budget: Any  # BudgetActor handle, or None with no --max-cost (no round trip per article then)
    done: frozenset[str]  # article ids finished with this recipe by earlier runs
    provider_url: str | None
    ceiling: int  # the shared window's ceiling: workers × concurrency
    driver_cwd: str  # project paths are resolved against the worker's own copy when it has one


def worker_settings(settings: Settings, driver_cwd: Path) -> Settings:
    """On another machine (``ray job submit --working-dir``) the project is unpacked elsewhere:
    a path under the driver's folder that is not here is taken from the worker's folder."""
    moved: dict[str, Path] = {}
    for name in PATH_FIELDS:
        path = getattr(settings, name)
        if not path.exists() and path.is_relative_to(driver_cwd):
            moved[name] = Path.cwd() / path.relative_to(driver_cwd)
    return settings.model_copy(update=moved)


@dataclass
class SharedState:
    """The actors a Ray run's workers share, started on the driver's node for one run."""

    store: Any
    rate: Any
    budget: Any
    ceiling: int

    @classmethod
    def start(cls, run: ExtractionRun, workers: int, live: bool) -> SharedState:
        import ray

        from llmx.app.run.ray.actors import BudgetActor, RateActor, StoreActor, on_this_node

        settings, here = run.job.settings, on_this_node()
        store = StoreActor.options(max_concurrency=8, **here).remote(
            settings.cassette_store, str(settings.cassettes), run.job.endpoint.redact
        )
        if live:
            ray.get(store.check_writable.remote())
        ceiling = settings.concurrency * workers
        rate = RateActor.options(**here).remote(ceiling, settings.max_wait) if live else None
        budget = None
        if settings.max_cost is not None:
            budget = BudgetActor.options(**here).remote(settings.max_cost, run.budget.spent)
        return cls(store, rate, budget, ceiling)

    def spec(self, run: ExtractionRun, driver_cwd: str) -> WorkerSpec:
        job = run.job
        done = frozenset(run.writer.done)
        return WorkerSpec(
            job.settings, job.endpoint, job.policy, self.store, self.rate, self.budget, done,
            run.provider_url, self.ceiling, driver_cwd,
        )  # fmt: skip

    def finish(self, run: ExtractionRun) -> None:
        """Hand the shared state back to the run: what the workers spent, the window they
        settled on; close the store once every worker is done."""
        import ray

        if self.budget is not None:  # the workers' own tally: it is what stopped them
            run.budget.spent = max(run.budget.spent, float(ray.get(self.budget.spent.remote())))
        if self.rate is not None:
            window, stats = ray.get(self.rate.state.remote())
            run.rate = RateController(self.ceiling)
            run.rate.aimd.limit, run.rate.stats = float(window), stats
        ray.get(self.store.close.remote())


class ExtractWorker:
    def __init__(self, spec: WorkerSpec) -> None:
        from llmx.extraction.extractor import build_extractor  # instructor + openai: in the worker

        self.spec = spec
        self.settings = worker_settings(spec.settings, Path(spec.driver_cwd))
        self.extractor = build_extractor(self.settings, spec.endpoint.redact)
        self.prices = PriceBook(self.settings.prices, provider_url=spec.provider_url)
        self._gateway: Gateway | None = None
        self._open_lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(self.settings.concurrency)  # across the batches in flight

    async def _open(self) -> Gateway:
        """The gateway, once per worker, in the loop every batch of this worker runs in."""
        async with self._open_lock:
            if self._gateway is None:
                spec, settings = self.spec, self.settings
                store = RemoteStore(spec.store, spec.settings.cassette_store, spec.settings.cassettes)
                server = None
                if spec.policy != "replay" and spec.endpoint.live_possible:
                    server = build_server(settings, spec.endpoint)
                    if spec.rate is not None:
                        shared = SharedRate(spec.rate, spec.ceiling, settings.max_wait)
                        server.policy = dataclasses.replace(server.policy, rate=shared)
                gateway = build_gateway(settings, spec.endpoint, spec.policy, store=store, server=server)
                self._gateway = await gateway.__aenter__()
            return self._gateway

    async def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[str]]:
        gateway = await self._open()
        rows = [{name: _plain(values[n]) for name, values in batch.items()} for n in range(len(batch["id"]))]
        outcomes = await asyncio.gather(*(self._one(row, gateway) for row in rows))
        return {
            "article_id": [o[0] for o in outcomes],
            "outcome": [o[1] for o in outcomes],
            "line": [o[2] for o in outcomes],
        }

    async def _one(self, row: dict[str, Any], gateway: Gateway) -> tuple[str, Outcome, str]:
        try:
            article: Article | None = row_to_article(row)  # a long one fails alone (too_long)
            error: Exception | None = None
        except ArticleError as bad:
            article, error = None, bad
        article_id = article.id if article else safe_id(row)
        if article_id in self.spec.done:
            return article_id, "skipped", ""
        if article is None:  # a bad row fails its own article, never the run
            return article_id, "failed", self._failed(article_id, "bad_row", str(error)).model_dump_json(by_alias=True)
        async with self._slots:
            budget = self.spec.budget
            if budget is not None and await budget.reached.remote():
                return article_id, "not_started", ""
            try:
                result = await self.extractor.extract(article, gateway)
            except EndpointError as fatal:
                return article_id, "fatal", str(fatal)
            except PromptError as bad_prompt:
                result = self._failed(article_id, "prompt_error", f"article {article_id}: {bad_prompt}")
            price_result(result, self.prices)
            if budget is not None:
                await budget.add.remote(result.provenance.spent_usd)
        return article_id, result.status, result.model_dump_json(by_alias=True)

    def _failed(self, article_id: str, kind: str, message: str) -> ArticleResult:
        extractor = self.extractor
        provenance = Provenance.of(extractor.recipe, extractor.recipe_sha256, prompt_sha256=extractor.prompt.sha256)
        redacted = extractor.redact(message) or ""
        return ArticleResult(
            article_id=article_id, status="failed", error=Failure(kind=kind, message=redacted), provenance=provenance
        )


def _plain(value: Any) -> Any:
    """A batch cell as Python: Arrow's nulls come out of numpy as None or NaN."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value
