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
from typing import Any

from pydantic import BaseModel

from llmx.core.checks import NO_ATTACK_WORD, check_event
from llmx.core.normalize import Aliases, normalize
from llmx.core.same_incident import fold, incident_groups
from llmx.core.sentences import Chunk, Sentence, chunk_chars, chunk_sentences, context_around, split_sentences
from llmx.core.stated import checked_fields, stated_all, stated_first
from llmx.core.verify import ArticleFacts
from llmx.errors import PromptError
from llmx.extraction.evidence_requests import (
    MAX_MARKS,
    Attacks,
    Confirmation,
    fill_model,
    headline,
    headline_lines,
    sent_as,
)
from llmx.inputs.articles import Article
from llmx.inputs.config import Settings
from llmx.inputs.prompts import PromptTemplate, defuse_delimiters, load_prompt
from llmx.inputs.schemas import SchemaSpec

FOLD_FIRST = True  # a folded group takes its quote and values from the record stating most
Ask = Callable[[type[BaseModel], list[dict[str, str]]], Awaitable[BaseModel]]


@dataclass(frozen=True)
class Mark:
    """One attack the model marked: article sentence indices, and its own few words."""

    sentences: tuple[int, ...]
    what: str
    origin: int = 0  # which item of which chunk's answer it came from (passage_runs splits one item)


@dataclass
class Found:
    records: list[dict[str, Any]]
    marks: int = 0
    chunks: int = 0
    folded: int = 0  # records folded into another of the same incident
    passages: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # evidence → marked sentences' spans
    confirmed: dict[str, bool] = field(default_factory=dict)  # evidence without attack words → the model's answer


@dataclass(kw_only=True)
class EvidenceFirst:
    mark_prompt: PromptTemplate
    fill_prompt: PromptTemplate
    confirm_prompt: PromptTemplate
    schema: SchemaSpec
    aliases: Aliases
    chunk_chars: int
    overlap: int = 2
    strict: bool = False

    def __post_init__(self) -> None:
        self.marks_model = sent_as(Attacks, self.strict)
        self.record_model = sent_as(fill_model(self.schema), self.strict)
        self.confirm_model = sent_as(Confirmation, self.strict)
        self.event = next((spec for spec in self.schema.verify.values() if spec.check == "event"), None)
        self.checked = checked_fields(self.schema.fields, self.schema.verify)

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

    def confirm_messages(self, article: Article, evidence: str) -> list[dict[str, str]]:
        return self.confirm_prompt.render(
            article, self.schema, headline=defuse_delimiters(headline(article)), evidence=defuse_delimiters(evidence)
        )

    def unknown_words(self, text: str, evidence: str) -> bool:
        """The quote has none of the event check's attack words: a reason to ask, not to drop."""
        if self.event is None:
            return False
        reason = check_event(evidence, {}, ArticleFacts(text=text), self.event)
        return reason is not None and NO_ATTACK_WORD in reason

    def check_renders(self, article: Article) -> None:
        sentences = split_sentences(article.text) or [Sentence(0, 0, len(article.text), 0, article.text)]
        self.mark_messages(article, sentences, Chunk(0, 0, 0))
        self.fill_messages(article, sentences, Mark((0,), "an attack"))
        self.confirm_messages(article, sentences[0].text)

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
            [
                run
                for chunk, answer in zip(chunks, answers, strict=True)
                for mark in chunk_marks(chunk, answer, origin=chunk.number * (MAX_MARKS + 1))
                for run in passage_runs(mark, sentences)
            ]
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
        # A marked sentence without the check's attack words ("sank ... using sea drones") is asked
        # about once more, on its own: yes keeps the record, no sets it aside (finish).
        unknown = sorted({r[evidence] for r in records if evidence and self.unknown_words(article.text, r[evidence])})
        answers = await gather_all([ask(self.confirm_model, self.confirm_messages(article, q)) for q in unknown])
        confirmed = {q: getattr(a, "answer", "no") == "yes" for q, a in zip(unknown, answers, strict=True)}
        # runs of one item are one attack unless their records name different places, actors or days
        together = {(i, j) for i, a in enumerate(marks) for j, b in enumerate(marks) if i < j and a.origin == b.origin}
        # the looser join compares what each record's own sentences state (llmx.core.stated)
        own = stated_all(
            records,
            ["\n".join(sentences[i].text for i in mark.sentences) for mark in marks],
            self.checked,
            article.text,
            article.date,
            self.aliases,
            evidence,
        )
        groups = incident_groups(records, self.schema.fields, self.aliases, evidence, together, stated=own)
        # a group's record is the one stating most, not its first (a claim, a toll, a source)
        folded = [fold(records, stated_first(group, own, self.checked) if FOLD_FIRST else group) for group in groups]
        passages: dict[str, list[tuple[int, int]]] = {}
        for one, group in zip(folded, groups, strict=True):
            spans = [(sentences[i].start, sentences[i].end) for g in group for i in marks[g].sentences]
            passages.setdefault(str(one.get(evidence or "")), []).extend(spans)
        return Found(
            folded,
            marks=len(marks),
            chunks=len(chunks),
            folded=len(records) - len(folded),
            passages=passages,
            confirmed=confirmed,
        )


async def gather_all(requests: list[Awaitable[BaseModel]]) -> list[BaseModel]:
    """Every request of a pass runs to its end before the first failure is raised: under
    ``--batch`` each miss is put into the batch (so all chunks of an article wait for one
    round, not one round each), and no task is left running with an unread exception."""
    answers = await asyncio.gather(*requests, return_exceptions=True)
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return [answer for answer in answers if isinstance(answer, BaseModel)]


def chunk_marks(chunk: Chunk, answer: BaseModel, origin: int = 0) -> list[Mark]:
    """The chunk's answer as article sentence indices; numbers outside the chunk are dropped
    (a mark left with none is no mark)."""
    out = []
    size = chunk.last - chunk.first + 1
    for item, attack in enumerate(getattr(answer, "attacks", [])[:MAX_MARKS]):
        indices = sorted({chunk.first + n - 1 for n in attack.sentences if 1 <= n <= size})
        if indices:
            out.append(Mark(tuple(indices), " ".join(attack.what.split()), origin + item))
    return out


OTHER_SENTENCES = "the attack this passage reports"


def passage_runs(mark: Mark, sentences: list[Sentence]) -> list[Mark]:
    """A mark as runs of adjacent sentences of one paragraph, each filled on its own: the 1.5B
    model lists the right sentences but groups several attacks under one item ("sentences":
    [1, ..., 10] for five attacks). The runs are folded back by the same-incident rule when they
    report one attack. The model's words name the run holding its first sentence."""
    runs: list[list[int]] = []
    for i in mark.sentences:
        if runs and i == runs[-1][-1] + 1 and sentences[i].paragraph == sentences[runs[-1][-1]].paragraph:
            runs[-1].append(i)
        else:
            runs.append([i])
    return [Mark(tuple(run), mark.what if n == 0 else OTHER_SENTENCES, mark.origin) for n, run in enumerate(runs)]


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
        confirm_prompt=_pass_prompt(prompt, "confirm", settings),
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
            f"{error}; the evidence strategy needs {name}_mark, {name}_fill and {name}_confirm.jinja beside "
            f"{name}.jinja (copy the incident_ ones), or use --strategy single"
        ) from error
