"""The evidence-first strategy: mark the sentences that report attacks, then fill one record each.

1. **Mark** (``prompts/<prompt>_mark.jinja``), once per chunk: the model sees the chunk's
   sentences numbered and answers with a short list, one item per attack: a few words saying
   what it was and the numbers of the sentences that report it. No whole records, so a long
   article's answer stays short and a chunk can hold many attacks.
2. **Fill** (``prompts/<prompt>_fill.jinja``), once per marked attack: the model sees those
   sentences, the paragraph around them, the headline and the publication date, and fills one
   record of the schema, without the evidence field: the evidence is the article's own marked
   sentence, so every record is grounded by construction, with offsets into the whole article.
3. **Fold**: records of one incident (two sentences about it, or the overlap of two chunks)
   become one by the same-incident rule scoring uses (:mod:`llmx.core.same_incident`).

Every request goes through the gateway, so it is cassetted and keyed like any other: replay,
resume, ``--batch``, costs and the miss message work unchanged. Chunks of one article are
asked at once, as are its fills; the gateway's rate gate keeps requests within ``concurrency``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import instructor
from pydantic import BaseModel, Field, create_model

from llmx.core.normalize import Aliases, normalize
from llmx.core.same_incident import fold, incident_groups
from llmx.core.sentences import Chunk, Sentence, chunk_chars, chunk_sentences, context_around, split_sentences
from llmx.errors import PromptError
from llmx.inputs.articles import Article
from llmx.inputs.config import Settings
from llmx.inputs.prompts import PromptTemplate, defuse_delimiters, load_prompt
from llmx.inputs.schemas import SchemaSpec, model_schema_for_llm

Ask = Callable[[type[BaseModel], list[dict[str, str]]], Awaitable[BaseModel]]
HEADLINE_CHARS = 200


class MarkedAttack(BaseModel):
    what: str = Field(description="A few words: what attack, on what place.")
    # "minimum" guides a grammar server; not validated here: a number out of the chunk is dropped (chunk_marks)
    sentences: list[Annotated[int, Field(json_schema_extra={"minimum": 1})]] = Field(
        description="Numbers of the sentences that report this attack."
    )


MAX_MARKS = 12  # per chunk: bounds an answer that repeats itself (a grammar server stops there)


class Attacks(BaseModel):
    attacks: list[MarkedAttack] = Field(
        description="One item per attack the sentences report; empty if none.",
        json_schema_extra={"maxItems": MAX_MARKS},  # sent, not validated: strict mode strips it (sent_as)
    )


@dataclass(frozen=True)
class Mark:
    """One attack the model marked: article sentence indices, and its own few words."""

    sentences: tuple[int, ...]
    what: str


@dataclass
class Found:
    records: list[dict[str, Any]]
    marks: int = 0
    chunks: int = 0
    folded: int = 0  # records folded into another of the same incident
    passages: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # evidence → marked sentences' spans


def headline(article: Article) -> str:
    """The article's title, or its first line when it has none (a short one: a headline)."""
    title = getattr(article, "title", None)
    if title:
        return str(title)
    first = article.text.strip().split("\n", 1)[0].strip()
    return first if len(first) <= HEADLINE_CHARS else first[: HEADLINE_CHARS - 3] + "..."


def headline_lines(article: Article, sentences: list[Sentence]) -> int:
    """1 when the article has no title and its first sentence is its whole first line, short and
    without a final stop: the headline, which the prompts show as such (its attack is reported
    again below it)."""
    if getattr(article, "title", None) or len(sentences) < 2:
        return 0
    first = sentences[0]
    line_end = article.text.find("\n")
    whole_line = line_end < 0 or article.text[first.end : line_end].strip() == ""
    return int(whole_line and line_end >= 0 and len(first.text) <= HEADLINE_CHARS and first.text[-1] not in ".!?")


def fill_model(schema: SchemaSpec) -> type[BaseModel]:
    """The record model without its evidence field: the evidence is the marked sentence."""
    evidence = schema.evidence_field
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in schema.record_model.model_fields.items() if name != evidence
    }
    return create_model(schema.record_model.__name__, __doc__=schema.record_model.__doc__, **fields)


def sent_as(model: type[BaseModel], strict: bool) -> type[BaseModel]:
    """``model`` whose JSON schema, as sent to the server, has no llmx keys and no defaults
    (what a grammar server needs; the same treatment as the schema of a single pass)."""
    sent = model_schema_for_llm(model, strict)
    if strict:  # strict structured outputs refuse bounds; they are applied here anyway (chunk_marks)
        sent = _without_bounds(sent)

    def model_json_schema(cls: type[BaseModel], *args: Any, **kwargs: Any) -> dict[str, Any]:
        return sent

    namespace = {"__module__": model.__module__, "model_json_schema": classmethod(model_json_schema)}
    return type(model.__name__, (model, instructor.OpenAISchema), namespace)


def _without_bounds(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_bounds(v) for k, v in node.items() if k not in ("minimum", "maximum", "maxItems")}
    if isinstance(node, list):
        return [_without_bounds(v) for v in node]
    return node


@dataclass(kw_only=True)
class EvidenceFirst:
    mark_prompt: PromptTemplate
    fill_prompt: PromptTemplate
    schema: SchemaSpec
    aliases: Aliases
    chunk_chars: int
    overlap: int = 2
    strict: bool = False

    def __post_init__(self) -> None:
        self.marks_model = sent_as(Attacks, self.strict)
        self.record_model = sent_as(fill_model(self.schema), self.strict)

    def mark_messages(self, article: Article, sentences: list[Sentence], chunk: Chunk) -> list[dict[str, str]]:
        shown = [
            {
                "n": i - chunk.first + 1,
                "text": defuse_delimiters(sentences[i].text),
                "new_paragraph": i > chunk.first and sentences[i].paragraph != sentences[i - 1].paragraph,
            }
            for i in range(chunk.first, chunk.last + 1)
        ]
        return self.mark_prompt.render(
            article, self.schema, sentences=shown, headline=defuse_delimiters(headline(article)), chunk=chunk.number
        )

    def fill_messages(self, article: Article, sentences: list[Sentence], mark: Mark) -> list[dict[str, str]]:
        return self.fill_prompt.render(
            article,
            self.schema,
            headline=defuse_delimiters(headline(article)),
            context=defuse_delimiters(context_around(sentences, list(mark.sentences), article.text)),
            evidence=[defuse_delimiters(sentences[i].text) for i in mark.sentences],
            what=defuse_delimiters(mark.what),
        )

    def check_renders(self, article: Article) -> None:
        sentences = split_sentences(article.text) or [Sentence(0, 0, len(article.text), 0, article.text)]
        self.mark_messages(article, sentences, Chunk(0, 0, 0))
        self.fill_messages(article, sentences, Mark((0,), "an attack"))

    async def extract(self, article: Article, ask: Ask) -> Found:
        sentences = split_sentences(article.text)
        body = headline_lines(article, sentences)  # a first-line headline is shown as the headline, not numbered
        chunks = [
            Chunk(c.number, c.first + body, c.last + body)
            for c in chunk_sentences(sentences[body:], self.chunk_chars, self.overlap)
        ]
        answers = await gather_all(
            [ask(self.marks_model, self.mark_messages(article, sentences, chunk)) for chunk in chunks]
        )
        marks = unique_marks(
            [mark for chunk, answer in zip(chunks, answers, strict=True) for mark in chunk_marks(chunk, answer)]
        )
        filled = await gather_all(
            [ask(self.record_model, self.fill_messages(article, sentences, mark)) for mark in marks]
        )
        evidence = self.schema.evidence_field
        records = []
        for mark, answer in zip(marks, filled, strict=True):
            values = answer.model_dump(mode="json")
            if evidence:
                values[evidence] = evidence_text(article.text, sentences, mark.sentences)
            records.append(values)
        groups = incident_groups(records, self.schema.fields, self.aliases, evidence)
        folded = [fold(records, group) for group in groups]
        passages: dict[str, list[tuple[int, int]]] = {}
        for one, group in zip(folded, groups, strict=True):
            spans = [(sentences[i].start, sentences[i].end) for g in group for i in marks[g].sentences]
            passages.setdefault(str(one.get(evidence or "")), []).extend(spans)
        return Found(folded, marks=len(marks), chunks=len(chunks), folded=len(records) - len(folded), passages=passages)


async def gather_all(requests: list[Awaitable[BaseModel]]) -> list[BaseModel]:
    """Every request of a pass runs to its end before the first failure is raised: under
    ``--batch`` each miss is put into the batch (so all chunks of an article wait for one
    round, not one round each), and no task is left running with an unread exception."""
    answers = await asyncio.gather(*requests, return_exceptions=True)
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return [answer for answer in answers if isinstance(answer, BaseModel)]


def chunk_marks(chunk: Chunk, answer: BaseModel) -> list[Mark]:
    """The chunk's answer as article sentence indices; numbers outside the chunk are dropped
    (a mark left with none is no mark)."""
    out = []
    size = chunk.last - chunk.first + 1
    for attack in getattr(answer, "attacks", [])[:MAX_MARKS]:
        indices = sorted({chunk.first + n - 1 for n in attack.sentences if 1 <= n <= size})
        if indices:
            out.append(Mark(tuple(indices), " ".join(attack.what.split())))
    return out


def unique_marks(marks: list[Mark]) -> list[Mark]:
    """One mark per (sentences, what): two overlapping chunks mark the same attack alike. Two
    marks of one sentence with different words stay: one sentence may report two attacks."""
    seen: set[tuple[tuple[int, ...], str]] = set()
    out = []
    for mark in sorted(marks, key=lambda m: m.sentences):
        key = (mark.sentences, normalize(mark.what))
        if key not in seen:
            seen.add(key)
            out.append(mark)
    return out


def evidence_text(text: str, sentences: list[Sentence], indices: tuple[int, ...]) -> str:
    """The article's own words for a mark: its sentences from the first to the last when they
    are adjacent in one paragraph (at most three), else the first."""
    first, last = sentences[indices[0]], sentences[indices[-1]]
    adjacent = list(indices) == list(range(indices[0], indices[-1] + 1))
    if adjacent and len(indices) <= 3 and first.paragraph == last.paragraph:
        return text[first.start : last.end]
    return first.text


def build_evidence_first(
    settings: Settings, prompt: str, schema: SchemaSpec, aliases: Aliases, strict: bool
) -> EvidenceFirst | None:
    """The evidence strategy's passes, when the settings ask for it: ``<prompt>_mark`` and
    ``<prompt>_fill``, chunks sized from ``chunk_tokens`` within ``context_tokens``."""
    if settings.strategy != "evidence":
        return None
    return EvidenceFirst(
        mark_prompt=_pass_prompt(prompt, "mark", settings),
        fill_prompt=_pass_prompt(prompt, "fill", settings),
        schema=schema,
        aliases=aliases,
        # the instructions and the answer take ~1,500 tokens of the context beside the chunk
        chunk_chars=chunk_chars(settings.chunk_tokens, settings.context_tokens, 1_500),
        strict=strict,
    )


def _pass_prompt(name: str, role: str, settings: Settings) -> PromptTemplate:
    """``<prompt>_mark`` or ``<prompt>_fill``: a missing one says what the strategy needs."""
    try:
        return load_prompt(f"{name}_{role}", settings.prompts_dir)
    except PromptError as error:
        raise PromptError(
            f"{error}; the evidence strategy needs {name}_mark.jinja and {name}_fill.jinja beside "
            f"{name}.jinja (copy incident_mark/incident_fill), or use --strategy single"
        ) from error
