"""What an extraction run is asked (:class:`ExtractionJob`) and what it gives back
(:class:`ExtractionOutcome`), whichever engine runs it (:mod:`llmx.app.run.extraction_run`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmx.cassettes.store import CassettePolicy
from llmx.core.redact import Redactor, public_url
from llmx.errors import ERROR_KINDS, BudgetExceeded, LlmxError
from llmx.inputs.articles import ArticleInput
from llmx.inputs.config import Settings
from llmx.model.endpoint import Endpoint
from llmx.runs.results import ArticleResult, RunSummary

if TYPE_CHECKING:
    from llmx.batch.rounds import BatchOptions
    from llmx.model.rate_control import RateController


@dataclass(frozen=True, kw_only=True)
class RayOptions:
    """``--engine ray``'s own options (:mod:`llmx.app.run.ray.engine`)."""

    address: str | None = None  # a cluster to join; else RAY_ADDRESS; else a local Ray
    workers: int = 2  # extraction workers (each runs `concurrency` articles at once)
    batch_size: int | None = None  # rows per batch handed to a worker (default: concurrency)


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
    batch: BatchOptions | None = None  # answers from the provider's Batch API (llmx.app.run.batch_engine)
    ray: RayOptions | None = None  # on Ray workers (llmx.app.run.ray.engine)


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
    batch: Any = None  # a --batch run's llmx.app.run.batch_engine.BatchReport
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
