"""A run on disk: ``extractions.jsonl`` (one line per article, appended as each finishes) and
``run.json`` (the manifest). Both are versioned pydantic models, so an old or foreign file fails
loudly. Re-running into the same folder keeps the articles already done and redoes the rest.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from llmx.cassettes import atomic_write
from llmx.errors import OutputError, RunError
from llmx.grounding import Grounding

RUN_VERSION = 1


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ExtractedRecord(BaseModel):
    record: dict[str, Any]
    grounding: Grounding | None = None


class Failure(BaseModel):
    kind: str
    message: str
    last_output: str | None = None


class Provenance(BaseModel):
    model: str
    prompt: str
    prompt_sha256: str
    schema_name: str = Field(alias="schema")
    schema_sha256: str
    mode: str
    usage: Usage = Usage()
    attempts: int = 0
    live_calls: int = 0
    replayed_calls: int = 0
    grounding_reasks: int = 0
    latency_s: float = 0.0
    cassette_keys: list[str] = []

    model_config = {"populate_by_name": True}


class ArticleResult(BaseModel):
    version: int = RUN_VERSION
    article_id: str
    status: Literal["ok", "failed"]
    incidents: list[ExtractedRecord] = []
    error: Failure | None = None
    provenance: Provenance

    @property
    def ungrounded(self) -> int:
        return sum(1 for item in self.incidents if item.grounding and not item.grounding.grounded)


class RunSummary(BaseModel):
    articles: int = 0
    ok: int = 0
    failed: int = 0
    incidents: int = 0
    ungrounded: int = 0
    grounding_reasks: int = 0
    live_calls: int = 0
    replayed_calls: int = 0
    usage: Usage = Usage()
    failures: dict[str, int] = {}
    wall_s: float = 0.0

    def add(self, result: ArticleResult) -> None:
        self.articles += 1
        self.ok += result.status == "ok"
        self.failed += result.status == "failed"
        self.incidents += len(result.incidents)
        self.ungrounded += result.ungrounded
        p = result.provenance
        self.grounding_reasks += p.grounding_reasks
        self.live_calls += p.live_calls
        self.replayed_calls += p.replayed_calls
        self.usage.prompt_tokens += p.usage.prompt_tokens
        self.usage.completion_tokens += p.usage.completion_tokens
        if result.error:
            self.failures[result.error.kind] = self.failures.get(result.error.kind, 0) + 1


class RunManifest(BaseModel):
    version: int = RUN_VERSION
    status: Literal["running", "complete", "interrupted"]
    started_at: str
    finished_at: str | None = None
    command: list[str] = []
    settings: dict[str, Any] = {}
    article_ids: list[str] = []
    summary: RunSummary = RunSummary()


def default_run_dir(runs_dir: Path) -> Path:
    return runs_dir / datetime.now().strftime("%Y%m%d-%H%M%S")


class RunWriter:
    """Appends one line per finished article, written whole and flushed at once.

    A flushed line survives the process being killed (it is in the kernel); ``fsync`` guards
    against the machine dying, and costs ~0.2 ms, so it runs at most once a second and at close.
    Whatever an OS crash could take back is in the cassettes and replays on the next run.
    """

    FSYNC_INTERVAL = 1.0

    def __init__(self, out: Path, manifest: RunManifest) -> None:
        self.out = out
        self.manifest = manifest
        self.jsonl = out / "extractions.jsonl"
        try:
            out.mkdir(parents=True, exist_ok=True)
            kept = [
                r
                for r in read_results(out, missing_ok=True)
                if r.status == "ok" and r.article_id in manifest.article_ids
            ]
            # Rewrite what is kept (drops failed lines and a half-written last line) before appending.
            atomic_write(self.jsonl, "".join(r.model_dump_json(by_alias=True) + "\n" for r in kept))
            self._handle = self.jsonl.open("a", encoding="utf-8")
        except OSError as error:  # read-only, a file in the way, a full disk...
            raise OutputError(
                f"{out}: cannot write the run here ({error.strerror}); pass --out to another folder"
            ) from error
        self.done = {r.article_id: r for r in kept}
        self.failed: list[ArticleResult] = []  # this run's failures, for the closing report
        self._synced = time.monotonic()
        self.write_manifest()

    def append(self, result: ArticleResult) -> None:
        if result.status == "failed":
            self.failed.append(result)
        self._handle.write(result.model_dump_json(by_alias=True) + "\n")
        self._handle.flush()
        if time.monotonic() - self._synced >= self.FSYNC_INTERVAL:
            os.fsync(self._handle.fileno())
            self._synced = time.monotonic()

    def write_manifest(self) -> None:
        atomic_write(self.out / "run.json", self.manifest.model_dump_json(indent=2) + "\n")

    def close(self, status: Literal["complete", "interrupted"], summary: RunSummary) -> None:
        if not self._handle.closed:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
        self.manifest.status = status
        self.manifest.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.manifest.summary = summary
        self.write_manifest()


def read_results(run: Path, missing_ok: bool = False) -> list[ArticleResult]:
    path = run / "extractions.jsonl" if run.is_dir() or not run.suffix else run
    if not path.is_file():
        if missing_ok:
            return []
        raise RunError(f"{run}: no extractions.jsonl here; pass a run folder written by `llmx extract`")
    results: dict[str, ArticleResult] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            result = ArticleResult.model_validate_json(line)
        except ValidationError as error:
            if number == len(lines) and not line.rstrip().endswith("}"):
                continue  # a crash mid-write leaves at most one half line, always the last
            raise RunError(f"{path}:{number}: not an llmx extraction line ({error.errors()[0]['msg']})") from error
        results[result.article_id] = result  # a later line for the same article wins
    return list(results.values())


def to_csv(results: list[ArticleResult]) -> str:
    """One row per incident (articles without any get one empty row), for spreadsheets."""
    field_names: list[str] = []
    for result in results:
        for item in result.incidents:
            field_names += [name for name in item.record if name not in field_names]
    columns = ["article_id", "status", "incident", *field_names, "grounding", "evidence_start", "evidence_end", "error"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for result in sorted(results, key=lambda r: r.article_id):
        base = {
            "article_id": result.article_id,
            "status": result.status,
            "error": result.error.message if result.error else "",
        }
        if not result.incidents:
            writer.writerow(base)
        for number, item in enumerate(result.incidents, start=1):
            row = dict(base, incident=number, **{k: _cell(v) for k, v in item.record.items()})
            if item.grounding:
                row.update(
                    grounding=item.grounding.status,
                    evidence_start=item.grounding.start,
                    evidence_end=item.grounding.end,
                )
            writer.writerow(row)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (dict, list)) else value
