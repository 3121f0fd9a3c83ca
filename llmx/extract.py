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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import instructor
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from pydantic import BaseModel, ValidationError, model_validator

from llmx import _instructor
from llmx.articles import Article
from llmx.cassette_gateway import CallLog, CassetteGateway
from llmx.config import Settings
from llmx.errors import (
    ArticleTimeout,
    CassetteError,
    CassetteMiss,
    EndpointError,
    InvalidOutputError,
    ModelError,
    PromptError,
    TruncatedOutputError,
)
from llmx.files import Redactor
from llmx.grounding import ground
from llmx.modes import instructor_mode
from llmx.prompts import PromptTemplate, load_prompt
from llmx.results import ArticleResult, ExtractedRecord, Failure, Provenance, Recipe
from llmx.schemas import SchemaSpec, load_schema

# Grounding state for the article being validated. A ContextVar, not instructor's `context=`:
# instructor renders every message as a Jinja template when given a context, which would
# execute template syntax found inside article text. Each article runs in its own task, so
# each sees its own value.
_GROUNDING: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("llmx_grounding")

_instructor.install()


class _SharedSchema(dict[str, Any]):
    """The JSON schema sent with every request: one object, never mutated. instructor deep-copies
    each request's kwargs to isolate retries; copying this ~5,000-node schema every time was a
    tenth of the replay time, so it copies to itself."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _SharedSchema:
        return self


def grounded_response_model(schema: SchemaSpec) -> type[BaseModel]:
    """The schema's Extraction, plus a validator that re-asks when evidence is not in the article,
    and the strict JSON schema (no llmx keys) as the schema the model sees.

    The class is built under the schema's own name: pydantic writes the class name into every
    validation error ("1 validation error for Extraction"), instructor sends that text in the
    re-ask, and the re-ask is part of a recorded request, so an internal name would leak into
    cassette keys."""
    sent_schema = _SharedSchema(schema.json_schema())
    evidence, list_field = schema.evidence_field, schema.list_field

    def model_json_schema(cls: type[BaseModel], *args: Any, **kwargs: Any) -> dict[str, Any]:
        return sent_schema

    def evidence_is_quoted(self: Any) -> Any:
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

    namespace = {
        "__module__": schema.response_model.__module__,
        "__qualname__": schema.response_model.__qualname__,
        "model_json_schema": classmethod(model_json_schema),
        "_evidence_is_quoted": model_validator(mode="after")(evidence_is_quoted),
    }
    # Subclassing instructor's OpenAISchema up front stops instructor from building a new
    # wrapper class on every request.
    bases = (schema.response_model, instructor.OpenAISchema)
    return type(schema.response_model.__name__, bases, namespace)


@dataclass
class Extractor:
    gateway: CassetteGateway
    prompt: PromptTemplate
    schema: SchemaSpec
    model: str
    params: dict[str, Any]
    reasks: int = 2
    article_timeout: float | None = None
    strategy: str = "single"
    redact: Redactor = field(default_factory=Redactor)

    def __post_init__(self) -> None:
        self.response_model = grounded_response_model(self.schema)
        self.instructor_mode = instructor_mode(self.gateway.mode)
        self.recipe = Recipe(
            model=self.model,
            prompt=self.prompt.name,
            prompt_sha256=self.prompt.sha256,
            schema_name=self.schema.name,
            schema_sha256=self.schema.sha256,
            mode=self.gateway.mode,
            strategy=self.strategy,
            params=self.params,
            reasks=self.reasks,
        )
        self.recipe_sha256 = self.recipe.sha256

    def check_renders(self, articles: Iterable[Article]) -> None:
        """Render every prompt before any request: a template error names its article and costs nothing."""
        for article in articles:
            try:
                self.prompt.render(article, self.schema)
            except PromptError as error:
                raise PromptError(f"article {article.id}: {error}") from error

    def provenance(self, log: CallLog, started: float, context: dict[str, Any]) -> Provenance:
        replayed_only = bool(log.calls) and all(c.replayed for c in log.calls)
        return Provenance(
            model=self.model,
            prompt=self.prompt.name,
            prompt_sha256=self.prompt.sha256,
            schema=self.schema.name,
            schema_sha256=self.schema.sha256,
            mode=self.gateway.mode,
            recipe_sha256=self.recipe_sha256,
            strategy=self.strategy,
            usage=log.usage,
            live_usage=log.live_usage,
            attempts=len(log.calls),
            live_calls=sum(not c.replayed for c in log.calls),
            replayed_calls=sum(c.replayed for c in log.calls),
            grounding_reasks=context["grounding_reasks"],
            latency_s=round(sum(c.latency_s for c in log.calls) if replayed_only else time.perf_counter() - started, 3),
            cassette_keys=[c.key for c in log.calls],
        )

    async def extract(self, article: Article) -> ArticleResult:
        """One article. Model and cassette failures become a failed result naming the reason."""
        log = CallLog()
        started = time.perf_counter()
        context: dict[str, Any] = {"text": article.text, "reasks_left": self.reasks, "grounding_reasks": 0}
        try:
            async with asyncio.timeout(self.article_timeout):
                parsed = await self._ask(article, log, context)
        except (InstructorRetryException, IncompleteOutputException, ModelError, CassetteError, TimeoutError) as error:
            fatal = _cause(error, EndpointError)
            if fatal is not None:  # the server cannot serve any article: stop the run, not just this one
                raise fatal from None
            failure = self._failure(error, log)
            return ArticleResult(
                article_id=article.id,
                status="failed",
                provenance=self.provenance(log, started, context),
                error=Failure(
                    kind=failure.kind,
                    message=self.redact(str(failure)) or "",
                    last_output=self.redact(getattr(failure, "last_output", None)),
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
            provenance=self.provenance(log, started, context),
        )

    async def _ask(self, article: Article, log: CallLog, context: dict[str, Any]) -> Any:
        async def create(**kwargs: Any) -> Any:
            return await self.gateway.create(article.id, log, **kwargs)

        # typed by instructor as returning the model; with an async create it returns a coroutine
        patched: Any = instructor.patch(create=create, mode=self.instructor_mode)
        messages = self.prompt.render(article, self.schema)
        _GROUNDING.set(context)
        return await patched(
            response_model=self.response_model,
            messages=messages,
            model=self.model,
            max_retries=self.reasks,
            **self.params,
        )

    def _failure(self, error: BaseException, log: CallLog) -> ModelError | CassetteError:
        if isinstance(error, TimeoutError):
            return ArticleTimeout(
                f"the article took longer than {self.article_timeout:g} s in all (article_timeout); "
                "raise it for a slow model"
            )
        failure = _failure(error)
        last = log.calls[-1] if log.calls else None
        if last is None or not last.cassette:
            return failure
        # A recorded answer that does not validate replays forever (or re-asks into a miss): say
        # which file it came from and how to move on.
        if isinstance(failure, InvalidOutputError):
            return type(failure)(
                f"{failure} (replayed from {last.cassette}; --record asks the model again)", failure.last_output
            )
        if isinstance(failure, CassetteMiss):
            failure.args = (
                f"{failure}; it is a re-ask after the answer replayed from {last.cassette} did not validate "
                "(was the file edited?): --record asks the model again",
            )
        return failure


def _cause(error: BaseException, kind: type[Exception]) -> Exception | None:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


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
    return InvalidOutputError(f"output still invalid after {attempts} attempts: {_first_problem(error)}", content)


def _first_problem(error: BaseException) -> str:
    """The first validation error of the first failed attempt, as 'field: message'."""
    for attempt in getattr(error, "failed_attempts", None) or []:
        problem = getattr(attempt, "exception", None)
        if isinstance(problem, ValidationError):
            first = problem.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "answer"
            return f"{where}: {first['msg']}"[:200]
        if problem is not None:
            return (str(problem).strip().splitlines() or [type(problem).__name__])[0][:200]
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:200]


def build_extractor(settings: Settings, gateway: CassetteGateway, redact: Redactor | None = None) -> Extractor:
    """The extractor the settings describe: prompt, schema, model and generation parameters."""
    params: dict[str, Any] = {"temperature": settings.temperature, "max_tokens": settings.max_tokens}
    if settings.seed is not None:
        params["seed"] = settings.seed
    return Extractor(
        gateway,
        load_prompt(settings.prompt, settings.prompts_dir),
        load_schema(settings.schema_name, settings.schemas_dir),
        settings.model,
        params,
        settings.reasks,
        settings.article_timeout,
        settings.strategy,
        redact or Redactor(),
    )
