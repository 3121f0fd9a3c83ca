"""A run folder on disk: ``extractions.jsonl`` (one line per article, appended as each finishes),
``run.json`` (the manifest: status, recipe, summary) and a lock while a run writes it.

Re-running into the same folder resumes it: finished articles are kept, failed ones redone,
and articles of earlier runs that are not in this run's inputs are kept too. A folder holds the
answers of one recipe (model, prompt, schema, parameters): resuming with another is refused,
naming what differs, unless ``redo_changed`` asks to redo those lines (lines of other articles
made with the old recipe move to ``superseded.jsonl``: nothing is lost).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from datetime import datetime
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from llmx.core.redact import Redactor
from llmx.errors import OutputError, RunError, RunLocked, RunMismatch
from llmx.runs.files import RUN_DATA, atomic_write, cannot_write, jsonl_lines, now_iso
from llmx.runs.results import READABLE_VERSIONS, RUN_VERSION, ArticleResult, Recipe, RunManifest, RunStatus, RunSummary

RESULTS_FILE = "extractions.jsonl"
MANIFEST_FILE = "run.json"
OWN_FILES = RUN_DATA | {"extractions.csv", "extractions.parquet", "events.jsonl"}  # what llmx writes in a run


def new_run_dir(runs_dir: Path) -> Path:
    """A fresh ``runs/<timestamp>`` folder, made here and now: ``mkdir`` without ``exist_ok`` is
    atomic, so two runs started in the same second (two processes, or two ``llmx.extract`` calls)
    get ``<timestamp>`` and ``<timestamp>-2``, never one folder between them."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        for number in range(1, 10_000):
            folder = runs_dir / (stamp if number == 1 else f"{stamp}-{number}")
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            return folder
    except OSError as error:
        raise OutputError(
            f"{runs_dir}: cannot make a run folder here ({error.strerror}); pass --out", runs_dir
        ) from error
    raise OutputError(f"{runs_dir}: 10,000 runs started this second; pass --out", runs_dir)


def run_target(out: Path | None, runs_dir: Path, reserved: dict[str, Path]) -> Path:
    """The run folder to write: ``out``, else a new one under ``runs_dir``. ``out`` may not be or lie
    inside a folder the project keeps other things in (``reserved``: gold, cassettes, prompts,
    schemas): a run written there would mix its files with theirs (``score`` would read the run's
    ``run.json`` as gold, ``gold check`` would fail on it)."""
    if out is None:
        return new_run_dir(runs_dir)
    target, runs = out.resolve(), runs_dir.resolve()
    for what, folder in reserved.items():
        kept = folder.resolve()
        if kept == runs or kept in runs.parents:
            continue  # a project that keeps, say, its prompts in its root: runs/ is inside it
        if target == kept or kept in target.parents:
            where = f"the project's {what} folder" if target == kept else f"inside the project's {what} folder"
            raise OutputError(f"{out}: is {where}; a run written there would mix with it: pass --out runs/NAME", out)
    return out


def is_run_folder(path: Path) -> bool:
    return (path / MANIFEST_FILE).is_file() or (path / RESULTS_FILE).is_file()


def read_manifest(run: Path) -> RunManifest | None:
    path = run / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        manifest = RunManifest.model_validate_json(path.read_bytes())
    except OSError as error:
        raise RunError(f"{path}: cannot read the run manifest ({error.strerror}); check its permissions") from error
    except ValidationError as error:
        raise RunError(f"{path}: not an llmx run manifest ({error.errors()[0]['msg']})") from error
    if manifest.version not in READABLE_VERSIONS:
        raise RunError(f"{path}: run version {manifest.version}; this llmx reads versions up to {RUN_VERSION}")
    return manifest


def read_results(run: Path, missing_ok: bool = False) -> list[ArticleResult]:
    """Every article's latest line. A crash mid-write leaves at most one half line, the last."""
    path = run / RESULTS_FILE if run.is_dir() or not run.suffix else run
    if not path.is_file():
        if missing_ok:
            return []
        raise RunError(f"{run}: no {RESULTS_FILE} here; pass a run folder written by `llmx extract`")
    try:
        # utf-8-sig: a file saved by an editor that adds a byte-order mark is read all the same
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as error:
        raise RunError(f"{path}: cannot read the run ({error.strerror}); check its permissions") from error
    lines = list(jsonl_lines(text))
    results: dict[str, ArticleResult] = {}
    for position, (number, line) in enumerate(lines, start=1):
        try:
            result = ArticleResult.model_validate_json(line)
        except ValidationError as error:
            if position == len(lines) and not text.endswith("\n"):
                continue  # the half-written last line of a killed run
            raise RunError(f"{path}:{number}: not an llmx extraction line ({error.errors()[0]['msg']})") from error
        if result.version not in READABLE_VERSIONS:
            raise RunError(
                f"{path}:{number}: run version {result.version}; this llmx reads versions up to {RUN_VERSION}"
            )
        results[result.article_id] = result  # a later line for the same article wins
    return list(results.values())


def _lock(out: Path) -> IO[str]:
    handle = (out / ".lock").open("a", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise RunLocked(
            f"{out}: another llmx is writing this run folder; wait for it, or pass another --out", out
        ) from None
    return handle


class RunWriter:
    """Appends one line per finished article, written whole and flushed at once.

    A flushed line survives the process being killed (it is in the kernel); ``fsync`` guards
    against the machine dying, and costs ~0.2 ms, so it runs at most once a second and at close.
    Whatever an OS crash could take back is in the cassettes and replays on the next run.
    """

    FSYNC_INTERVAL = 1.0

    def __init__(
        self,
        out: Path,
        manifest: RunManifest,
        recipe: Recipe,
        redo_changed: bool = False,
        redact: Redactor | None = None,
    ) -> None:
        self.out = out
        self.jsonl = out / RESULTS_FILE
        self.redact = redact or Redactor()  # every line and the manifest, as written
        try:
            out.mkdir(parents=True, exist_ok=True)
            self._lock = _lock(out)
        except OSError as error:  # read-only, a file in the way, a full disk...
            raise OutputError(
                f"{out}: cannot write the run here ({error.strerror}); pass --out to another folder", out
            ) from error
        try:
            self._open(manifest, recipe, redo_changed)
        except BaseException:
            self._lock.close()
            raise

    def _open(self, manifest: RunManifest, recipe: Recipe, redo_changed: bool) -> None:
        existing = read_results(self.out, missing_ok=True)
        sha = recipe.sha256
        wanted = set(manifest.article_ids)
        # A failed line of this run's articles is redone anyway; any other line of another recipe is stale.
        redone = [r.status == "failed" and r.article_id in wanted for r in existing]
        stale = [
            r for r, again in zip(existing, redone, strict=True) if r.provenance.recipe_sha256 != sha and not again
        ]
        if stale and not redo_changed:
            self._refuse_mismatch(stale, recipe)
        kept = [
            r
            for r in existing
            if r.provenance.recipe_sha256 == sha and (r.status == "ok" or r.article_id not in wanted)
        ]
        self._set_aside([r for r in stale if r.article_id not in wanted])
        # Rewrite what is kept (drops redone lines and a half-written last line) before appending.
        atomic_write(self.jsonl, "".join(self._line(r) for r in kept))
        self._handle = self.jsonl.open("a", encoding="utf-8")
        self.done = {r.article_id: r for r in kept if r.article_id in wanted}
        self.failed: list[ArticleResult] = []  # this run's failures, for the closing report
        self.folder_summary = RunSummary.of(kept)
        manifest.article_ids = list(dict.fromkeys([*(r.article_id for r in kept), *manifest.article_ids]))
        manifest.recipe = recipe.model_dump()
        self.manifest = manifest
        self._synced = time.monotonic()
        self.write_manifest()

    def _refuse_mismatch(self, stale: list[ArticleResult], recipe: Recipe) -> None:
        previous = read_manifest(self.out)
        old = previous.recipe if previous and previous.recipe else {}
        what = recipe.differences(old) if old else ["made by an earlier llmx that recorded no recipe"]
        raise RunMismatch(
            f"{self.out}: {len(stale)} article(s) here were made with other settings ({'; '.join(what)}); "
            "pass another --out, or --redo-changed to redo them",
            self.out,
            what,
        )

    def _set_aside(self, superseded: list[ArticleResult]) -> None:
        """Lines of another recipe for articles this run does not redo: kept in superseded.jsonl."""
        if not superseded:
            return
        try:
            with (self.out / "superseded.jsonl").open("a", encoding="utf-8") as handle:
                handle.writelines(self._line(r) for r in superseded)
        except OSError as error:
            raise cannot_write(self.out / "superseded.jsonl", error) from error

    def _line(self, result: ArticleResult) -> str:
        return self.redact.text(result.model_dump_json(by_alias=True)) + "\n"

    def append(self, result: ArticleResult) -> None:
        if result.status == "failed":
            self.failed.append(result)
        self.folder_summary.add(result)
        try:
            self._handle.write(self._line(result))
            self._handle.flush()
            if time.monotonic() - self._synced >= self.FSYNC_INTERVAL:
                os.fsync(self._handle.fileno())
                self._synced = time.monotonic()
        except OSError as error:
            raise cannot_write(self.jsonl, error) from error

    def write_manifest(self) -> None:
        atomic_write(self.out / MANIFEST_FILE, self.redact.text(self.manifest.model_dump_json(indent=2)) + "\n")

    @property
    def closed(self) -> bool:
        return self._lock.closed

    def close(self, status: RunStatus, wall_s: float = 0.0, error: str | None = None) -> None:
        """Flush the lines, write the manifest, release the lock (released even when a full disk
        makes the rest fail: the folder is never left locked by a process that is done)."""
        try:
            if not self._handle.closed:
                try:
                    self._handle.flush()
                    os.fsync(self._handle.fileno())
                except OSError as problem:
                    raise cannot_write(self.jsonl, problem) from problem
                finally:
                    with contextlib.suppress(OSError):
                        self._handle.close()
            self.manifest.status = status
            self.manifest.finished_at = now_iso()
            self.folder_summary.wall_s = wall_s
            self.manifest.summary = self.folder_summary
            self.manifest.error = error
            self.write_manifest()
        finally:
            self._lock.close()
