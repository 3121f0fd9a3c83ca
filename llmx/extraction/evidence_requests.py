"""What the evidence strategy's requests ask for and show: the response models of the marking
and confirming passes, the record model a fill answers with (the schema's, without evidence),
the JSON schemas as sent, and the headline the prompts show."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import instructor
from pydantic import BaseModel, Field, create_model

from llmx.core.sentences import Sentence
from llmx.inputs.articles import Article
from llmx.inputs.schemas import SchemaSpec, model_schema_for_llm

HEADLINE_CHARS = 200


class MarkedAttack(BaseModel):
    what: str = Field(description="A few words: what attack, on what place.")
    # "minimum" guides a grammar server; not validated here: a number out of the chunk is dropped (chunk_marks)
    sentences: list[Annotated[int, Field(json_schema_extra={"minimum": 1})]] = Field(
        description="Numbers of the sentences that report this attack."
    )


class Confirmation(BaseModel):
    answer: Literal["yes", "no"] = Field(description="yes: the sentence reports an attack that happened.")


MAX_MARKS = 12  # per chunk: bounds an answer that repeats itself (a grammar server stops there)


class Attacks(BaseModel):
    attacks: list[MarkedAttack] = Field(
        description="One item per attack the sentences report; empty if none.",
        json_schema_extra={"maxItems": MAX_MARKS},  # sent, not validated: strict mode strips it (sent_as)
    )


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
