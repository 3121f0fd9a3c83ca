"""How long `llmx --help` takes: the command a user types first, and the cost every command pays
before it starts. ``python bench/startup.py [--runs 15]``.

Runs the installed ``llmx`` entry point (or ``python -m llmx`` when it is not on PATH) with
``--help`` ``--runs`` times after one warm-up, and prints the median and the fastest wall time,
and the heaviest imports of ``llmx.cli.main`` (``python -X importtime``). Target (issue 32):
median under 0.3 s. On a busy machine the median moves with the load; the fastest run is the
machine's best case.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def command() -> list[str]:
    entry = shutil.which("llmx")
    return [entry, "--help"] if entry else [sys.executable, "-m", "llmx", "--help"]


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def heaviest_imports(count: int) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) of the slowest imports under llmx.cli.main."""
    trace = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import llmx.cli.main"], capture_output=True, text=True, check=True
    ).stderr
    rows = []
    for line in trace.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].strip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    options = parser.parse_args()
    argv = command()
    timed(argv)  # warm-up: the first run after an install reads every file from disk
    times = [timed(argv) for _ in range(options.runs)]
    median = statistics.median(times)
    verdict = "met" if median < 0.3 else "MISSED"
    print(f"`{' '.join(argv)}` over {options.runs} runs:")
    print(f"  median {median:.3f} s, fastest {min(times):.3f} s (target: median < 0.3 s: {verdict})")
    print("  heaviest imports of llmx.cli.main (cumulative ms):")
    for micros, module in heaviest_imports(8):
        print(f"    {micros / 1000:7.1f}  {module}")


if __name__ == "__main__":
    main()
