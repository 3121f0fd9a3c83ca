"""What a ``--batch`` run has sent to the provider, kept in its run folder so that no batch is
ever submitted twice, whatever stops the process (Ctrl-C, ``kill -9``, a reboot).

``batch.json`` lists every batch file with its state, written atomically at each step:

    written   the JSONL request file is in ``batch/`` (nothing sent yet)
    uploaded  the provider holds the file: ``input_file_id``
    creating  a batch is being created from it: on resume, llmx first looks for a batch made
              out of that file (the provider may have made it before the process died)
    submitted ``batch_id`` known: resume polls it
    collected its answers are cassettes, its failed lines listed: they apply until the run ends
    closed    the run that used it finished
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from llmx.errors import RunError
from llmx.runs.files import atomic_write
from llmx.runs.results import Usage

BATCH_FILE = "batch.json"
BATCH_DIR = "batch"
# The OpenAI Batch API's limits per input file.
MAX_REQUESTS = 50_000
MAX_BYTES = 200 * 1024 * 1024

BatchState = Literal["written", "uploaded", "creating", "submitted", "collected", "closed"]


class BatchRecord(BaseModel):
    round: int
    part: int
    file: str  # the request file, relative to the run folder
    requests: int
    state: BatchState = "written"
    input_file_id: str | None = None
    batch_id: str | None = None
    status: str | None = None  # the provider's: validating, in_progress, completed, expired...
    failed: dict[str, str] = {}  # custom_id → why that line has no answer
    answered: dict[str, Usage] = {}  # custom_id → its tokens: what the run paid for it
    ignored: list[str] = []  # output lines that could not be read or answer nothing sent (skipped)


class BatchLedger(BaseModel):
    version: int = 1
    records: list[BatchRecord] = []


class BatchStore:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.path = run_dir / BATCH_FILE
        self.ledger = self._read()

    def _read(self) -> BatchLedger:
        if not self.path.is_file():
            return BatchLedger()
        try:
            return BatchLedger.model_validate_json(self.path.read_bytes())
        except OSError as error:
            raise RunError(f"{self.path}: cannot read the batch ledger ({error.strerror})") from error
        except ValidationError as error:
            raise RunError(f"{self.path}: not an llmx batch ledger ({error.errors()[0]['msg']})") from error

    def save(self) -> None:
        atomic_write(self.path, self.ledger.model_dump_json(indent=1) + "\n")

    @property
    def open(self) -> list[BatchRecord]:
        return [r for r in self.ledger.records if r.state != "closed"]

    @property
    def unsettled(self) -> list[BatchRecord]:
        """Sent, or about to be, and not collected yet."""
        return [r for r in self.ledger.records if r.state not in ("collected", "closed")]

    @property
    def next_round(self) -> int:
        return max((r.round for r in self.ledger.records), default=0) + 1

    def failed_lines(self) -> dict[str, str]:
        return {cid: why for r in self.open for cid, why in r.failed.items()}

    def paid(self) -> dict[str, Usage]:
        return {cid: usage for r in self.open for cid, usage in r.answered.items()}

    def write_round(self, lines: Iterable[bytes], max_requests: int = MAX_REQUESTS, max_bytes: int = MAX_BYTES) -> None:
        """Split the round's request lines into files within the API's limits and record them."""
        number = self.next_round
        for part, chunk in enumerate(split_lines(lines, max_requests, max_bytes), start=1):
            name = f"{BATCH_DIR}/round-{number}-part-{part}.jsonl"
            atomic_write(self.run_dir / name, b"".join(chunk).decode())
            self.ledger.records.append(BatchRecord(round=number, part=part, file=name, requests=len(chunk)))
        self.save()

    def close(self) -> None:
        for record in self.open:
            record.state = "closed"
        self.save()


def split_lines(lines: Iterable[bytes], max_requests: int, max_bytes: int) -> list[list[bytes]]:
    """Consecutive chunks of at most ``max_requests`` lines and ``max_bytes`` bytes each."""
    chunks: list[list[bytes]] = []
    current: list[bytes] = []
    size = 0
    for line in lines:
        if len(line) > max_bytes:
            raise RunError(f"one batch request is {len(line):,} bytes, over the {max_bytes:,}-byte file limit")
        if current and (len(current) >= max_requests or size + len(line) > max_bytes):
            chunks.append(current)
            current, size = [], 0
        current.append(line)
        size += len(line)
    if current:
        chunks.append(current)
    return chunks
