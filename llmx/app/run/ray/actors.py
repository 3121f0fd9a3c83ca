"""What the Ray engine's workers share, each held by one Ray actor on the driver's node:

- ``StoreActor``: the cassette store (any backend). Workers read and write cassettes
  through it, so a SQLite file is written by one process on one host even when the workers run
  on many machines, and a cassette a killed worker saved is there for the one that takes over.
- ``RateActor``: one adaptive window of requests in flight for all workers, the same
  :class:`llmx.model.rate_control.RateController` the plain engine uses (its AIMD, its
  ``Retry-After`` pause), driven remotely: N workers together stay under the server's limit.
- ``BudgetActor``: ``--max-cost`` across all workers (:class:`llmx.runs.costs.Budget`):
  once reached no new article starts anywhere.

On the worker's side :class:`RemoteStore` and :class:`SharedRate` stand in for the store and
the controller, so the gateway and the retry policy do not know they are remote.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ray

from llmx.cassettes.backend import MissDiagnosis
from llmx.cassettes.store import Cassette, RecordedAnswer
from llmx.cassettes.stores import open_store
from llmx.core.redact import Redactor
from llmx.model.rate_control import RateController, RateStats, Ticket
from llmx.runs.costs import Budget


def on_this_node() -> dict[str, Any]:
    """Scheduling that pins an actor to the node of the driver (where the run folder is)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    node = ray.get_runtime_context().get_node_id()
    return {"scheduling_strategy": NodeAffinitySchedulingStrategy(node, soft=False), "num_cpus": 0}


class _Store:
    def __init__(self, kind: str, root: str, redact: Redactor | None = None) -> None:
        self.store = open_store(kind, Path(root), redact)

    def load_answer(self, article_id: str, key: str) -> RecordedAnswer | None:
        return self.store.load_answer(article_id, key)

    def load(self, article_id: str, key: str) -> Cassette | None:
        return self.store.load(article_id, key)

    def save(self, cassette: Cassette) -> str:
        return str(self.store.save(cassette))

    def exists(self, article_id: str, key: str) -> bool:
        return self.store.exists(article_id, key)

    def recorded_for(self, article_id: str) -> list[Cassette]:
        return self.store.recorded_for(article_id)

    def check_writable(self) -> None:
        self.store.check_writable()

    def recorded_keys(self) -> list[tuple[str, str]]:
        return list(self.store.recorded_keys())

    def delete(self, article_id: str, key: str) -> None:
        self.store.delete(article_id, key)

    def close(self) -> None:
        self.store.close()


StoreActor: Any = ray.remote(_Store)  # started with max_concurrency: lookups of many workers at once


class RemoteStore(MissDiagnosis):
    """A :class:`~llmx.cassettes.backend.CassetteBackend` whose calls go to a :class:`StoreActor`."""

    def __init__(self, actor: Any, kind: str, root: Path) -> None:
        self.actor = actor
        self.kind = kind
        self.root = root
        self._local = open_store(kind, root)  # for names only (where, location): never opened
        self.redact = Redactor()  # the actor's own store redacts what it saves

    def where(self, article_id: str) -> Path:
        return self._local.where(article_id)

    def location(self, article_id: str, key: str) -> str:
        return self._local.location(article_id, key)

    def save(self, cassette: Cassette) -> str:
        return str(ray.get(self.actor.save.remote(cassette)))

    def load(self, article_id: str, key: str) -> Cassette | None:
        loaded: Cassette | None = ray.get(self.actor.load.remote(article_id, key))
        return loaded

    def load_answer(self, article_id: str, key: str) -> RecordedAnswer | None:
        answer: RecordedAnswer | None = ray.get(self.actor.load_answer.remote(article_id, key))
        return answer

    def exists(self, article_id: str, key: str) -> bool:
        return bool(ray.get(self.actor.exists.remote(article_id, key)))

    def recorded_for(self, article_id: str) -> list[Cassette]:
        found: list[Cassette] = ray.get(self.actor.recorded_for.remote(article_id))
        return found

    def check_writable(self) -> None:
        ray.get(self.actor.check_writable.remote())

    def recorded_keys(self) -> Iterator[tuple[str, str]]:
        keys: list[tuple[str, str]] = ray.get(self.actor.recorded_keys.remote())
        yield from keys

    def iterate(self) -> Iterator[Cassette]:
        for article_id, key in self.recorded_keys():
            cassette = self.load(article_id, key)
            if cassette is not None:
                yield cassette

    def delete(self, article_id: str, key: str) -> None:
        ray.get(self.actor.delete.remote(article_id, key))

    def close(self) -> None:
        """The actor's store is closed by the driver, once every worker is done."""


class _Rate:
    """The shared window: an async actor, so waiting requests queue in one event loop."""

    def __init__(self, ceiling: int, max_pause: float) -> None:
        self.rate = RateController(ceiling, max_pause=max_pause)

    async def acquire(self) -> Ticket:
        return await self.rate.acquire()

    async def release(self, ticket: Ticket, throttled: bool, retry_after: float | None, ok: bool) -> None:
        self.rate.release(ticket, throttled=throttled, retry_after=retry_after, ok=ok)

    async def state(self) -> tuple[int, RateStats]:
        return self.rate.window, self.rate.stats


RateActor: Any = ray.remote(_Rate)  # async methods: Ray runs them in one event loop


class SharedRate(RateController):
    """The worker's stand-in for :class:`RateController`: every slot is taken from and given
    back to the ``RateActor``, so the window is the same for all workers."""

    def __init__(self, actor: Any, ceiling: int, max_pause: float) -> None:
        super().__init__(ceiling, max_pause=max_pause)
        self.actor = actor
        self._pending: set[asyncio.Future[Any]] = set()

    async def acquire(self) -> Ticket:
        ticket: Ticket = await self.actor.acquire.remote()
        self.stats.admitted += 1
        return ticket

    def release(
        self, ticket: Ticket, throttled: bool = False, retry_after: float | None = None, ok: bool = True
    ) -> None:
        self.stats.throttled += throttled
        self.stats.succeeded += ok and not throttled
        # Not awaited (tenacity's retry decision is synchronous); kept until done so it is not lost.
        future = asyncio.ensure_future(self._release(ticket, throttled, retry_after, ok))
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    async def _release(self, ticket: Ticket, throttled: bool, retry_after: float | None, ok: bool) -> None:
        await self.actor.release.remote(ticket, throttled, retry_after, ok)


class _Budget:
    """``--max-cost`` for every worker at once: what the run folder spent, and the cap."""

    def __init__(self, cap: float | None, spent: float) -> None:
        self.budget = Budget(cap, spent)

    def add(self, amount: float | None) -> bool:
        self.budget.add(amount)
        return self.budget.reached

    def reached(self) -> bool:
        return self.budget.reached

    def spent(self) -> float:
        return self.budget.spent


BudgetActor: Any = ray.remote(_Budget)
