"""An article's time budget counts the time its requests are served, never the time they wait."""

from __future__ import annotations

import pytest

from llmx.errors import ArticleTimeout
from llmx.model.article_clock import ArticleClock


class Tick:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_waiting_between_requests_is_not_counted() -> None:
    now = Tick()
    clock = ArticleClock(10.0, now=now)
    now.t = 100.0  # queued behind other articles for 100 s: nothing spent
    with clock.serving() as left:
        assert left == 10.0
        now.t += 4.0
    now.t += 50.0  # waiting again
    assert clock.elapsed() == pytest.approx(4.0)
    with clock.serving() as left:
        assert left == pytest.approx(6.0)  # what is left bounds the next request
        now.t += 6.5
    with pytest.raises(ArticleTimeout, match="served for more than 10 s"), clock.serving():
        pass


def test_two_requests_in_flight_at_once_count_once() -> None:
    now = Tick()
    clock = ArticleClock(10.0, now=now)
    with clock.serving():
        now.t += 1.0
        with clock.serving():  # a second chunk's request, sent while the first is in flight
            now.t += 2.0
        now.t += 1.0
    assert clock.elapsed() == pytest.approx(4.0)
