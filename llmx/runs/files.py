"""Small file and text helpers every layer uses: atomic writes, JSONL split on ``\\n`` only,
timestamps (redaction lives in :mod:`llmx.core.redact`).

JSONL is split on ``\\n`` alone, never with ``str.splitlines()``: scraped news carries U+2028,
U+2029 and U+0085, which JSON keeps raw inside strings and ``splitlines()`` treats as line
breaks, so one such character would make a whole run unreadable.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from llmx.errors import OutputError


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write ``text`` (or bytes) to ``path`` whole or not at all (temp file, fsync, rename)."""
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = _temporary_beside(path)
        with os.fdopen(handle, "wb") as out:
            out.write(text if isinstance(text, bytes) else text.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except OSError as error:
        if temporary is not None:  # a full disk leaves no half file behind
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise cannot_write(path, error) from error


def _temporary_beside(path: Path) -> tuple[int, str]:
    """A new temp file next to ``path`` with the mode ``path`` should end with: the one it has when
    it exists (a chmod is kept), else what any tool's new file gets, 0666 less the umask, which the
    kernel applies itself. ``mkstemp`` gives 0600, and reading the umask to widen that cost a
    /proc read per write. Nothing llmx writes holds a secret (keys are redacted before)."""
    try:
        kept: int | None = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        kept = None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):  # a name taken (by another writer's temp file) is drawn again
        name = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            handle = os.open(name, flags, 0o666)
        except FileExistsError:
            continue
        if kept is not None:
            try:
                os.fchmod(handle, kept)
            except OSError:
                os.close(handle)
                os.unlink(name)
                raise
        return handle, name
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))


def cannot_write(path: Path, error: OSError) -> OutputError:
    """The one line for a write that failed: a full disk says so (and that the run resumes)."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return OutputError(
            f"{path}: cannot write, {error.strerror or 'the disk is full'}; free some space and run the same "
            "command again (what is already written is kept)",
            path,
        )
    if error.errno == errno.EISDIR or path.is_dir():  # the file's own name is taken by a folder
        return OutputError(f"{path}: a folder, where llmx writes a file; move that folder aside", path)
    return OutputError(f"{path.parent}: not writable ({error.strerror or error}); choose another folder", path)


def atomic_create(path: Path, text: str) -> bool:
    """Write ``text`` to a new file ``path``, whole or not at all; False (nothing written) when
    ``path`` already exists, even if another process created it a moment ago (a hard link of
    the finished temp file is made only where no file is)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = _temporary_beside(path)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.link(temporary, path)
        except FileExistsError:
            return False
        finally:
            os.unlink(temporary)
    except OSError as error:
        raise OutputError(f"{path.parent}: not writable ({error.strerror}); choose another folder", path) from error
    return True


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def jsonl_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) for every non-blank line, split on ``\\n`` only."""
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield number, line.removesuffix("\r")


def read_text(path: Path, what: str) -> str:
    """A UTF-8 text file the user wrote (config, prompt), or one clear error naming it."""
    from llmx.errors import UsageError

    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UsageError(
            f"{path}: {what} is not UTF-8 (byte {error.start}); save it as UTF-8, e.g. `iconv -f latin1 -t utf-8`"
        ) from error
    except OSError as error:
        raise UsageError(f"{path}: cannot read {what} ({error.strerror})") from error


# A run folder's own data (what `score`, `view` and resume read): no output of any command replaces one.
RUN_DATA = frozenset({"run.json", "extractions.jsonl", "superseded.jsonl", "batch.json", "articles.jsonl", ".lock"})


def check_writable_file(path: Path, force: bool = False, example: str = "out.csv") -> None:
    """Refuse, before any work, an output file that cannot or should not be written."""
    if path.name in RUN_DATA and (path.parent / "run.json").is_file():
        raise OutputError(f"{path}: is the data of the run in {path.parent}; write elsewhere, e.g. {example}", path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give a file name, e.g. {path / example}", path)
    if not path.parent.is_dir():
        raise OutputError(f"{path.parent}: no such folder; create it first or write elsewhere", path)
    if path.exists() and not force:
        raise OutputError(f"{path}: already exists; pass --force to overwrite it", path)


@contextlib.contextmanager
def folder_lock(folder: Path, wait: float = 30.0) -> Iterator[None]:
    """Hold ``folder``'s lock (``folder/.llmx.lock``, an ``flock``) for a read-modify-write of a
    file in it: two processes editing one folder (two ``llmx annotate`` servers on one gold
    folder) take turns, so neither writes over the other's change. The kernel drops the lock of
    a process that dies. Waits up to ``wait`` seconds for the other, then one clear error."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = (folder / ".llmx.lock").open("a", encoding="utf-8")
    except OSError as error:
        raise OutputError(f"{folder}: not writable ({error.strerror}); choose another folder", folder) from error
    with handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OutputError(
                        f"{folder}: another llmx has held this folder's lock for {wait:.0f} s; try again", folder
                    ) from None
                time.sleep(0.01)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
