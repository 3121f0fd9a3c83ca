"""The SQLite backend: every cassette of a project in one file, ``<cassettes>/cassettes.sqlite3``,
for runs of millions of requests (bench/STORE.md has the measurements that chose it).

- One row per (article id, key); the answer replay reads and the rest of the cassette (the
  request, its schema, who served it) are two zlib-compressed JSON blobs, so a lookup inflates
  ~1 KB, not the ~9 KB request.
- WAL journal, ``synchronous=NORMAL``: a save returns once its transaction is in the WAL, so a
  ``kill -9`` right after loses nothing acknowledged and never leaves a half row; a power cut
  may take back the last transactions (they are re-asked: never a corrupt store). Several
  processes on one machine write at once (the busy timeout queues them). WAL needs one host's
  shared memory: across machines, let the Ray engine's store actor own the file
  (:mod:`llmx.app.run.ray.engine`), never a network share opened from several hosts.
- Lookups use the (article id, key) index: memory stays flat however many rows there are.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from llmx.cassettes.backend import MissDiagnosis
from llmx.cassettes.store import CASSETTE_VERSION, Cassette, Loaded, RecordedAnswer, scrubbed
from llmx.core.redact import Redactor
from llmx.errors import CassetteError, OutputError

FILE_NAME = "cassettes.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS cassettes (
    id INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL,
    key TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    answer BLOB NOT NULL,
    rest BLOB NOT NULL,
    UNIQUE (article_id, key)
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
LEVEL = 1  # zlib: level 6 made rows 11% smaller and took twice as long (bench/STORE.md)


class SqliteStore(MissDiagnosis):
    kind = "sqlite"

    def __init__(self, root: Path, redact: Redactor | None = None) -> None:
        self.root = root
        self.redact = redact or Redactor()  # every cassette written: served_by, request and answer
        self.path = root / FILE_NAME
        self._lock = threading.Lock()  # one connection, shared by the gateway's saving threads
        self._db: sqlite3.Connection | None = None

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if self._db is None:
            if not create and not self.path.is_file():
                return None  # replay from a store never written: every lookup misses, nothing made
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(SCHEMA)
                db.execute("INSERT OR IGNORE INTO meta VALUES ('version', ?)", (str(CASSETTE_VERSION),))
            except sqlite3.DatabaseError as error:  # no database, or a damaged one
                raise self.damaged(error) from error
            except (sqlite3.Error, OSError) as error:
                raise OutputError(
                    f"{self.path}: cannot open the cassette store ({error}); pass --cassettes to another folder",
                    self.path,
                ) from error
            (version,) = db.execute("SELECT value FROM meta WHERE name = 'version'").fetchone()
            if version != str(CASSETTE_VERSION):
                raise CassetteError(
                    f"{self.path}: cassette version {version}; this llmx reads version {CASSETTE_VERSION}", self.path
                )
            self._db = db
        return self._db

    def where(self, article_id: str) -> Path:
        return self.path

    def check_readable(self) -> None:
        """Before the first request: a store that is no SQLite database, or whose tables cannot
        be read, is one refusal, not one "invalid output" per article blaming the model."""
        if self.path.exists() and not self.path.is_file():
            raise OutputError(f"{self.path}: not a file, so no cassette store; move it or pass --cassettes", self.path)
        with self._lock:
            db = self._connect(create=False)
            if db is None:
                return
            try:
                db.execute("SELECT article_id, key FROM cassettes ORDER BY id LIMIT 1").fetchall()
            except sqlite3.Error as error:
                raise self.damaged(error) from error

    def damaged(self, error: sqlite3.Error) -> OutputError:
        return OutputError(
            f"{self.path}: damaged cassette store ({error}); move it aside and re-record, or pass --cassettes",
            self.path,
        )

    def location(self, article_id: str, key: str) -> str:
        return f"{self.path}#{article_id}/{key[:20]}"

    def check_writable(self) -> None:
        """Before the first paid request: an answer that cannot be saved is money thrown away."""
        with self._lock:
            db = self._connect(create=True)
            assert db is not None
            try:
                db.execute("BEGIN IMMEDIATE")
                db.execute("ROLLBACK")
            except sqlite3.Error as error:
                raise OutputError(f"{self.path}: cassette store not writable ({error})", self.path) from error

    def save(self, cassette: Cassette) -> str:
        row = encode_row(cassette, self.redact)
        with self._lock:
            db = self._connect(create=True)
            assert db is not None
            try:  # autocommit: the row is in the WAL when this returns
                db.execute(
                    "INSERT OR REPLACE INTO cassettes (article_id, key, attempt, answer, rest) VALUES (?, ?, ?, ?, ?)",
                    row,
                )
            except sqlite3.Error as error:
                raise OutputError(f"{self.path}: cannot save a cassette ({error})", self.path) from error
        return self.location(cassette.article_id, cassette.key)

    def save_many(self, cassettes: Iterator[Cassette], chunk: int = 2000) -> int:
        """Many cassettes in few transactions (``llmx cassettes pack``); returns how many."""
        count = 0
        batch: list[Cassette] = []
        for cassette in cassettes:
            batch.append(cassette)
            if len(batch) >= chunk:
                count += self._insert(batch)
                batch = []
        return count + (self._insert(batch) if batch else 0)

    def _insert(self, batch: list[Cassette]) -> int:
        rows = [encode_row(cassette, self.redact) for cassette in batch]
        with self._lock:
            db = self._connect(create=True)
            assert db is not None
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT OR REPLACE INTO cassettes (article_id, key, attempt, answer, rest) VALUES (?, ?, ?, ?, ?)", rows
            )
            db.execute("COMMIT")
        return len(rows)

    def _row(self, article_id: str, key: str, columns: str) -> tuple[Any, ...] | None:
        with self._lock:
            db = self._connect(create=False)
            if db is None:
                return None
            try:
                row: tuple[Any, ...] | None = db.execute(
                    f"SELECT {columns} FROM cassettes WHERE article_id = ? AND key = ?", (article_id, key)
                ).fetchone()
            except sqlite3.Error as error:
                raise self.damaged(error) from error
            return row

    def exists(self, article_id: str, key: str) -> bool:
        return self._row(article_id, key, "1") is not None

    def load_answer(self, article_id: str, key: str) -> RecordedAnswer | None:
        row = self._row(article_id, key, "answer")
        return None if row is None else self._parse(row[0], None, RecordedAnswer, article_id, key)

    def load(self, article_id: str, key: str) -> Cassette | None:
        row = self._row(article_id, key, "answer, rest")
        return None if row is None else self._parse(row[0], row[1], Cassette, article_id, key)

    def _parse(self, answer: bytes, rest: bytes | None, model: type[Loaded], article_id: str, key: str) -> Loaded:
        try:
            data = json.loads(zlib.decompress(answer))
            if rest is not None:
                data.update(json.loads(zlib.decompress(rest)))
            loaded = model.model_validate(data)
        except (zlib.error, ValueError, ValidationError) as error:
            raise CassetteError(
                f"{self.location(article_id, key)}: corrupt cassette ({str(error).splitlines()[0]}); "
                "`llmx cassettes prune` or --record replaces it",
                self.path,
            ) from error
        if loaded.version != CASSETTE_VERSION:
            raise CassetteError(
                f"{self.location(article_id, key)}: cassette version {loaded.version}; "
                f"this llmx reads version {CASSETTE_VERSION}",
                self.path,
            )
        return loaded

    def _select(self, where: str = "", args: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        if not self.path.is_file():
            return
        # A connection of its own: a snapshot read while the store goes on taking saves.
        db = sqlite3.connect(self.path, timeout=60)
        try:
            yield from db.execute(f"SELECT article_id, key, answer, rest FROM cassettes {where} ORDER BY id", args)
        except sqlite3.Error as error:  # not a database, or a damaged page met half-way
            raise self.damaged(error) from error
        finally:
            db.close()

    def iterate(self) -> Iterator[Cassette]:
        """Every cassette, one row at a time: memory stays flat (a cursor, not a list)."""
        for article_id, key, answer, rest in self._select():
            yield self._parse(answer, rest, Cassette, article_id, key)

    def answers(self) -> Iterator[RecordedAnswer]:
        """Every recorded answer (what a replay reads), without inflating the requests."""
        for article_id, key, answer, _ in self._select():
            yield self._parse(answer, None, RecordedAnswer, article_id, key)

    def recorded_keys(self) -> Iterator[tuple[str, str]]:
        for article_id, key, _, _ in self._select():
            yield article_id, key

    def recorded_for(self, article_id: str) -> list[Cassette]:
        rows = self._select("WHERE article_id = ?", (article_id,))
        return [self._parse(answer, rest, Cassette, aid, key) for aid, key, answer, rest in rows]

    def delete(self, article_id: str, key: str) -> None:
        with self._lock:
            db = self._connect(create=False)
            try:
                if db is not None:
                    db.execute("DELETE FROM cassettes WHERE article_id = ? AND key = ?", (article_id, key))
            except sqlite3.Error as error:
                raise self.damaged(error) from error

    def vacuum(self) -> None:
        """Give the space of deleted rows back to the disk (after a prune)."""
        with self._lock:
            db = self._connect(create=False)
            if db is not None:
                db.execute("VACUUM")

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def encode_row(cassette: Cassette, redact: Redactor | None = None) -> tuple[str, str, int, bytes, bytes]:
    """A row: the answer replay reads, and the rest of the (scrubbed) cassette, each compressed.
    Built from the fields directly: pydantic's dump walks the ~5,000-node schema for nothing."""
    clean = scrubbed(cassette)
    answer = {"version": clean.version, "key": clean.key, "latency_s": clean.latency_s, "response": clean.response}
    rest = {
        "version": clean.version,
        "article_id": clean.article_id,
        "attempt": clean.attempt,
        "recorded_at": clean.recorded_at,
        "served_by": clean.served_by,
        "request": clean.request,
    }
    if redact is not None and redact.secrets:  # a key can hide in any string of the request or the answer
        answer, rest = redact.json(answer), redact.json(rest)
    return clean.article_id, clean.key, clean.attempt, _pack(answer), _pack(rest)


def _pack(value: dict[str, Any]) -> bytes:
    return zlib.compress(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(), LEVEL)
