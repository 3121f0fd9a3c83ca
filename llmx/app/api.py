"""llmx from Python: the functions ``import llmx`` exposes (see :mod:`llmx`). The CLI is one
client of these use cases; a notebook, ``bench/`` or a pipeline is another. Nothing here prints:
results come back as objects, and what goes wrong raises :mod:`llmx.errors`."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from llmx.app.evaluation.score import Comparison, Scored, compare_runs, score_run_folder
from llmx.app.project.prompt_map import files_read
from llmx.app.run.endpoint import api_key_from_env, choose_policy, resolve_endpoint
from llmx.app.run.engines import extract_articles
from llmx.app.run.extraction_job import ExtractionJob, ExtractionOutcome, RayOptions
from llmx.app.run.extraction_run import RunHooks
from llmx.cassettes.store import CassettePolicy
from llmx.core.fields import MIN_SIMILARITY
from llmx.errors import ArticleError, UsageError
from llmx.inputs.articles import Article, ArticleInput
from llmx.inputs.config import Settings, load_settings
from llmx.runs.events import Event
from llmx.runs.folder import read_results
from llmx.runs.results import ArticleResult, RunSummary

if TYPE_CHECKING:
    from llmx.batch.rounds import BatchOptions

# An article given in memory: an Article, or (id, text) / (id, text, publication date).
ArticleItem = ArticleInput | tuple[str, str] | tuple[str, str, "dt.date | str | None"]


@dataclass(frozen=True)
class Project:
    """A project's settings (``[tool.llmx]`` or ``llmx.toml``, then overrides), paths resolved."""

    settings: Settings
    root: Path

    def with_settings(self, **overrides: Any) -> Project:
        """The same project with some settings changed (``concurrency=8``, ``prompt="v2"``...)."""
        merged = {**self.settings.model_dump(by_alias=True), **{k: v for k, v in overrides.items() if v is not None}}
        return Project(Settings.model_validate(merged), self.root)


def load_project(path: str | Path = ".", **overrides: Any) -> Project:
    """The project whose config is found from ``path`` upwards (``llmx.toml`` or a
    ``pyproject.toml`` with ``[tool.llmx]``); ``overrides`` win, as options do on the CLI."""
    start = Path(path).resolve()
    settings = load_settings(start, overrides)
    from llmx.inputs.config import find_config

    config = find_config(start)
    return Project(settings, config.parent if config else start)


def as_project(project: Project | str | os.PathLike[str] | None) -> Project:
    """A Project as it is; a folder as the project found from it; None as the one found from here."""
    if isinstance(project, Project):
        return project
    if project is None or isinstance(project, str | os.PathLike):
        return load_project(Path(project or "."))
    raise UsageError(f"project: a Project (llmx.load_project) or its folder, not {type(project).__name__}")


@dataclass
class Run:
    """What an extraction produced: the run folder (None in memory), its results in input order,
    summary, and the CLI's exit code (0 ok, 1 failed, 3 cassette miss, 5 over budget, 130 stopped)."""

    path: Path | None
    results: list[ArticleResult]
    summary: RunSummary
    exit_code: int
    outcome: ExtractionOutcome = field(repr=False)
    prompt_files: dict[str, str] = field(default_factory=dict)  # every file the strategy read → sha256

    @property
    def failed(self) -> list[ArticleResult]:
        return [r for r in self.results if r.status == "failed"]

    def incidents(self) -> Iterable[tuple[str, dict[str, Any]]]:
        """Every extracted record, as (article id, record)."""
        for result in self.results:
            for item in result.incidents:
                yield result.article_id, item.record


# What score, compare, view and events take: a run folder's path, or the Run llmx.extract returned.
RunRef = str | os.PathLike[str] | Run


def run_folder(run: RunRef) -> Path:
    """The folder of ``run``: a path as it is, a :class:`Run` by its ``path`` (refused, saying
    why, for an ``in_memory`` run, which has none)."""
    if isinstance(run, Run):
        if run.path is None:
            raise UsageError("this Run was made with in_memory=True and has no run folder: extract with out=...")
        return run.path
    if isinstance(run, str | os.PathLike):
        return Path(run)
    raise UsageError(f"a run folder (a path) or the Run llmx.extract returned, not {type(run).__name__}")


def as_article(item: ArticleItem) -> ArticleInput:
    """A path or an Article as it is; a tuple (id, text[, date]) as an Article."""
    if isinstance(item, tuple):
        article_id, text, *rest = item
        published = rest[0] if rest else None
        try:
            if isinstance(published, str):
                published = dt.date.fromisoformat(published)
            return Article(id=article_id, text=text, date=published, source=f"article {article_id}")
        except ValueError as error:  # pydantic's ValidationError is one: a bad id, date or text
            detail = (
                error.errors()[0]["msg"].removeprefix("Value error, ") if isinstance(error, ValidationError) else error
            )
            raise ArticleError(f"article {article_id}: {detail}") from error
    return item


def extract(
    articles: Iterable[ArticleItem],
    *,
    project: Project | str | os.PathLike[str] | None = None,
    out: str | Path | None = None,
    in_memory: bool = False,
    policy: CassettePolicy | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    local: bool = False,
    environ: Mapping[str, str] | None = None,
    on_result: Callable[[ArticleResult], None] | None = None,
    engine: str = "plain",
    ray_address: str | None = None,
    ray_workers: int = 2,
) -> Run:
    """Extract incidents from ``articles`` (paths, folders, globs, corpora in one file, saved HTML
    pages, Article objects or (id, text, date) tuples) into the run folder ``out`` (default
    ``runs/<timestamp>``), or with ``in_memory`` into none. With no ``base_url``, key or ``local``,
    cassettes replay strictly; with a model, what is recorded replays and the rest is recorded. The
    key is ``api_key``, else ``OPENAI_API_KEY`` in ``environ``. ``engine="ray"`` runs on Ray Data
    (a local Ray, or ``ray_address``, with ``ray_workers``)."""
    project = as_project(project)
    inputs = [as_article(item) for item in articles]
    scratch = tempfile.TemporaryDirectory(prefix="llmx-run-") if in_memory else contextlib.nullcontext(None)
    with scratch as folder:
        job = plan_extraction(
            inputs,
            project.settings,
            out=Path(folder) if folder else out,
            policy=policy,
            base_url=base_url,
            api_key=api_key,
            local=local,
            environ=environ,
            engine=engine,
            ray=RayOptions(address=ray_address, workers=ray_workers),
        )
        outcome = extract_articles(job, RunHooks(on_result=on_result or (lambda result: None)))
        by_id = {r.article_id: r for r in read_results(outcome.run_dir)}
        results = [by_id[aid] for aid in outcome.article_ids if aid in by_id]  # in input order
        files = files_read(outcome.run_dir)
    return Run(None if in_memory else outcome.run_dir, results, outcome.summary, outcome.exit_code, outcome, files)


def plan_extraction(
    inputs: list[ArticleInput],
    settings: Settings,
    *,
    out: str | Path | None = None,
    policy: CassettePolicy | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    local: bool = False,
    environ: Mapping[str, str] | None = None,
    engine: str = "plain",
    ray: RayOptions | None = None,
    batch: BatchOptions | None = None,
    redo_changed: bool = False,
    command: list[str] | None = None,
    export_format: str | None = None,
    on_local: Callable[[str], None] = lambda step: None,
) -> ExtractionJob:
    """The job an extraction runs, decided once for :func:`extract` and ``llmx extract``: the key
    (``api_key``, else the environment's), the endpoint (``base_url``, ``local``, or none: replay),
    the cassette policy (strict replay with no model or in CI, else ``auto``), and the engine
    (``"plain"``, ``"ray"`` with ``ray``'s options, or the Batch API with ``batch``)."""
    if engine not in ("plain", "ray"):
        raise UsageError(f"engine {engine!r}: use 'plain' or 'ray'")
    if batch is not None and engine == "ray":
        raise UsageError("--engine ray and --batch are two ways to run a large corpus: pick one")
    if batch is not None and (policy is not None or local):
        raise UsageError("--batch decides itself what to replay and what to send: drop --replay/--record/--local")
    environ = os.environ if environ is None else environ
    key = api_key or api_key_from_env(settings, environ)
    endpoint = resolve_endpoint(settings, base_url, local, key, on_local)
    chosen = "auto" if batch is not None else choose_policy(policy, endpoint, in_ci=bool(environ.get("CI")))
    return ExtractionJob(
        inputs=inputs,
        settings=settings,
        endpoint=endpoint,
        policy=chosen,
        out_dir=Path(out) if out is not None else None,
        redo_changed=redo_changed,
        command=command or [],
        export_format=export_format,
        batch=batch,
        ray=(ray or RayOptions()) if engine == "ray" else None,
    )


def score(
    run: RunRef,
    *,
    project: Project | str | os.PathLike[str] | None = None,
    gold: str | Path | None = None,
    min_similarity: float = MIN_SIMILARITY,
    schema: str | Path | None = None,
) -> Scored:
    """Score a run folder against gold (the project's ``gold/`` unless ``gold`` is given):
    ``.score.incidents`` (precision, recall, f1), ``.score.fields``, every matched pair. The
    schema is the one the run recorded, from the project's schemas only, unless ``schema`` (a
    name or a ``.py`` path) is given."""
    project = as_project(project)
    gold_dir = Path(gold) if gold else None
    return score_run_folder(run_folder(run), project.settings, gold_dir, _schema(schema), min_similarity)


def compare(
    run_a: RunRef,
    run_b: RunRef,
    *,
    project: Project | str | os.PathLike[str] | None = None,
    gold: str | Path | None = None,
    min_similarity: float = MIN_SIMILARITY,
    schema: str | Path | None = None,
) -> Comparison:
    """Two runs scored on the articles both finished; ``.intervals`` gives each difference with its
    paired 95% interval and verdict, ``.regressions(0.02)`` what B lost by more than 0.02 with 95%
    confidence."""
    project = as_project(project)
    gold_dir = Path(gold) if gold else None
    return compare_runs(
        run_folder(run_a), run_folder(run_b), project.settings, gold_dir, _schema(schema), min_similarity
    )


def view(
    runs: RunRef | list[RunRef],
    *,
    project: Project | str | os.PathLike[str] | None = None,
    output: str | Path | None = None,
    gold: str | Path | None = None,
    schema: str | Path | None = None,
) -> Path:
    """Write the self-contained HTML page of one run (or two side by side); returns its path."""
    from llmx.app.evaluation.view_page import build_page, write_page

    project = as_project(project)
    folders = [run_folder(r) for r in (runs if isinstance(runs, list | tuple) else [runs])]
    target = Path(output) if output else folders[-1] / "view.html"
    page = build_page(folders, project.settings, Path(gold) if gold else None, schema_name=_schema(schema))
    return write_page(page, target)


def _schema(schema: str | Path | None) -> str | None:
    """A schema name, or a file the caller names (a Path, or a str ending in .py)."""
    if schema is None:
        return None
    return str(schema.absolute()) if isinstance(schema, Path) else schema


def events(
    run: RunRef,
    *,
    project: Project | str | os.PathLike[str] | None = None,
    articles: list[str] | None = None,
    write: bool = False,
    threshold: float | None = None,
) -> list[Event]:
    """The run's incidents fused across articles into events, earliest first: each with its fused
    ``fields``, every report it came from (article id, incident index, evidence, offsets) and
    the ``disputes`` (field → each value and the reports that gave it). Publication dates come
    from ``articles`` or the inputs the run recorded; ``write`` also writes RUN/events.jsonl;
    ``threshold``: the match weight (bits) at which two reports join (default: the rule's)."""
    from llmx.app.evaluation.events import fuse_run, write_events

    project = as_project(project)
    fused = fuse_run(run_folder(run), project.settings, articles, threshold=threshold)
    if write:
        write_events(fused)
    return fused.events
