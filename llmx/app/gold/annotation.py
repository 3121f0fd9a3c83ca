"""The annotate use case: a run's articles, each with its gold (or draft) file, edited one change
at a time. The HTTP face is :mod:`llmx.app.gold.annotate_server`; this module holds no socket.

Every edit reads the file as it is on disk, applies the change (:mod:`llmx.app.gold.edits`),
validates the whole file as ``llmx gold check`` does, and writes it atomically before it answers:
a change the page shows as saved is on disk, whatever happens to the server next. Edits are
serialised by one lock per gold folder, across threads and processes (two servers on one folder
take turns: each applies its edit to the file as the other left it); incidents carry ids that
stay valid while the server writes the file.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmx.app.gold.annotation_view import evidence_spans, run_records
from llmx.app.gold.draft import draft_file, draft_incident, project_schema
from llmx.app.gold.edits import EditContext, apply_edit
from llmx.errors import EditConflict, GoldError, UsageError
from llmx.inputs.config import Settings
from llmx.inputs.gold import GoldFile, dump_gold, dump_gold_data, validate_incidents
from llmx.inputs.schemas import SchemaSpec
from llmx.runs.files import atomic_create, atomic_write, folder_lock, read_text
from llmx.runs.folder import read_results
from llmx.runs.results import ArticleResult
from llmx.viewer.annotate import field_controls
from llmx.viewer.highlight import highlight


def read_list(path: Path) -> list[str]:
    """Article ids from a list file (``llmx sample``): one per line, ``#`` starts a comment."""
    ids = [line.split("#", 1)[0].strip() for line in read_text(path, "the article list").split("\n")]
    return list(dict.fromkeys(i for i in ids if i))


@dataclass
class AnnotationSession:
    run: Path
    settings: Settings
    gold_dir: Path
    schema: SchemaSpec
    results: dict[str, ArticleResult]
    texts: dict[str, str]
    order: list[str]
    agree_with: Path | None = None  # the other side of the agreement panel (default: the run)
    notes: list[str] = field(default_factory=list)
    generation: str = field(default_factory=lambda: secrets.token_hex(3))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # article → (etag, incident ids)
    _files: dict[Path, tuple[tuple[int, int, int], Any]] = field(default_factory=dict)  # path → (stat, what _read gave)
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    @classmethod
    def open(
        cls,
        run: Path,
        settings: Settings,
        gold_dir: Path | None = None,
        articles: list[str] | None = None,
        list_file: Path | None = None,
        schema_name: str | None = None,
        agree_with: Path | None = None,
    ) -> AnnotationSession:
        from llmx.app.evaluation.calibration import doubt_order
        from llmx.app.evaluation.view_page import load_texts

        results = read_results(run)
        if not results:
            raise UsageError(f"{run}: the run holds no article to annotate")
        schema = project_schema(results, settings, schema_name)
        notes: list[str] = []
        texts = load_texts([run], articles or [], notes, settings=settings)
        by_id = {r.article_id: r for r in results}
        order = doubt_order(results, settings) or sorted(by_id)  # the least sure first, when it says
        if list_file is not None:
            wanted = read_list(list_file)
            absent = [i for i in wanted if i not in by_id]
            if absent:
                notes.append(
                    f"{len(absent)} article(s) of {list_file} are not in {run}, left out: {', '.join(absent[:5])}"
                )
            order = [i for i in wanted if i in by_id]
            if not order:
                raise UsageError(f"{list_file}: none of its articles is in {run}; pass the run it was sampled from")
        folder = gold_dir or settings.gold
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"{folder}: not a folder; pass --gold DIR")
        return cls(run, settings, folder, schema, by_id, texts, order, agree_with, notes)

    # --- reading ------------------------------------------------------------------------

    def path(self, article_id: str) -> Path:
        if article_id not in self.results:
            raise UsageError(f"no article '{article_id}' in {self.run}")
        return self.gold_dir / f"{article_id}.json"

    def _read(self, article_id: str, fresh: bool = False) -> tuple[dict[str, Any] | None, str | None, str | None]:
        """(the file's JSON, its etag, why it cannot be edited) — (None, None, None) if absent.
        ``fresh`` (an edit) reads the disk; otherwise a file is read again only when it changed
        (inode, size or mtime): the list shows every file's state after each edit, and a folder
        of a thousand files is not re-validated each time."""
        path = self.path(article_id)
        return self._parse(path) if fresh else self._cached(path)

    def _cached(self, path: Path) -> tuple[dict[str, Any] | None, str | None, str | None]:
        try:
            stat = path.stat()
        except OSError as error:
            return _unreadable(path, error)
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        cached = self._files.get(path)
        if cached is None or cached[0] != key:
            cached = self._files[path] = (key, self._parse(path))
        data, etag, problem = cached[1]
        return copy.deepcopy(data), etag, problem

    def _parse(self, path: Path) -> tuple[dict[str, Any] | None, str | None, str | None]:
        try:
            raw = path.read_bytes()
        except OSError as error:
            return _unreadable(path, error)
        etag = hashlib.sha256(raw).hexdigest()[:16]
        try:
            data = json.loads(raw.decode("utf-8-sig"))
            gold = GoldFile.from_data(data, path)
            validate_incidents(path, gold, self.schema)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return None, etag, f"{path}: not valid JSON ({error}); fix it, then reload"
        except GoldError as error:
            return data if isinstance(data, dict) else None, etag, f"{error}; fix the file, then reload"
        return data, etag, None

    def _ids_for(self, article_id: str, etag: str, count: int) -> list[str]:
        cached = self._ids.get(article_id)
        if cached and cached[0] == etag and len(cached[1]) == count:
            return list(cached[1])
        ids = [self._new_id() for _ in range(count)]
        self._ids[article_id] = (etag, ids)
        return list(ids)

    def _new_id(self) -> str:
        return f"{self.generation}-{next(self._counter)}"

    def index(self) -> list[dict[str, Any]]:
        """Per article, in order: whether it has gold, a draft, or nothing; counts for the list."""
        rows = []
        for article_id in self.order:
            data, _, problem = self._read(article_id)
            incidents = (data or {}).get("incidents") or []
            status = "invalid" if problem else ("none" if data is None else str(data.get("status", "reviewed")))
            pending = sum(1 for i in incidents if isinstance(i, dict) and i.get("pending"))
            rows.append({"id": article_id, "status": status, "incidents": len(incidents), "pending": pending})
        return rows

    def article(self, article_id: str) -> dict[str, Any]:
        with self._lock:
            return self._payload(article_id)

    def _payload(self, article_id: str) -> dict[str, Any]:
        data, etag, problem = self._read(article_id)
        text = self.texts.get(article_id)
        incidents = list((data or {}).get("incidents") or [])
        ids = self._ids_for(article_id, etag, len(incidents)) if etag else []
        spans = evidence_spans(incidents, text, self.schema.evidence_field)
        marks = [(s[0], s[1], i) for i, s in enumerate(spans) if s]
        result = self.results[article_id]
        return {
            "id": article_id,
            "position": self.order.index(article_id) if article_id in self.order else -1,
            "text_html": str(highlight(text, marks, article_id)) if text is not None else None,
            "file": str(self.path(article_id)),
            "exists": data is not None or problem is not None,
            "status": None if data is None else data.get("status", "reviewed"),
            "drafted_from": None if data is None else data.get("drafted_from"),
            "problem": problem,
            "etag": etag,
            "incidents": [
                {"id": i, "data": incident, "span": span}
                for i, incident, span in zip(ids, incidents, spans, strict=True)
            ],
            "run": run_records(result, incidents if problem is None else [], self.schema, self.settings),
            "failed": f"{result.error.kind}: {result.error.message}" if result.error else None,
            "events": self._event_names(),
        }

    def _event_names(self) -> list[str]:
        """Every event name in the gold folder, for the page's suggestions."""
        names: set[str] = set()
        for path in sorted(self.gold_dir.glob("*.json")) if self.gold_dir.is_dir() else []:
            data = self._cached(path)[0]
            for incident in (data or {}).get("incidents") or []:
                if isinstance(incident, dict) and isinstance(incident.get("event"), str):
                    names.add(incident["event"])
        return sorted(names)

    # --- writing ------------------------------------------------------------------------

    def edit(self, article_id: str, edit: dict[str, Any]) -> dict[str, Any]:
        """Apply one edit, write the file, and return the article as it now is. Raises
        :class:`EditConflict` (stale: the page should show the file as it is) or
        :class:`GoldError` (refused: the reason), having written nothing."""
        with self._lock, folder_lock(self.gold_dir):  # threads here, other servers on this folder there
            path = self.path(article_id)
            if edit.get("op") == "create":
                self._create(article_id, path, edit)
                return self._payload(article_id)
            data, etag, problem = self._read(article_id, fresh=True)
            if problem:
                raise GoldError(problem)
            if data is None or etag is None:
                raise EditConflict(f"{path} is gone (deleted outside the page?); create it again")
            ids = self._ids_for(article_id, etag, len(data.get("incidents") or []))
            result = self.results[article_id]
            text = self.texts.get(article_id)

            def run_record(index: int) -> dict[str, Any]:
                if not 0 <= index < len(result.incidents):
                    raise GoldError(f"the run has no record #{index + 1} for this article")
                incident = draft_incident(result.incidents[index], text, self.schema)
                incident.pop("pending", None)  # the person chose it
                return incident

            context = EditContext(path, self.schema, text, run_record)
            apply_edit(data, ids, edit, context, self._new_id())
            written = dump_gold_data(data)
            atomic_write(path, written)
            self._ids[article_id] = (hashlib.sha256(written.encode()).hexdigest()[:16], ids)
            return self._payload(article_id)

    def _create(self, article_id: str, path: Path, edit: dict[str, Any]) -> None:
        result = self.results[article_id]
        if edit.get("from") == "run":
            gold = draft_file(result, self.texts.get(article_id), self.schema, str(self.run))
        else:
            gold = GoldFile(
                version=1, article_id=article_id, schema_name=self.schema.name, incidents=[], status="draft"
            )
        if not atomic_create(path, dump_gold(gold)):
            raise EditConflict(f"{path} was created meanwhile (another tab?); the page shows it now")

    def agreement(self) -> dict[str, Any]:
        """The agreement panel: the gold folder (reviewed files) against --agree-with or the run."""
        from llmx.app.gold.agreement import agree, agreement_json

        other = self.agree_with or self.run
        with self._lock:
            found = agree(self.gold_dir, other, self.settings, self.schema.name)
        return {**agreement_json(found), "a_name": str(self.gold_dir), "b_name": str(other)}

    def page_config(self) -> dict[str, Any]:
        return {
            "run": str(self.run),
            "gold": str(self.gold_dir),
            "fields": field_controls(self.schema),
            "evidence": self.schema.evidence_field,
            "order": self.order,
            "notes": self.notes,
        }


def _unreadable(path: Path, error: OSError) -> tuple[None, None, str | None]:
    """A gold file that cannot be read: absent is no file (no problem); else why."""
    if isinstance(error, FileNotFoundError):
        return None, None, None
    return None, None, f"{path}: cannot read ({error.strerror})"
