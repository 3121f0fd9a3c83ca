"""Open the backend a project names, and move cassettes between backends: ``llmx cassettes
pack`` (folder → sqlite), ``unpack`` (sqlite → folder, all or what some runs replay) and
``prune`` (drop what no given run replays)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from llmx.cassettes.backend import CassetteBackend
from llmx.cassettes.folder import CassetteStore
from llmx.cassettes.sqlite_store import SqliteStore
from llmx.cassettes.store import Cassette
from llmx.core.redact import Redactor
from llmx.errors import OutputError, UsageError

StoreKind = Literal["folder", "sqlite"]
STORE_KINDS: dict[str, Callable[[Path, Redactor | None], CassetteBackend]] = {
    "folder": CassetteStore,
    "sqlite": SqliteStore,
}


def open_store(kind: str, root: Path, redact: Redactor | None = None) -> CassetteBackend:
    """The backend ``kind`` over the cassette folder ``root``; ``redact`` removes the endpoint's
    secrets from every cassette it writes."""
    if kind not in STORE_KINDS:
        raise UsageError(f"unknown cassette store {kind!r}; use one of {', '.join(STORE_KINDS)}")
    return STORE_KINDS[kind](root, redact)


def check_readable(store: CassetteBackend) -> None:
    """Before the first request: a cassette folder that is a file, or a store that is no
    database or is damaged, is one refusal (exit 2), never a failure per article."""
    if store.root.exists() and not store.root.is_dir():
        raise OutputError(
            f"{store.root}: a file, not a cassette folder; move it or pass --cassettes to a folder", store.root
        )
    if isinstance(store, SqliteStore):
        store.check_readable()


@dataclass
class Moved:
    copied: int = 0
    skipped: int = 0  # already in the target, same key
    removed: int = 0


def copy_cassettes(
    source: CassetteBackend,
    target: CassetteBackend,
    only: Collection[tuple[str, str]] | None = None,
    remove: bool = False,
) -> Moved:
    """Every cassette of ``source`` (or those in ``only``, as (article id, key)) into ``target``,
    one at a time (memory stays flat); ``remove`` deletes each from ``source`` once written."""
    moved = Moved()

    def wanted() -> Iterator[Cassette]:
        if only is not None:
            for article_id, key in sorted(only):
                cassette = source.load(article_id, key)
                if cassette is not None:
                    yield cassette
            return
        yield from source.iterate()

    def fresh() -> Iterator[Cassette]:
        for cassette in wanted():
            if target.exists(cassette.article_id, cassette.key):
                moved.skipped += 1
            else:
                moved.copied += 1
                yield cassette

    if isinstance(target, SqliteStore):
        target.save_many(fresh())
    else:
        for cassette in fresh():
            target.save(cassette)
    if remove:
        for article_id, key in list(only) if only is not None else list(source.recorded_keys()):
            if target.exists(article_id, key):
                source.delete(article_id, key)
                moved.removed += 1
    return moved


def prune(store: CassetteBackend, keep: Collection[tuple[str, str]], dry_run: bool = False) -> list[tuple[str, str]]:
    """Delete every cassette not in ``keep``; returns what was (or, dry, would be) deleted."""
    doomed = [pair for pair in store.recorded_keys() if pair not in keep]
    if not dry_run:
        for article_id, key in doomed:
            store.delete(article_id, key)
        if isinstance(store, SqliteStore) and doomed:
            store.vacuum()
    return doomed


def replayed_by(runs: Iterable[Path]) -> set[tuple[str, str]]:
    """(article id, key) of every request the given run folders made or replayed (provenance)."""
    from llmx.runs.folder import read_results

    keep: set[tuple[str, str]] = set()
    for run in runs:
        for result in read_results(run):
            keep.update((result.article_id, key) for key in result.provenance.cassette_keys)
    return keep
