"""A fake model that answers each article with its own gold records: a run *as if extraction
were perfect*, to measure what comes after extraction (event fusion, its scores) on its own.

It is a test double, not a model: what it answers is the annotators' work, so a run made with
it says nothing about any model. Record it into a scratch cassette folder, never the project's.

    script = gold_answers(load_articles(["events/"]), load_gold(Path("gold"), schema))
    with StubServer(script=script) as server:
        ...  # llmx extract events/ --base-url server.base_url --cassettes scratch/
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from llmx.inputs.articles import Article
from llmx.inputs.gold import ANNOTATION_KEYS
from llmx.testing.fake_model import Reply, Script, article_text, schema_answer

_SPACE = re.compile(r"\s+")


def gold_answers(
    articles: Iterable[Article], gold: Mapping[str, Sequence[Mapping[str, Any]]], list_field: str = "incidents"
) -> Script:
    """A script that answers the request for each article with that article's gold records
    (annotation keys removed; a field the schema has and gold does not annotate is what
    :func:`schema_answer` gives it, null when nullable); an article without gold gets []."""
    by_text = {_SPACE.sub(" ", article.text).strip(): article.id for article in articles}

    def script(body: dict[str, Any], number: int) -> Reply:
        article_id = by_text.get(_SPACE.sub(" ", article_text(body)).strip())
        (template,) = json.loads(schema_answer(body).content)[list_field]
        records = [
            {**template, **{k: v for k, v in record.items() if k not in ANNOTATION_KEYS}}
            for record in gold.get(article_id or "", [])
        ]
        return Reply(content=json.dumps({list_field: records}))

    return script
