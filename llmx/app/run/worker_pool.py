"""Run many articles through one extract function, at most ``concurrency`` at once.

A fixed pool of async workers pulls from one iterator: memory stays flat however many articles
there are (no task per article waiting, no finished result kept).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from llmx.errors import EndpointError
from llmx.inputs.articles import Article
from llmx.runs.results import ArticleResult


async def run_all(
    extract: Callable[[Article], Awaitable[ArticleResult]],
    articles: Iterable[Article],
    concurrency: int,
    on_result: Callable[[ArticleResult], Awaitable[None] | None],
    stop: asyncio.Event | None = None,
) -> None:
    """Extract every article, at most ``concurrency`` at once, reporting each as it finishes.
    Once ``stop`` is set, no new article starts; those in flight finish and are reported.
    An :class:`~llmx.errors.EndpointError` (the server cannot serve anything) stops the run the
    same way (the articles in flight finish: an answer already paid for is saved), then raises."""
    pending = iter(articles)
    halted: list[EndpointError] = []

    async def worker() -> None:
        for article in pending:  # each article is taken by exactly one worker
            if halted or (stop is not None and stop.is_set()):
                return
            try:
                result = await extract(article)
            except EndpointError as error:
                halted.append(error)
                return
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
    if halted:
        raise halted[0]
