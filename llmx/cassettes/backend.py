"""Where cassettes are kept: the :class:`CassetteBackend` seam the gateways, the batch collector
and ``llmx cassettes`` talk to, whatever the backend.

Two backends, chosen by ``cassette_store`` in ``[tool.llmx]`` (``--cassette-store``):

- ``folder`` (:mod:`llmx.cassettes.folder`): one readable JSON file per request, in a folder
  per article. For fixtures committed to git: diffs and merges read well.
- ``sqlite`` (:mod:`llmx.cassettes.sqlite_store`): one SQLite file (WAL) in the cassette
  folder. For large runs: at 1,000,000 requests it writes, looks up and replays faster, on a
  fifth of the disk, in one file, with several processes writing at once (bench/STORE.md).

Every backend scrubs on write (:func:`llmx.cassettes.store.scrubbed`) and explains a miss
against the nearest recorded request (:class:`MissDiagnosis`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from llmx.cassettes.store import Cassette, RecordedAnswer, describe_change, nearest_recorded
from llmx.core.redact import Redactor
from llmx.errors import CassetteMiss


class CassetteBackend(Protocol):
    """Cassettes by (article id, key): store, load, iterate, exists; and what a miss changed."""

    kind: str  # "folder" or "sqlite"
    root: Path  # the cassette folder (the setting ``cassettes``)
    redact: Redactor  # the endpoint's secrets, removed from every cassette written

    def save(self, cassette: Cassette) -> object: ...

    def load(self, article_id: str, key: str) -> Cassette | None: ...

    def load_answer(self, article_id: str, key: str) -> RecordedAnswer | None: ...

    def exists(self, article_id: str, key: str) -> bool: ...

    def iterate(self) -> Iterator[Cassette]: ...

    def recorded_keys(self) -> Iterator[tuple[str, str]]: ...

    def recorded_for(self, article_id: str) -> list[Cassette]: ...

    def delete(self, article_id: str, key: str) -> None: ...

    def location(self, article_id: str, key: str) -> str: ...

    def where(self, article_id: str) -> Path: ...

    def check_writable(self) -> None: ...

    def miss(self, article_id: str, attempt: int, request: dict[str, Any]) -> CassetteMiss: ...

    def close(self) -> None: ...


class MissDiagnosis:
    """A miss in any backend: the nearest recorded request for the same article and attempt, and
    what changed. A backend gives ``recorded_for`` (an article's cassettes) and ``where``."""

    def recorded_for(self, article_id: str) -> list[Cassette]:
        raise NotImplementedError

    def where(self, article_id: str) -> Path:
        raise NotImplementedError

    def nearest(self, article_id: str, attempt: int, request: dict[str, Any]) -> Cassette | None:
        return nearest_recorded(self.recorded_for(article_id), attempt, request)

    def miss(self, article_id: str, attempt: int, request: dict[str, Any]) -> CassetteMiss:
        """The error for a request with no cassette, naming what changed against the nearest one."""
        change = describe_change(self.nearest(article_id, attempt, request), request)
        where = self.where(article_id)
        return CassetteMiss(
            f"article {article_id}: no cassette in {where} for request {attempt + 1} ({change})",
            article_id,
            where,
            change,
        )
