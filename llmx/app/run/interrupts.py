"""Ctrl-C during a run: the first takes no new article and lets those in flight finish and be
written (they are paid for); a second stops at once."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def watch_interrupts(stop: asyncio.Event, on_interrupt: Callable[[], None]) -> Iterator[asyncio.Event]:
    """In the running loop: the first Ctrl-C sets ``stop`` (no new work) and the event yielded
    (the run was interrupted); a second cancels the task that entered this block."""
    loop, main = asyncio.get_running_loop(), asyncio.current_task()
    interrupted = asyncio.Event()

    def interrupt() -> None:
        if interrupted.is_set() and main is not None:
            main.cancel()
            return
        interrupted.set()
        stop.set()
        on_interrupt()

    loop.add_signal_handler(signal.SIGINT, interrupt)
    try:
        yield interrupted
    finally:
        loop.remove_signal_handler(signal.SIGINT)
