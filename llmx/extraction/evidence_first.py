"""The evidence strategy: one request per chunk, each record resting on sentences it names.

1. The article is cut into sentences (:mod:`llmx.core.sentences`, pysbd) and chunks of whole
   sentences (one chunk for most news articles; neighbours share ``overlap`` sentences).
2. **One request per chunk** renders the project's own prompt (``prompts/<prompt>.jinja``, the
   same codebook the single pass reads) with the chunk's sentences numbered, and asks for the
   schema's records with ``sentences`` (the numbers of the sentences that report the attack: its
   *mentions*) in place of the evidence quote. Requests grow with the chunks, never with the
   attacks; what every request of a run shares (the codebook, the fields) comes first, so a
   prompt cache serves it.
3. **Grounded by construction**: a record's evidence is the article's own sentence (the first of
   its mentions that names an attack), its mentions are kept as offsets into the whole article,
   and the checks read those sentences: a country, a weapon, a place or a count stated only in
   another attack's sentences is not this record's (``passages``).
4. **One attack, one row**: records of two chunks (the overlap) or two records resting on one
   sentence are one when their fields do not clash (:mod:`llmx.core.mentions`).

Every request goes through the gateway, so it is cassetted and keyed like any other: replay,
resume, ``--batch``, costs and the miss message work unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from llmx.core.mentions import group_by_mentions, reporting_sentence
from llmx.core.normalize import Aliases
from llmx.core.same_incident import clashing, distinct_fields, fold
from llmx.core.sentences import Chunk, Sentence, chunk_chars, chunk_sentences, split_sentences
from llmx.core.similarity import pair_table
from llmx.errors import PromptError
from llmx.extraction.evidence_requests import (
    MENTIONS_FIELD,
    headline_lines,
    mention_fields,
    mentions_model,
    sent_as,
)
from llmx.inputs.articles import Article
from llmx.inputs.config import Settings
from llmx.inputs.prompts import PromptTemplate, defuse_delimiters
from llmx.inputs.schemas import SchemaSpec

Ask = Callable[[type[BaseModel], list[dict[str, str]]], Awaitable[BaseModel]]


@dataclass
class Found:
    records: list[dict[str, Any]]
    chunks: int = 0
    folded: int = 0  # records folded into another of the same attack
    unplaced: int = 0  # records that named no sentence of their chunk (set aside, counted)
    passages: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # evidence → its mentions' spans


@dataclass(kw_only=True)
class EvidenceFirst:
    prompt: PromptTemplate
    schema: SchemaSpec
    aliases: Aliases
    chunk_chars: int
    overlap: int = 2
    strict: bool = False

    def __post_init__(self) -> None:
        self.answer_model = sent_as(mentions_model(self.schema), self.strict)
        self.event = next((spec for spec in self.schema.verify.values() if spec.check == "event"), None)

    def messages(self, article: Article, sentences: list[Sentence], chunk: Chunk) -> list[dict[str, str]]:
        shown = [
            {
                "n": i - chunk.first + 1,
                "text": defuse_delimiters(sentences[i].text),
                "new_paragraph": i > chunk.first and sentences[i].paragraph != sentences[i - 1].paragraph,
            }
            for i in range(chunk.first, chunk.last + 1)
        ]
        return self.prompt.render(
            article, self.schema, sentences=shown, fields=mention_fields(self.schema), chunk=chunk.number
        )

    def check_renders(self, article: Article) -> None:
        sentences = split_sentences(article.text) or [Sentence(0, 0, len(article.text), 0, article.text)]
        self.messages(article, sentences, Chunk(0, 0, 0))

    def chunks(self, article: Article, sentences: list[Sentence]) -> list[Chunk]:
        body = headline_lines(article, sentences)  # a first-line headline is not a sentence a record rests on
        return [
            Chunk(c.number, c.first + body, c.last + body)
            for c in chunk_sentences(sentences[body:], self.chunk_chars, self.overlap)
        ]

    async def extract(self, article: Article, ask: Ask) -> Found:
        sentences = split_sentences(article.text)
        chunks = self.chunks(article, sentences)
        answers = await gather_all([ask(self.answer_model, self.messages(article, sentences, c)) for c in chunks])
        evidence = self.schema.evidence_field
        records: list[dict[str, Any]] = []
        mentions: list[tuple[int, ...]] = []
        unplaced = 0
        for chunk, answer in zip(chunks, answers, strict=True):
            for item in getattr(answer, self.schema.list_field, []):
                values = item.model_dump(mode="json")
                numbers = values.pop(MENTIONS_FIELD, []) or []
                indices = chunk_indices(chunk, numbers)
                if not indices:
                    unplaced += 1  # a record that rests on no sentence of the article is no record
                    continue
                if evidence:
                    words = self.event.words if self.event is not None else ()
                    values[evidence] = sentences[reporting_sentence(sentences, indices, words)].text
                records.append(values)
                mentions.append(indices)
        groups = self.groups(records, mentions)
        folded = [fold(records, group) for group in groups]
        passages: dict[str, list[tuple[int, int]]] = {}
        for one, group in zip(folded, groups, strict=True):
            spans = sorted({(sentences[i].start, sentences[i].end) for g in group for i in mentions[g]})
            passages.setdefault(str(one.get(evidence or "")), []).extend(spans)
        return Found(
            folded, chunks=len(chunks), folded=len(records) - len(folded), unplaced=unplaced, passages=passages
        )

    def groups(self, records: list[dict[str, Any]], mentions: list[tuple[int, ...]]) -> list[list[int]]:
        """Records of one attack: they share a sentence and clash on no place, actor or day."""
        if len(records) < 2:
            return [[i] for i in range(len(records))]
        table, _, _ = pair_table(
            {"a": (records, records)}, self.schema.fields, self.aliases, self.schema.evidence_field
        )
        flags = clashing(table, distinct_fields(self.schema.fields))
        clashes = {
            (i, j)
            for i, j, flag in zip(table.pred_index.tolist(), table.gold_index.tolist(), flags.tolist(), strict=True)
            if flag
        }
        return group_by_mentions([set(m) for m in mentions], clashes)


def chunk_indices(chunk: Chunk, numbers: list[int]) -> tuple[int, ...]:
    """A record's sentence numbers (1-based in its chunk) as article sentence indices; numbers
    outside the chunk are dropped."""
    size = chunk.last - chunk.first + 1
    return tuple(sorted({chunk.first + n - 1 for n in numbers if isinstance(n, int) and 1 <= n <= size}))


async def gather_all(requests: list[Awaitable[BaseModel]]) -> list[BaseModel]:
    """Every request of an article runs to its end before the first failure is raised: under
    ``--batch`` each miss is put into the batch (so all chunks of an article wait for one
    round, not one round each), and no task is left running with an unread exception."""
    answers = await asyncio.gather(*requests, return_exceptions=True)
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return [answer for answer in answers if isinstance(answer, BaseModel)]


def build_evidence_first(
    settings: Settings, prompt: PromptTemplate, schema: SchemaSpec, aliases: Aliases, strict: bool
) -> EvidenceFirst | None:
    """The evidence strategy's requests, when the settings ask for it: the project's prompt
    rendered with numbered sentences, chunks sized from ``chunk_tokens`` within ``context_tokens``."""
    if settings.strategy != "evidence":
        return None
    if "sentences" not in prompt.source:
        raise PromptError(
            f"{prompt.path}: the evidence strategy shows the article as numbered sentences, and this template "
            "never uses `sentences`; add a `{% if sentences is defined %}` branch (see the shipped "
            "prompts/incident.jinja), or use --strategy single"
        )
    return EvidenceFirst(
        prompt=prompt,
        schema=schema,
        aliases=aliases,
        # the instructions and the answer take ~1,500 tokens of the context beside the chunk
        chunk_chars=chunk_chars(settings.chunk_tokens, settings.context_tokens, 1_500),
        strict=strict,
    )
