"""Run many articles through one extractor, at most ``concurrency`` at once.

A fixed pool of async workers pulls from one iterator: memory stays flat however many articles
there are (no task per article waiting, no finished result kept).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from llmx.articles import Article
from llmx.results import ArticleResult, RunSummary

if TYPE_CHECKING:
    from llmx.extract import Extractor


async def run_all(
    extractor: Extractor,
    articles: Iterable[Article],
    concurrency: int,
    on_result: Callable[[ArticleResult], Awaitable[None] | None],
    stop: asyncio.Event | None = None,
) -> RunSummary:
    """Extract every article, at most ``concurrency`` at once, reporting each as it finishes.
    Once ``stop`` is set, no new article starts; those in flight finish and are reported.
    An :class:`~llmx.errors.EndpointError` (the server cannot serve anything) stops the run.

    A fixed pool of workers pulls from one iterator: memory stays flat however many articles
    there are (no task per article waiting, no finished result kept). The gateway's HTTP client
    is closed at the end, so one extractor serves one run."""
    summary = RunSummary()
    started = time.perf_counter()
    pending = iter(articles)

    async def worker() -> None:
        for article in pending:  # each article is taken by exactly one worker
            if stop is not None and stop.is_set():
                return
            result = await extractor.extract(article)
            summary.add(result)
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
        await extractor.gateway.aclose()  # in this loop: its connections belong to it
        summary.wall_s = round(time.perf_counter() - started, 3)
    return summary
