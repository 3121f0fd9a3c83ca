"""An article's own time: the seconds its requests are being served, not the time they queue.

``--article-timeout`` bounds what one article may cost. Measured on the wall clock, it also counted
the time an article's requests waited behind other articles' requests (in the rate window, or in
a local server's queue), so on a slow local model a short article failed ``timeout`` for having
waited. The clock here runs only while at least one of the article's requests is in flight (sent
and not yet answered); each HTTP attempt may take at most what is left of it. The extractor starts
one per article (:func:`article_clock`); :class:`llmx.model.server.ModelServer` reads it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from llmx.errors import ArticleTimeout


@dataclass
class ArticleClock:
    budget: float
    now: Callable[[], float] = time.monotonic
    spent: float = 0.0
    _in_flight: int = field(default=0, repr=False)
    _since: float = field(default=0.0, repr=False)

    def elapsed(self) -> float:
        return self.spent + (self.now() - self._since if self._in_flight else 0.0)

    def remaining(self) -> float:
        return self.budget - self.elapsed()

    @contextmanager
    def serving(self) -> Iterator[float]:
        """Around one request in flight: yields the seconds it may take; the clock runs while any
        request of the article is in flight (two at once count once)."""
        left = self.remaining()
        if left <= 0:
            raise self.expired()
        if self._in_flight == 0:
            self._since = self.now()
        self._in_flight += 1
        try:
            yield left
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self.spent += self.now() - self._since

    def expired(self) -> ArticleTimeout:
        return ArticleTimeout(
            f"the article's requests were served for more than {self.budget:g} s in all (article_timeout; "
            "time spent waiting behind other articles is not counted); raise it for a slow model"
        )


CLOCK: ContextVar[ArticleClock | None] = ContextVar("llmx_article_clock", default=None)


@contextmanager
def article_clock(budget: float | None) -> Iterator[ArticleClock | None]:
    """The clock of the article being extracted in this task (and the tasks it starts)."""
    clock = ArticleClock(budget) if budget is not None else None
    token = CLOCK.set(clock)
    try:
        yield clock
    finally:
        CLOCK.reset(token)
