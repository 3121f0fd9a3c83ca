"""Peak memory of ``llmx extract`` on a Parquet corpus, by rows: flat, because a run streams its
articles (a first pass checks every id and renders every prompt, a second extracts; neither
holds the articles).

``python bench/corpus_memory.py`` (``--quick``: 1k and 10k rows only) prints a table and writes
bench/CORPUS.md. Two measures, each a fresh ``llmx extract`` process, its peak RSS read from
``wait4``:

- **checks before any request**: the corpus with its first id repeated in one more, last row.
  The whole first pass runs (every row read in record batches, every id checked, every prompt
  rendered) and the run is refused, exit 2, before any request: 1k, 10k and 100k rows.
- **a whole run**: the same corpus (without the duplicate) replayed from cassettes recorded once
  from the stub server (``llmx.testing.stub_server``, never a model), 1k and 10k rows.

The texts are bench/scale.py's synthetic articles (~600 characters); files under bench/.data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyarrow as pa
import pyarrow.parquet as pq
from scale import DATA, ROOT, record_corpus, synthetic_corpus


def parquet_corpus(count: int, duplicate: bool) -> Path:
    """bench/scale.py's JSONL corpus as Parquet, written in batches; ``duplicate`` adds a last
    row that repeats the first id."""
    path = DATA / f"corpus_{count}{'_dup' if duplicate else ''}.parquet"
    if path.is_file():
        return path
    source = synthetic_corpus(count)
    schema = pa.schema([("id", pa.string()), ("text", pa.string())])
    with pq.ParquetWriter(path, schema) as writer, source.open() as lines:
        batch: list[dict[str, Any]] = []
        first = None
        for line in lines:
            row = json.loads(line)
            first = first or row
            batch.append(row)
            if len(batch) == 5_000:
                writer.write_table(pa.Table.from_pylist(batch, schema))
                batch = []
        if duplicate and first:
            batch.append({"id": first["id"], "text": "A repeated id."})
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema))
    return path


def measure(command: list[str]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CI")}
    started = dt.datetime.now()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    error = process.stderr.read().decode() if process.stderr else ""
    return {
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "exit": os.waitstatus_to_exitcode(status),
        "wall_s": (dt.datetime.now() - started).total_seconds(),
        "last_line": error.strip().splitlines()[-1] if error.strip() else "",
    }


def llmx(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "llmx", "extract", *map(str, args)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1k and 10k rows only")
    options = parser.parse_args(argv)
    rows = []
    for count in (1_000, 10_000) if options.quick else (1_000, 10_000, 100_000):
        corpus = parquet_corpus(count, duplicate=True)
        out = DATA / f"refused_run_{count}"
        r = measure(llmx(corpus, "--replay", "--out", out))
        assert r["exit"] == 2 and "duplicate article id" in r["last_line"], r
        assert not out.exists(), "refused before any request: no run folder"
        size = corpus.stat().st_size / 2**20
        rows.append(
            (f"checks before any request, {count:,} rows ({size:.1f} MB Parquet)", r, "exit 2, duplicate id found")
        )
    for count in (1_000, 10_000):
        cassettes = DATA / f"cassettes_{count}"
        record_corpus(synthetic_corpus(count), cassettes)  # shared with bench/scale.py
        out = DATA / f"parquet_run_{count}"
        subprocess.run(["rm", "-rf", str(out)], check=True)
        r = measure(llmx(parquet_corpus(count, duplicate=False), "--replay", "--cassettes", cassettes, "--out", out))
        lines = sum(1 for _ in (out / "extractions.jsonl").open())
        rows.append((f"a whole run (replay), {count:,} rows", r, f"exit {r['exit']}, {lines:,} lines"))
    load = os.getloadavg()[0]  # wall times depend on what else runs; CPU time much less
    python = sys.version.split()[0]
    header = f"{dt.date.today().isoformat()} · {os.cpu_count()} cores · load average {load:.1f} · Python {python}"
    table = [
        "# Parquet corpus: peak memory by rows",
        "",
        header,
        "",
        "| measure | peak RSS | CPU | wall | outcome |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, r, outcome in rows:
        table.append(f"| {name} | {r['peak_rss_mb']:.0f} MB | {r['cpu_s']:.1f} s | {r['wall_s']:.1f} s | {outcome} |")
    text = "\n".join(table) + "\n\n`python bench/corpus_memory.py` (bench/corpus_memory.py says what each row runs).\n"
    print(text)
    (ROOT / "bench" / "CORPUS.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
