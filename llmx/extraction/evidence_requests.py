"""What the evidence strategy's one request per chunk asks for: the schema's record with its
evidence quote replaced by the numbers of the sentences the record rests on, and the JSON
schema as sent (no llmx keys, no defaults, what a grammar server needs)."""

from __future__ import annotations

from typing import Annotated, Any

import instructor
from pydantic import BaseModel, Field, create_model

from llmx.core.sentences import Sentence
from llmx.inputs.articles import Article
from llmx.inputs.schemas import SchemaSpec, model_schema_for_llm

HEADLINE_CHARS = 200
MAX_RECORDS = 16  # per chunk: bounds an answer that repeats itself (a grammar server stops there)
MENTIONS_FIELD = "sentences"
MENTIONS_DESCRIPTION = (
    "Numbers of the sentences that report this attack: the one that reports it, then every later "
    "sentence about the same attack."
)


def mentions_model(schema: SchemaSpec) -> type[BaseModel]:
    """The answer of one chunk: the schema's list of records, each record without its evidence
    field and with ``sentences`` first (the model says where an attack is told before it fills
    it, so every value can be held to those sentences)."""
    evidence = schema.evidence_field
    # "minimum" guides a grammar server; not validated here: a number out of the chunk is dropped
    fields: dict[str, Any] = {
        MENTIONS_FIELD: (
            list[Annotated[int, Field(json_schema_extra={"minimum": 1})]],
            Field(description=MENTIONS_DESCRIPTION),
        )
    }
    fields |= {
        name: (info.annotation, info) for name, info in schema.record_model.model_fields.items() if name != evidence
    }
    record = create_model(schema.record_model.__name__, __doc__=schema.record_model.__doc__, **fields)
    listed = schema.response_model.model_fields[schema.list_field]
    answer: dict[str, Any] = {
        schema.list_field: (
            list[record],  # type: ignore[valid-type]
            Field(description=listed.description, json_schema_extra={"maxItems": MAX_RECORDS}),
        )
    }
    return create_model(schema.response_model.__name__, __doc__=schema.response_model.__doc__, **answer)


def mention_fields(schema: SchemaSpec) -> list[dict[str, str]]:
    """The fields the prompt lists for this request: ``sentences`` in place of the evidence quote."""
    shown = [{"name": MENTIONS_FIELD, "description": MENTIONS_DESCRIPTION}]
    return shown + [
        {"name": name, "description": text}
        for name, text in schema.descriptions.items()
        if name != schema.evidence_field
    ]


def headline_lines(article: Article, sentences: list[Sentence]) -> int:
    """1 when the article has no title and its first sentence is its whole first line, short and
    without a final stop: a headline (its attack is reported again below it, so it is shown
    unnumbered and no record rests on it)."""
    if getattr(article, "title", None) or len(sentences) < 2:
        return 0
    first = sentences[0]
    line_end = article.text.find("\n")
    whole_line = line_end < 0 or article.text[first.end : line_end].strip() == ""
    return int(whole_line and line_end >= 0 and len(first.text) <= HEADLINE_CHARS and first.text[-1] not in ".!?")


def sent_as(model: type[BaseModel], strict: bool) -> type[BaseModel]:
    """``model`` whose JSON schema, as sent to the server, has no llmx keys and no defaults
    (what a grammar server needs; the same treatment as the schema of a single pass)."""
    sent = model_schema_for_llm(model, strict)
    if strict:  # strict structured outputs refuse bounds; they are applied here anyway
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
