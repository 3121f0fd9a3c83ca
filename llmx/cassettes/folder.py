"""The folder backend: one readable JSON file per request, at
``<cassettes>/<article id>/<key[:20]>.json``, written atomically (temp file + fsync + rename).
What the fixtures committed to git use: a diff shows what the model said, a merge rarely
conflicts. At a million requests it is a million files (bench/STORE.md): use ``sqlite`` there.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from llmx.cassettes.backend import MissDiagnosis
from llmx.cassettes.store import Cassette, Loaded, RecordedAnswer, read_cassette, readable_json, scrubbed
from llmx.core.redact import Redactor
from llmx.errors import CassetteError, OutputError
from llmx.runs.files import atomic_write


class CassetteStore(MissDiagnosis):
    """Cassettes as files, one folder per article."""

    kind = "folder"

    def __init__(self, root: Path, redact: Redactor | None = None) -> None:
        self.root = root
        self.redact = redact or Redactor()  # every cassette written: served_by, request and answer

    def where(self, article_id: str) -> Path:
        return self.root / article_id

    def location(self, article_id: str, key: str) -> str:
        return str(self.path_for(article_id, key))

    def path_for(self, article_id: str, key: str) -> Path:
        # Article ids are validated where they are read; this is the last line of defence.
        if not article_id or "/" in article_id or "\\" in article_id or article_id.startswith("."):
            raise CassetteError(f"article id {article_id!r} would leave the cassette folder {self.root}", self.root)
        return self.root / article_id / f"{key[:20]}.json"

    def exists(self, article_id: str, key: str) -> bool:
        return self.path_for(article_id, key).is_file()

    def load(self, article_id: str, key: str) -> Cassette | None:
        return self._load(article_id, key, Cassette)

    def load_answer(self, article_id: str, key: str) -> RecordedAnswer | None:
        """What replay needs: the response and its latency, without building the stored request."""
        return self._load(article_id, key, RecordedAnswer)

    def _load(self, article_id: str, key: str, model: type[Loaded]) -> Loaded | None:
        path = self.path_for(article_id, key)
        if not path.is_file():
            return None
        cassette = read_cassette(path, model)
        if cassette.key != key:
            raise CassetteError(
                f"{path}: holds key {cassette.key[:20]}…, not {key[:20]}…; delete the file to re-record", path
            )
        return cassette

    def check_writable(self) -> None:
        """Before the first paid request: an answer that cannot be saved is money thrown away."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            # A probe of its own: two checks at once (the Ray engine's workers) must not race.
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".llmx-write-check-"):
                pass
        except OSError as error:
            raise OutputError(
                f"{self.root}: cassette folder not writable ({error.strerror}); pass --cassettes to another folder",
                self.root,
            ) from error

    def save(self, cassette: Cassette) -> Path:
        path = self.path_for(cassette.article_id, cassette.key)
        # a key can hide in any string of the request or the answer: redacted in the text written
        atomic_write(path, self.redact.text(readable_json(scrubbed(cassette).model_dump(mode="json"))) + "\n")
        return path

    def recorded_for(self, article_id: str) -> list[Cassette]:
        folder = self.root / article_id
        if not folder.is_dir():
            return []
        return [read_cassette(path) for path in sorted(folder.glob("*.json"))]

    def _files(self) -> Iterator[Path]:
        if not self.root.is_dir():
            return
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            yield from sorted(folder.glob("*.json"))

    def iterate(self) -> Iterator[Cassette]:
        """Every cassette, one at a time (memory stays flat), article by article."""
        for path in self._files():
            yield read_cassette(path)

    def recorded_keys(self) -> Iterator[tuple[str, str]]:
        """(article id, key) of every cassette; the key read from the file (its name is a prefix)."""
        for path in self._files():
            answer = read_cassette(path, RecordedAnswer)
            yield path.parent.name, answer.key

    def delete(self, article_id: str, key: str) -> None:
        path = self.path_for(article_id, key)
        path.unlink(missing_ok=True)
        if path.parent.is_dir() and not any(path.parent.iterdir()):
            path.parent.rmdir()

    def close(self) -> None:
        """Nothing held open: every file is written whole."""
