"""llmx: turn news articles into a clean, scored dataset of incidents with an LLM.

The Python API (the ``llmx`` command is one of its clients)::

    import llmx

    project = llmx.load_project(".")                       # [tool.llmx] or llmx.toml, found upwards
    run = llmx.extract(["seeds/"], project=project, out="runs/api")   # replays the cassettes
    print(run.summary.incidents, [r.article_id for r in run.failed])
    scored = llmx.score(run.path, project=project)         # against the project's gold/
    print(scored.score.incidents.f1)
    llmx.view(run.path, project=project)                   # → runs/api/view.html
    for event in llmx.events(run.path, project=project):   # one per attack, across articles
        print(event.fields["date"], event.fields["location"], [r.article_id for r in event.reports])

    # articles in memory, no run folder: (id, text) or (id, text, publication date)
    run = llmx.extract([("a1", "A drone struck the base on Monday.", "2024-01-03")],
                       project=project, in_memory=True, base_url="http://127.0.0.1:8080/v1")

Library code never prints; it raises :mod:`llmx.errors` (the tree is in its docstring).
Names are imported on first use, so ``import llmx`` (and the ``llmx`` command) starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmx.app.api import Project, Run, compare, events, extract, load_project, score, view
    from llmx.app.evaluation.score import Comparison, Scored
    from llmx.inputs.articles import Article, load_articles
    from llmx.runs.events import Event
    from llmx.runs.results import ArticleResult, RunSummary

# public name → the module that defines it
_WHERE = {
    "load_project": "llmx.app.api",
    "Project": "llmx.app.api",
    "extract": "llmx.app.api",
    "Run": "llmx.app.api",
    "score": "llmx.app.api",
    "compare": "llmx.app.api",
    "view": "llmx.app.api",
    "events": "llmx.app.api",
    "Event": "llmx.runs.events",
    "Scored": "llmx.app.evaluation.score",
    "Comparison": "llmx.app.evaluation.score",
    "Article": "llmx.inputs.articles",
    "load_articles": "llmx.inputs.articles",
    "ArticleResult": "llmx.runs.results",
    "RunSummary": "llmx.runs.results",
    "errors": "llmx.errors",
}

__all__ = [
    "Article",
    "ArticleResult",
    "Comparison",
    "Event",
    "Project",
    "Run",
    "RunSummary",
    "Scored",
    "compare",
    "errors",
    "events",
    "extract",
    "load_articles",
    "load_project",
    "score",
    "view",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'llmx' has no attribute {name!r}")
    module = importlib.import_module(where)
    value = module if name == "errors" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
