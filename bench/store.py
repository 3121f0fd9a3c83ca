"""Which cassette store for a large run? ``python bench/store.py --count 1000000`` writes the
same synthetic cassettes into each backend and measures, each step in a fresh process:

- write: one ``save`` per cassette, each acknowledged before the next (as a recording run does);
- lookup: 10,000 ``load_answer`` at random (article id, key), the store opened cold;
- replay: ``load_answer`` of every cassette in recording order, with the peak memory read at
  10%, 50% and 100% (flat memory: the three stay close);
- disk: bytes allocated on disk;
- two writers: two processes saving 20,000 cassettes each into one store at once;
- kill -9: a writer killed mid-write; every cassette it acknowledged must load, nothing corrupt.

Backends: ``folder`` (llmx.cassettes.folder), ``sqlite`` (llmx.cassettes.sqlite_store) and
``packs`` (bench/store_packs.py, the candidate that lost). The cassettes are synthetic but of
realistic size: a shipped cassette (~8.7 KB: the prompt, the ~5,000-node schema, the answer)
with the article text, ids and answer varied. Data goes to bench/.data/store (gitignored) and is
deleted after; the markdown table goes to bench/STORE.md (``--write``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from llmx.cassettes.backend import CassetteBackend
from llmx.cassettes.store import Cassette, canonical_request

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("LLMX_STORE_BENCH_DIR", ROOT / "bench" / ".data" / "store"))
TEMPLATE = next((ROOT / "cassettes").glob("000_*/*.json"))
WORDS = [
    "drone",
    "rocket",
    "strike",
    "base",
    "officials",
    "said",
    "killed",
    "injured",
    "militia",
    "province",
    "convoy",
    "airbase",
    "claimed",
]


def open_backend(kind: str, root: Path) -> CassetteBackend:
    if kind == "packs":
        from store_packs import PackStore

        return PackStore(root)
    from llmx.cassettes.stores import open_store

    return open_store(kind, root)


def synthetic(count: int, seed: int = 0, prefix: str = "syn") -> Iterator[Cassette]:
    """``count`` cassettes shaped like a shipped one: three requests per article on average."""
    template = json.loads(TEMPLATE.read_text())
    rnd = random.Random(seed)
    user = template["request"]["messages"][1]["content"]
    content = template["response"]["choices"][0]["message"]["content"]
    for n in range(count):
        article_id = f"{prefix}{n // 3:07d}"
        words = " ".join(rnd.choice(WORDS) for _ in range(len(user) // 7))
        request = {
            **template["request"],
            "messages": [
                template["request"]["messages"][0],
                {"role": "user", "content": f"Article id: {article_id}\n{words}"},
            ],
        }
        _, key = canonical_request(request)
        answer = json.dumps({"incidents": [{"location": rnd.choice(WORDS), "killed": rnd.randint(0, 9)}]}) + " " * (
            len(content) - 60
        )
        response = {
            **template["response"],
            "choices": [{**template["response"]["choices"][0], "message": {"role": "assistant", "content": answer}}],
        }
        yield Cassette.model_construct(
            version=1,
            key=key,
            article_id=article_id,
            attempt=n % 3,
            recorded_at=template["recorded_at"],
            latency_s=1.0,
            served_by=template["served_by"],
            request=request,
            response=response,
        )


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Resident memory now (not the peak: a replay that grows shows here)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# --- steps, each run in its own process: python bench/store.py --step NAME KIND ROOT COUNT ---


def step_write(kind: str, root: Path, count: int, seed: int = 0, prefix: str = "syn") -> dict[str, Any]:
    store = open_backend(kind, root)
    spent = 0.0
    for cassette in synthetic(count, seed, prefix):
        started = time.perf_counter()
        store.save(cassette)
        spent += time.perf_counter() - started
    store.close()
    return {"written": count, "save_s": spent, "per_s": count / spent, "peak_mb": peak_mb()}


def all_keys(count: int) -> list[tuple[str, str]]:
    """(article id, key) of the ``count`` synthetic cassettes, in order (made once, then read)."""
    cache = DATA.parent / f"keys-{count}.txt"
    if not cache.is_file():
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text("".join(f"{c.article_id} {c.key}\n" for c in synthetic(count)))
    return [(a, k) for a, k in (line.split() for line in cache.read_text().splitlines())]


def step_lookup(kind: str, root: Path, count: int) -> dict[str, Any]:
    keys = random.Random(7).sample(all_keys(count), min(10_000, count))
    started = time.perf_counter()
    store = open_backend(kind, root)
    first = store.load_answer(*keys[0])  # opens the store (a packs reader loads its index here)
    opened = time.perf_counter() - started
    started = time.perf_counter()
    found = sum(store.load_answer(*pair) is not None for pair in keys[1:])
    spent = time.perf_counter() - started
    return {
        "open_s": opened,
        "us": spent / (len(keys) - 1) * 1e6,
        "found": found + (first is not None),
        "asked": len(keys),
    }


def step_replay(kind: str, root: Path, count: int) -> dict[str, Any]:
    keys = all_keys(count)  # made before the clock starts: the replay's own articles know their keys
    base = rss_mb()
    started = time.perf_counter()
    store = open_backend(kind, root)
    marks, found = {}, 0
    for n, pair in enumerate(keys, start=1):
        found += store.load_answer(*pair) is not None
        if n in (count // 10, count // 2, count):
            marks[f"{round(100 * n / count)}%"] = round(rss_mb() - base, 1)
    return {"replay_s": time.perf_counter() - started, "found": found, "rss_mb_over_keys": marks}


def step_writer(kind: str, root: Path, count: int, seed: int, prefix: str) -> None:
    """Save and print each acknowledged key (for the kill -9 step)."""
    store = open_backend(kind, root)
    for cassette in synthetic(count, seed, prefix):
        store.save(cassette)
        print(f"{cassette.article_id} {cassette.key}", flush=True)


def run_step(*args: Any) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--step", *map(str, args)], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"step {args} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def disk_bytes(root: Path) -> int:
    return int(
        subprocess.run(
            ["du", "-s", "--block-size=1", str(root)], capture_output=True, text=True, check=True
        ).stdout.split()[0]
    )


def two_writers(kind: str, root: Path, each: int = 20_000) -> dict[str, Any]:
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--step", *map(str, ("write", kind, root, each, seed, f"w{seed}x"))],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for seed in (1, 2)
    ]
    outputs = [p.communicate() for p in procs]
    errors = [err.decode()[-500:] for p, (_, err) in zip(procs, outputs, strict=True) if p.returncode]
    wall = time.perf_counter() - started
    each_s = [json.loads(out.decode().strip().splitlines()[-1])["save_s"] for out, _ in outputs if out.strip()]
    store = open_backend(kind, root)
    expected = [(c.article_id, c.key) for seed in (1, 2) for c in synthetic(each, seed, f"w{seed}x")]
    found = sum(store.load_answer(*pair) is not None for pair in expected)
    # saves/s of the two together: both ran at once, so the slower one's time in save() bounds it
    return {
        "wall_s": wall,
        "per_s": 2 * each / max(each_s or [wall]),
        "found": found,
        "expected": len(expected),
        "errors": errors,
    }


def kill_mid_write(kind: str, root: Path, seconds: float = 3.0) -> dict[str, Any]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--step", *map(str, ("writer", kind, root, 10_000_000, 5, "k"))],
        stdout=subprocess.PIPE,
        text=True,
    )
    acked, started = [], time.perf_counter()
    assert proc.stdout is not None
    for line in proc.stdout:
        acked.append(tuple(line.split()))
        if time.perf_counter() - started > seconds:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    acked += [tuple(line.split()) for line in proc.stdout if len(line.split()) == 2]  # printed before the kill
    store = open_backend(kind, root)
    lost = sum(store.load_answer(*pair) is None for pair in acked)
    readable, corrupt = 0, 0
    try:
        for _ in store.iterate():
            readable += 1
    except Exception as error:  # whatever it is, the bench reports it
        corrupt = 1
        print(f"{kind}: corrupt after kill: {error}", file=sys.stderr)
    integrity = "n/a"
    if kind == "sqlite":
        import sqlite3

        integrity = sqlite3.connect(root / "cassettes.sqlite3").execute("PRAGMA integrity_check").fetchone()[0]
    return {"acked": len(acked), "lost": lost, "readable": readable, "corrupt": corrupt, "integrity": integrity}


def measure(kind: str, count: int) -> dict[str, Any]:
    root = DATA / kind
    shutil.rmtree(root, ignore_errors=True)
    row: dict[str, Any] = {"kind": kind, "count": count}
    print(f"{kind}: writing {count:,}", file=sys.stderr, flush=True)
    row["write"] = run_step("write", kind, root, count)
    row["disk_bytes"] = disk_bytes(root)
    subprocess.run(["sync"], check=True)
    print(f"{kind}: lookups", file=sys.stderr, flush=True)
    row["lookup"] = run_step("lookup", kind, root, count)
    print(f"{kind}: replay", file=sys.stderr, flush=True)
    row["replay"] = run_step("replay", kind, root, count)
    shutil.rmtree(root, ignore_errors=True)
    print(f"{kind}: two writers, kill -9", file=sys.stderr, flush=True)
    row["two_writers"] = two_writers(kind, DATA / f"{kind}-two")
    row["kill"] = kill_mid_write(kind, DATA / f"{kind}-kill")
    for extra in ("two", "kill"):
        shutil.rmtree(DATA / f"{kind}-{extra}", ignore_errors=True)
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def markdown(rows: list[dict[str, Any]], command: str) -> str:
    lines = [
        "| backend | cassettes | saves/s | lookup (µs) | replay of all | memory growth in replay (10%, 50%, 100%) "
        "| disk | two writers at once | kill -9 mid-write |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        w, lk, rp, tw, k = r["write"], r["lookup"], r["replay"], r["two_writers"], r["kill"]
        marks = ", ".join(f"{v:+.0f} MB" for v in rp["rss_mb_over_keys"].values())
        lines.append(
            f"| {r['kind']} | {r['count']:,} | {w['per_s']:,.0f} | {lk['us']:.0f} (open {lk['open_s']:.2f} s) | "
            f"{rp['replay_s']:.0f} s ({r['count'] / rp['replay_s']:,.0f}/s), {rp['found']:,} found | {marks} | "
            f"{r['disk_bytes'] / 1e9:.2f} GB | "
            f"{tw['per_s']:,.0f} saves/s, {tw['found']:,}/{tw['expected']:,} readable | "
            f"{k['acked']:,} acknowledged, {k['lost']} lost, {k['corrupt']} corrupt |"
        )
    return "\n".join(lines) + f"\n\nMeasured by `{command}`.\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--only", default="folder,sqlite,packs")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.step:
        name, kind, root, count, *rest = options.step
        extra = [int(rest[0]), rest[1]] if rest else []
        result = {"write": step_write, "lookup": step_lookup, "replay": step_replay, "writer": step_writer}[name](
            kind, Path(root), int(count), *extra
        )
        if result is not None:
            print(json.dumps(result))
        return
    rows = [measure(kind, options.count) for kind in options.only.split(",")]
    if options.json:
        options.json.write_text(json.dumps(rows, indent=2))
    print(markdown(rows, "python bench/store.py " + " ".join(sys.argv[1:])))


if __name__ == "__main__":
    main()
