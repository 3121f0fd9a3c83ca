"""Extraction: article → prompt → instructor → validated, grounded records → ArticleResult.

Concurrency is a fixed pool of async workers. Each article gets its own :class:`CallLog`, and
instructor is given a ``create`` bound to that article, so cassettes are keyed per article and
usage covers every attempt. Grounding failures are re-asked (bounded by ``reasks``); what is
still ungrounded after that is kept and flagged, never dropped.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import instructor
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from pydantic import BaseModel, model_validator

from llmx import _instructor
from llmx.articles import Article
from llmx.client import CallLog, Gateway
from llmx.config import Settings
from llmx.errors import CassetteError, InvalidOutputError, ModelError, TruncatedOutputError
from llmx.grounding import ground
from llmx.prompts import PromptTemplate, load_prompt
from llmx.runs import ArticleResult, ExtractedRecord, Failure, Provenance, RunSummary, Usage
from llmx.schemas import SchemaSpec, load_schema

# Grounding state for the article being validated. A ContextVar, not instructor's `context=`:
# instructor renders every message as a Jinja template when given a context, which would
# execute template syntax found inside article text. Each article runs in its own task, so
# each sees its own value.
_GROUNDING: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("llmx_grounding")

_instructor.install()

MODES = {"json_schema": instructor.Mode.JSON_SCHEMA, "tools": instructor.Mode.TOOLS, "md_json": instructor.Mode.MD_JSON}


class _SharedSchema(dict[str, Any]):
    """The JSON schema sent with every request: one object, never mutated. instructor deep-copies
    each request's kwargs to isolate retries; copying this ~5,000-node schema every time was a
    tenth of the replay time, so it copies to itself."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _SharedSchema:
        return self


def grounded_response_model(schema: SchemaSpec) -> type[BaseModel]:
    """The schema's Extraction, plus a validator that re-asks when evidence is not in the article,
    and the strict JSON schema (no llmx keys) as the schema the model sees."""
    sent_schema = _SharedSchema(schema.json_schema())
    evidence, list_field = schema.evidence_field, schema.list_field

    # Subclassing instructor's ResponseSchema up front stops instructor from building a new
    # wrapper class on every request.
    class Grounded(schema.response_model, instructor.OpenAISchema):  # type: ignore[name-defined,misc]
        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return sent_schema

        @model_validator(mode="after")
        def _evidence_is_quoted(self) -> Any:
            context = _GROUNDING.get({})
            if not evidence or context.get("reasks_left", 0) <= 0:
                return self
            missing = [
                number
                for number, record in enumerate(getattr(self, list_field), start=1)
                if not ground(getattr(record, evidence), context["text"]).grounded
            ]
            if missing:
                context["reasks_left"] -= 1
                context["grounding_reasks"] += 1
                raise ValueError(
                    f"the {evidence} of record(s) {missing} is not a sentence of the article; "
                    "copy each evidence sentence verbatim from the article text"
                )
            return self

    Grounded.__name__ = Grounded.__qualname__ = schema.response_model.__name__
    return Grounded


@dataclass
class Extractor:
    gateway: Gateway
    prompt: PromptTemplate
    schema: SchemaSpec
    model: str
    params: dict[str, Any]
    reasks: int = 2

    def __post_init__(self) -> None:
        self.response_model = grounded_response_model(self.schema)
        self.instructor_mode = MODES[self.gateway.mode]

    def provenance(self, log: CallLog, started: float, grounding_reasks: int = 0) -> Provenance:
        return Provenance(
            model=self.model,
            prompt=self.prompt.name,
            prompt_sha256=self.prompt.sha256,
            schema=self.schema.name,
            schema_sha256=self.schema.sha256,
            mode=self.gateway.mode,
            usage=Usage(
                prompt_tokens=sum(c.prompt_tokens for c in log.calls),
                completion_tokens=sum(c.completion_tokens for c in log.calls),
            ),
            attempts=len(log.calls),
            live_calls=sum(not c.replayed for c in log.calls),
            replayed_calls=sum(c.replayed for c in log.calls),
            grounding_reasks=grounding_reasks,
            latency_s=round(
                sum(c.latency_s for c in log.calls)
                if log.calls and all(c.replayed for c in log.calls)
                else time.perf_counter() - started,
                3,
            ),
            cassette_keys=[c.key for c in log.calls],
        )

    async def extract(self, article: Article) -> ArticleResult:
        """One article. Model and cassette failures become a failed result naming the reason."""
        log = CallLog()
        started = time.perf_counter()
        context: dict[str, Any] = {"text": article.text, "reasks_left": self.reasks, "grounding_reasks": 0}

        async def create(**kwargs: Any) -> Any:
            return await self.gateway.create(article.id, log, **kwargs)

        # typed by instructor as returning the model; with an async create it returns a coroutine
        patched: Any = instructor.patch(create=create, mode=self.instructor_mode)
        messages = self.prompt.render(article, self.schema)
        _GROUNDING.set(context)
        try:
            parsed = await patched(
                response_model=self.response_model,
                messages=messages,
                model=self.model,
                max_retries=self.reasks,
                **self.params,
            )
        except (InstructorRetryException, IncompleteOutputException, ModelError, CassetteError) as error:
            failure = _failure(error)
            return ArticleResult(
                article_id=article.id,
                status="failed",
                provenance=self.provenance(log, started, context["grounding_reasks"]),
                error=Failure(
                    kind=failure.kind, message=str(failure), last_output=getattr(failure, "last_output", None)
                ),
            )
        records = []
        for record in getattr(parsed, self.schema.list_field):
            data = record.model_dump(mode="json")
            evidence = data.get(self.schema.evidence_field) if self.schema.evidence_field else None
            grounding = ground(evidence, article.text) if self.schema.evidence_field else None
            records.append(ExtractedRecord(record=data, grounding=grounding))
        return ArticleResult(
            article_id=article.id,
            status="ok",
            incidents=records,
            provenance=self.provenance(log, started, context["grounding_reasks"]),
        )


def _failure(error: BaseException) -> ModelError | CassetteError:
    """Dig the llmx error out of instructor's wrapping; classify the rest."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, (ModelError, CassetteError)):
            return seen
        seen = seen.__cause__ or seen.__context__
    if isinstance(error, IncompleteOutputException):
        return TruncatedOutputError("the answer was cut off at max_tokens; raise max_tokens or shorten the article")
    last = getattr(error, "last_completion", None)
    content = None
    if last is not None and getattr(last, "choices", None):
        content = last.choices[0].message.content
    attempts = getattr(error, "n_attempts", "?")
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return InvalidOutputError(f"output still invalid after {attempts} attempts: {first_line[:200]}", content)


def build_extractor(settings: Settings, gateway: Gateway) -> Extractor:
    """The extractor the settings describe: prompt, schema, model and generation parameters."""
    params: dict[str, Any] = {"temperature": settings.temperature, "max_tokens": settings.max_tokens}
    if settings.seed is not None:
        params["seed"] = settings.seed
    prompt = load_prompt(settings.prompt, settings.prompts_dir)
    schema = load_schema(settings.schema_name, settings.schemas_dir)
    return Extractor(gateway, prompt, schema, settings.model, params, settings.reasks)


async def run_all(
    extractor: Extractor,
    articles: Iterable[Article],
    concurrency: int,
    on_result: Callable[[ArticleResult], Awaitable[None] | None],
    stop: asyncio.Event | None = None,
) -> RunSummary:
    """Extract every article, at most ``concurrency`` at once, reporting each as it finishes.
    Once ``stop`` is set, no new article starts; those in flight finish and are reported.

    A fixed pool of workers pulls from one iterator: memory stays flat however many articles
    there are (no task per article waiting, no finished result kept). The gateway's HTTP client
    is closed at the end, so one extractor serves one run."""
    summary = RunSummary()
    started = time.perf_counter()
    pending = iter(articles)

    async def worker() -> None:
        for article in pending:  # each article is taken by exactly one worker
            if stop is not None and stop.is_set():
                return
            result = await extractor.extract(article)
            summary.add(result)
            outcome = on_result(result)
            if outcome is not None:
                await outcome

    workers = [asyncio.create_task(worker()) for _ in range(max(concurrency, 1))]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await extractor.gateway.aclose()  # in this loop: its connections belong to it
        summary.wall_s = round(time.perf_counter() - started, 3)
    return summary
