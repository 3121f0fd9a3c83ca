"""The third candidate of bench/store.py, kept here because it lost: sharded append-only packs.

Each writing process appends to its own pack file (``<root>/packs/<host>-<pid>-<n>.pack``), so
no two processes ever write one file (safe on a network share); each record is framed (length,
crc32) and zlib-compressed, answer and rest apart as in the SQLite backend; an offset index
(``.idx``: article id, key, offset per line) is appended after each record. A reader loads every
index into one dict; a torn tail (kill -9 mid-write) fails its crc and is skipped.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llmx.cassettes.backend import MissDiagnosis
from llmx.cassettes.sqlite_store import encode_row
from llmx.cassettes.store import Cassette, RecordedAnswer

FRAME = struct.Struct("<III")  # answer length, rest length, crc32 of both


class PackStore(MissDiagnosis):
    kind = "packs"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / "packs"
        self._out: Any = None
        self._idx: Any = None
        self._index: dict[tuple[str, str], tuple[Path, int]] | None = None
        self._handles: dict[Path, Any] = {}

    def where(self, article_id: str) -> Path:
        return self.folder

    def location(self, article_id: str, key: str) -> str:
        return f"{self.folder}#{article_id}/{key[:20]}"

    def check_writable(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    def _open_writer(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{socket.gethostname()}-{os.getpid()}-{len(list(self.folder.glob('*.pack')))}"
        self._pack_path = self.folder / f"{name}.pack"
        self._out = self._pack_path.open("ab")
        self._idx = (self.folder / f"{name}.idx").open("a", encoding="utf-8")

    def save(self, cassette: Cassette) -> str:
        if self._out is None:
            self._open_writer()
        _, _, _, answer, rest = encode_row(cassette)  # the same encoding as the SQLite backend
        offset = self._out.tell()
        self._out.write(FRAME.pack(len(answer), len(rest), zlib.crc32(answer + rest)) + answer + rest)
        self._out.flush()  # in the kernel: survives kill -9
        self._idx.write(f"{cassette.article_id}\t{cassette.key}\t{offset}\n")
        self._idx.flush()
        if self._index is not None:
            self._index[(cassette.article_id, cassette.key)] = (self._pack_path, offset)
        return self.location(cassette.article_id, cassette.key)

    def _load_index(self) -> dict[tuple[str, str], tuple[Path, int]]:
        if self._index is None:
            index: dict[tuple[str, str], tuple[Path, int]] = {}
            for idx in sorted(self.folder.glob("*.idx")) if self.folder.is_dir() else ():
                pack = idx.with_suffix(".pack")
                for line in idx.read_text(encoding="utf-8").split("\n"):
                    parts = line.split("\t")
                    if len(parts) == 3 and parts[2].isdigit():  # a torn last line is skipped
                        index[(parts[0], parts[1])] = (pack, int(parts[2]))
            self._index = index
        return self._index

    def _read(self, pack: Path, offset: int) -> tuple[bytes, bytes] | None:
        handle = self._handles.get(pack) or self._handles.setdefault(pack, pack.open("rb"))
        handle.seek(offset)
        head = handle.read(FRAME.size)
        if len(head) < FRAME.size:
            return None
        a, r, crc = FRAME.unpack(head)
        body = handle.read(a + r)
        if len(body) < a + r or zlib.crc32(body) != crc:
            return None  # torn by a kill mid-write: never acknowledged
        return body[:a], body[a:]

    def exists(self, article_id: str, key: str) -> bool:
        return (article_id, key) in self._load_index()

    def load_answer(self, article_id: str, key: str) -> RecordedAnswer | None:
        where = self._load_index().get((article_id, key))
        blobs = self._read(*where) if where else None
        return RecordedAnswer.model_validate_json(zlib.decompress(blobs[0])) if blobs else None

    def load(self, article_id: str, key: str) -> Cassette | None:
        where = self._load_index().get((article_id, key))
        blobs = self._read(*where) if where else None
        if not blobs:
            return None
        return Cassette.model_validate(
            {**json.loads(zlib.decompress(blobs[0])), **json.loads(zlib.decompress(blobs[1]))}
        )

    def recorded_keys(self) -> Iterator[tuple[str, str]]:
        yield from list(self._load_index())

    def iterate(self) -> Iterator[Cassette]:
        for article_id, key in self.recorded_keys():
            cassette = self.load(article_id, key)
            if cassette is not None:
                yield cassette

    def recorded_for(self, article_id: str) -> list[Cassette]:
        return [c for (a, k) in self._load_index() if a == article_id if (c := self.load(a, k))]

    def delete(self, article_id: str, key: str) -> None:
        raise NotImplementedError("packs are append-only: prune rewrites them")

    def close(self) -> None:
        for handle in (self._out, self._idx, *self._handles.values()):
            if handle is not None:
                handle.close()
        self._out = self._idx = None
        self._handles = {}
