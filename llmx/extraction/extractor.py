"""Extraction: article → prompt → instructor → validated, grounded records → ArticleResult.

Each article gets its own :class:`CallLog` and a ``create`` bound to it, so cassettes are keyed
per article and usage covers every attempt. Grounding failures are re-asked (``reasks``); what
is still ungrounded is kept and flagged, never dropped."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import instructor
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException

from llmx.cassettes.gateway import CallLog, Gateway
from llmx.core.calibration import Calibration
from llmx.core.normalize import Aliases
from llmx.core.redact import Redactor
from llmx.core.verify import ArticleFacts
from llmx.errors import (
    ArticleTooLong,
    CassetteError,
    CassetteMiss,
    ConfigError,
    EndpointError,
    InvalidOutputError,
    ModelError,
    PromptError,
)
from llmx.extraction.confidence import attach_confidences, origins_of
from llmx.extraction.evidence_first import EvidenceFirst, build_evidence_first
from llmx.extraction.failures import cause_of, classify
from llmx.extraction.instructor_patch import instructor_mode
from llmx.extraction.record_checks import RecordChecks
from llmx.extraction.response_model import ArticleState, checked_response_model, validating
from llmx.extraction.salvage import salvaged
from llmx.inputs.aliases import load_aliases
from llmx.inputs.articles import Article
from llmx.inputs.calibration import load_calibration
from llmx.inputs.config import Settings
from llmx.inputs.prompts import PromptTemplate, load_prompt, prompt_files
from llmx.inputs.schemas import SchemaSpec, load_schema
from llmx.model.article_clock import article_clock
from llmx.model.params import generation_params
from llmx.model.strict_schema import with_strict
from llmx.runs.results import ArticleResult, Failure, Provenance, Recipe


@dataclass(kw_only=True)
class Extractor:
    """How one article becomes records: prompt(s), schema, checks and generation parameters.
    Built once per run (or per Ray worker); the gateway that answers is handed to each call."""

    prompt: PromptTemplate
    schema: SchemaSpec
    model: str
    params: dict[str, Any]
    mode: str = "json_schema"  # the output mode (llmx.core.modes), as the gateway keys it
    reasks: int = 2
    article_timeout: float | None = None
    strategy: str = "single"
    redact: Redactor = field(default_factory=Redactor)
    aliases: Aliases = field(default_factory=Aliases)
    recall_prompt: PromptTemplate | None = None  # the second pass of the two_pass strategy
    verify_reasks: int = 0
    strict: bool = False  # strict structured outputs: the schema is checked here, the flag sent with each request
    evidence_first: EvidenceFirst | None = None  # the evidence strategy: one request per chunk, records with mentions
    max_article_chars: int | None = None  # longer articles fail alone (too_long), before any request
    check_scope: int | None = None  # checks read the record's sentences and this many neighbours (None: the article)
    calibration: Calibration | None = None  # the project's calibration.json: confidences as probabilities

    def __post_init__(self) -> None:
        if self.strategy == "two_pass" and self.recall_prompt is None:
            raise ConfigError("the two_pass strategy needs a recall prompt template", "strategy")
        if self.strategy == "evidence" and self.evidence_first is None:
            raise ConfigError("the evidence strategy needs its requests built (build_evidence_first)", "strategy")
        self.checks = RecordChecks(self.schema, self.aliases, scope=self.check_scope)
        self.response_model = checked_response_model(self.schema, self.checks, self.strict)
        self.instructor_mode = instructor_mode(self.mode)
        self.recipe = Recipe(
            model=self.model,
            prompt=self.prompt.name,
            prompt_sha256=self.prompt.sha256 + (f"+{self.recall_prompt.sha256}" if self.recall_prompt else ""),
            schema_name=self.schema.name,
            schema_sha256=self.schema.sha256,
            mode=self.mode,
            strategy=self.strategy,
            params=self.params,
            reasks=self.reasks,
            verify_reasks=self.verify_reasks,
            strict=self.strict or None,
            prompt_files=prompt_files(self.schema, self.evidence_first or self.prompt, self.recall_prompt),
        )
        self.recipe_sha256 = self.recipe.sha256

    def check_renders(self, articles: Iterable[Article]) -> None:
        """Render every prompt before any request: a template error names its article and costs nothing."""
        for article in articles:
            try:
                self.prompt.render(article, self.schema)
                if self.recall_prompt is not None:
                    self.recall_prompt.render(article, self.schema, found=[])
                if self.evidence_first is not None:
                    self.evidence_first.check_renders(article)
            except PromptError as error:
                raise PromptError(f"article {article.id}: {error}") from error

    def provenance(self, log: CallLog, state: ArticleState, passes: int = 1) -> Provenance:
        return Provenance.of(
            self.recipe,
            self.recipe_sha256,
            prompt_sha256=self.prompt.sha256,  # the first pass's template (the recipe hashes every pass)
            usage=log.usage,
            live_usage=log.live_usage,
            attempts=len(log.calls),
            live_calls=sum(not c.replayed for c in log.calls),
            replayed_calls=sum(c.replayed for c in log.calls),
            grounding_reasks=state.grounding_reasks,
            truncated=state.truncated,
            verification_reasks=state.verification_reasks,
            passes=passes,
            # the model's own time: recorded latencies for replayed calls, measured ones for live calls
            latency_s=round(sum(c.latency_s for c in log.calls), 3),
            cassette_keys=[c.key for c in log.calls],
        )

    async def extract(self, article: Article, gateway: Gateway) -> ArticleResult:
        """One article, answered by ``gateway``. Model and cassette failures become a failed
        result naming the reason; an endpoint that cannot serve anything raises."""
        log = CallLog()
        facts = ArticleFacts(text=article.text, published=article.date)
        state = ArticleState(facts, self.reasks, min(self.verify_reasks, self.reasks))
        passes = repeats = 0
        passages = None
        try:
            if self.max_article_chars is not None and len(article.text) > self.max_article_chars:
                raise ArticleTooLong(
                    f"{len(article.text):,} characters is over the {self.max_article_chars:,} limit "
                    "(max_article_chars); split the article, or raise the limit (the evidence strategy "
                    "reads any length in chunks)"
                )
            with article_clock(self.article_timeout):  # the time its requests are served, not queued
                if self.evidence_first is not None:
                    found = await self.evidence_first.extract(article, self._asker(gateway, article, log, state))
                    records, repeats, passes, passages = found.records, found.folded, 1, found.passages
                else:
                    records = await self._ask(gateway, article, self.prompt.render(article, self.schema), log, state)
                    passes = 1
                if self.recall_prompt is not None:
                    # Recall: show the model what it found, ask only for attacks not listed yet.
                    messages = self.recall_prompt.render(article, self.schema, found=records)
                    state.reasks_left, state.verify_reasks_left = self.reasks, min(self.verify_reasks, self.reasks)
                    more = await self._ask(gateway, article, messages, log, state)
                    repeated = self.checks.repeats(more, records)
                    records += [record for record, again in zip(more, repeated, strict=True) if not again]
                    repeats = sum(repeated)
                    passes = 2
        except (InstructorRetryException, IncompleteOutputException, ModelError, CassetteError) as error:
            fatal = cause_of(error, EndpointError)
            if fatal is not None:  # the server cannot serve any article: stop the run, not just this one
                raise fatal from None
            failure = self._failure(error, log)
            return ArticleResult(
                article_id=article.id,
                published=article.date,
                status="failed",
                provenance=self.provenance(log, state, passes),
                error=Failure(
                    kind=failure.kind,
                    message=self.redact(str(failure)) or "",
                    last_output=self.redact(getattr(failure, "last_output", None)),
                ),
            )
        settled = self.checks.finish(records, facts, passages=passages)
        attach_confidences(settled.records, state.origins, self.schema, self.calibration)
        provenance = self.provenance(log, state, passes)
        provenance.duplicates_removed, provenance.merged = settled.duplicates_removed + repeats, settled.merged
        return ArticleResult(
            article_id=article.id, published=article.date, status="ok", incidents=settled.records,
            dropped=settled.dropped, provenance=provenance,
        )  # fmt: skip

    async def _ask(
        self, gateway: Gateway, article: Article, messages: list[dict[str, str]], log: CallLog, state: ArticleState
    ) -> list[dict[str, Any]]:
        async def create(**kwargs: Any) -> Any:
            # Added above the gateway, so the flag is part of the cassette key (why: Settings.strict).
            return await gateway.create(article.id, log, **(with_strict(kwargs) if self.strict else kwargs))

        # typed by instructor as returning the model; with an async create it returns a coroutine
        patched: Any = instructor.patch(create=create, mode=self.instructor_mode)
        validating(state)
        try:
            parsed = await patched(
                response_model=self.response_model,
                messages=messages,
                model=self.model,
                max_retries=self.reasks,
                **self.params,
            )
        except (IncompleteOutputException, InstructorRetryException) as error:
            # a cut answer's records keep no token origins: their confidence comes from the checks alone
            return [
                record.model_dump(mode="json") for record in self._salvage(error, self.schema.response_model, state)
            ]
        records = [record.model_dump(mode="json") for record in getattr(parsed, self.schema.list_field)]
        state.origins += origins_of(log.last_answer, records, self.schema.list_field)  # the answer that validated
        return records

    def _salvage(self, error: BaseException, response_model: type[Any], state: ArticleState) -> list[Any]:
        records = salvaged(error, response_model, self.schema.list_field)  # re-raises when none is whole
        state.truncated += 1
        return records

    def _asker(self, gateway: Gateway, article: Article, log: CallLog, state: ArticleState) -> Any:
        """One request of the evidence strategy: ``response_model`` from ``messages``, through the
        gateway, re-asked by instructor (at most ``reasks``) when the answer does not validate."""

        async def create(**kwargs: Any) -> Any:
            return await gateway.create(article.id, log, **(with_strict(kwargs) if self.strict else kwargs))

        patched: Any = instructor.patch(create=create, mode=self.instructor_mode)

        async def ask(response_model: type[Any], messages: list[dict[str, str]]) -> Any:
            try:
                return await patched(
                    response_model=response_model,
                    messages=messages,
                    model=self.model,
                    max_retries=self.reasks,
                    **self.params,
                )
            except (IncompleteOutputException, InstructorRetryException) as error:
                records = self._salvage(error, response_model, state)
                return response_model.model_construct(**{self.schema.list_field: records})

        return ask

    def _failure(self, error: BaseException, log: CallLog) -> ModelError | CassetteError:
        if isinstance(error, ArticleTooLong):
            return error
        failure = classify(error)
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


def build_extractor(settings: Settings, redact: Redactor | None = None) -> Extractor:
    """The extractor the settings describe: prompt(s), schema, model and generation parameters
    (named as the model's family wants them, see :mod:`llmx.model.params`)."""
    params = generation_params(
        settings.model,
        settings.temperature,
        settings.max_tokens,
        settings.seed,
        settings.model_params,
        logprobs=settings.logprobs,
    )
    prompt = load_prompt(settings.prompt, settings.prompts_dir)
    recall = None
    if settings.strategy == "two_pass":
        recall = load_prompt(settings.recall_prompt or f"{prompt.name}_recall", settings.prompts_dir)
    schema = load_schema(settings.schema_name, settings.schemas_dir)
    aliases = load_aliases(settings.aliases)
    strict = settings.strict and settings.mode != "md_json"  # md_json sends no schema: nothing to be strict about
    evidence = build_evidence_first(settings, prompt, schema, aliases, strict)
    return Extractor(
        prompt=prompt,
        schema=schema,
        model=settings.model,
        params=params,
        mode=settings.mode,
        reasks=settings.reasks,
        article_timeout=settings.article_timeout,
        strategy=settings.strategy,
        redact=redact or Redactor(),
        aliases=aliases,
        recall_prompt=recall,
        verify_reasks=settings.verify_reasks,
        strict=strict,
        evidence_first=evidence,
        max_article_chars=settings.max_article_chars,
        check_scope=settings.check_scope if isinstance(settings.check_scope, int) else None,  # "article": None
        calibration=load_calibration(settings.calibration),
    )
