"""The local model on this machine: one or two server slots, llama.cpp's prompt cache on or off.

    python bench/local_slots.py

For each setting, restarts `llmx local` that way, re-records the five seeds (strategy single,
client concurrency = slots) into a scratch cassette folder through the application's own
extraction use case, and reports seconds per article, completion tokens per second, and how
many answers are identical, token for token, to the shipped cassettes (which were recorded with
one slot and no prompt cache). Writes bench/LOCAL.md. Restarts the server as it found it.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import llmx
from llmx.model import local_server as local

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = [(1, False), (2, False), (1, True), (2, True)]  # (slots, prompt cache)


def same_as_shipped(tape: Path) -> tuple[int, int]:
    """(identical answers, answers) comparing each recorded answer with the shipped one of its key."""
    same = total = 0
    for path in tape.rglob("*.json"):
        shipped = ROOT / "cassettes" / path.parent.name / path.name
        if not shipped.is_file():
            continue
        total += 1
        mine = json.loads(path.read_text())["response"]["choices"][0]["message"]
        theirs = json.loads(shipped.read_text())["response"]["choices"][0]["message"]
        same += mine == theirs
    return same, total


def measure(slots: int, cache: bool, scratch: Path) -> dict[str, object]:
    say = lambda step: print(f"local: {step}", file=sys.stderr)  # noqa: E731
    local.down()
    local.up(say, slots=slots, cache_prompt=cache)
    tape = scratch / f"tape-{slots}-{cache}"
    project = llmx.load_project(
        ROOT, concurrency=slots, cassettes=tape, extra_body={"cache_prompt": cache}, strategy="single"
    )
    out = scratch / f"run-{slots}-{cache}"
    started = time.perf_counter()
    run = llmx.extract([ROOT / "seeds"], project=project, out=out, local=True, policy="record")
    wall = time.perf_counter() - started
    results = run.results
    completion = sum(r.provenance.usage.completion_tokens for r in results)
    same, total = same_as_shipped(tape)
    return {
        "slots": slots,
        "prompt cache": "on" if cache else "off",
        "s/article": wall / max(len(results), 1),
        "completion tok/s": completion / wall,
        "identical to shipped": f"{same}/{total}",
        "failed": run.summary.failed,
    }


def main() -> None:
    was_running = local.status() is not None
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        try:
            for slots, cache in SETTINGS:
                rows.append(measure(slots, cache, Path(scratch)))
                print(rows[-1], file=sys.stderr)
        finally:
            local.down()
            if was_running:
                local.up(lambda step: None)
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for row in rows:
        lines.append("| " + " | ".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in row.values()) + " |")
    text = "\n".join(lines)
    print(text)
    (ROOT / "bench" / "LOCAL.md").write_text(
        f"# The local model, measured\n\n`python bench/local_slots.py` on {date.today()}: the five seeds re-recorded "
        f"with each setting (2 cores, Qwen2.5-Coder-1.5B Q4_K_M, threads = cores).\n\n{text}\n"
    )


if __name__ == "__main__":
    main()
