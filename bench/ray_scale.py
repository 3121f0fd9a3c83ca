"""The Ray engine against the stub server: throughput at 1, 2 and 4 workers, and the share of
429s under one shared rate limit. ``python bench/ray_scale.py`` (needs ``pip install 'llmx-incidents[ray]'``).

- throughput: a stub that answers every request after ``--latency`` seconds (1 s by default),
  ``--concurrency`` articles in flight per worker (32), each article one request (the stub's
  answers validate at once). Steady state is requests reaching the stub per second, from the
  first to the last; the wall time includes Ray's start of the workers.
- rate limit: the same corpus against a stub that takes ``--rate`` requests/s (a token bucket,
  429 + Retry-After beyond), all workers sharing one adaptive window.

Ray is started once (``num_cpus=2``, this machine), as ``llmx extract --engine ray`` does.
Prints a markdown table (``--write`` adds it to bench/RAY.md).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ray
import ray.data
from scale import synthetic_article

import llmx
from llmx.runs.results import ArticleResult
from llmx.testing.fake_model import Reply, TokenBucket, always, rate_limited, schema_answer
from llmx.testing.stub_server import StubServer

ROOT = Path(__file__).resolve().parent.parent


def one_run(workers: int, articles: int, concurrency: int, latency: float, rate: float | None) -> dict[str, Any]:
    answers: list[tuple[float, int]] = []
    sent: list[float] = []  # when each request reached the stub: the throughput the model sees
    inner = always(schema_answer)

    def timed(body: dict[str, Any], number: int) -> Reply:
        sent.append(time.monotonic())
        return inner(body, number)

    script: Any = timed
    if rate is not None:
        script = rate_limited(script, TokenBucket(rate, 4.0), answers)
    arrived: list[float] = []
    rnd = random.Random(workers)
    with tempfile.TemporaryDirectory() as work, StubServer(script=script, delay=latency) as server:
        corpus = Path(work) / "corpus.jsonl"
        corpus.write_text(
            "".join(synthetic_article(n, rnd).model_dump_json(include={"id", "text"}) + "\n" for n in range(articles))
        )
        project = llmx.load_project(  # single: one request per article, so articles/s is requests/s
            ROOT, cassettes=Path(work) / "tape", concurrency=concurrency, timeout=60, max_attempts=20, strategy="single"
        )
        started = time.perf_counter()

        def note(result: ArticleResult) -> None:
            arrived.append(time.perf_counter())

        run = llmx.extract(
            [corpus],
            project=project,
            out=Path(work) / "run",
            policy="record",
            base_url=server.base_url,
            engine="ray",
            ray_workers=workers,
            on_result=note,
        )
        wall = time.perf_counter() - started
        requests = len(server.requests)
    # Steady state: requests reaching the stub, from the first to the last (the driver gets results
    # in bursts, as Ray hands back blocks, so its own clock would flatter the rate).
    span = sent[-1] - sent[0] if len(sent) > 1 else wall
    throttled = sum(1 for _, status in answers if status == 429)
    return {
        "workers": workers,
        "articles": articles,
        "ok": run.summary.ok,
        "wall_s": wall,
        "steady_per_s": (len(sent) - 1) / span if span else 0.0,
        "results": len(arrived),
        "requests": requests,
        "throttled": throttled,
        "throttled_share": throttled / max(len(answers), 1),
        "rate": rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--articles", type=int, default=0, help="per run (default: 30 per slot, ~30 s of work)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--rate", type=float, default=40.0, help="requests/s the rate-limited stub takes")
    parser.add_argument("--rate-articles", type=int, default=1000)
    options = parser.parse_args()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    rows = []
    for workers in (int(w) for w in options.workers.split(",")):
        count = options.articles or 30 * options.concurrency * workers  # ~30 s of steady work at any count
        result = one_run(workers, count, options.concurrency, options.latency, None)
        print(result, file=sys.stderr, flush=True)
        limited = one_run(workers, options.rate_articles, options.concurrency, 0.1, options.rate)
        print(limited, file=sys.stderr, flush=True)
        rows.append((result, limited))
    ray.shutdown()
    base = rows[0][0]["steady_per_s"]
    limit = f"{options.rate:g} req/s ({options.rate_articles} articles, 100 ms stub)"
    print(
        "| workers × concurrency | articles | articles/s (steady) | × 1 worker | wall, start-up included "
        f"| 429s, {limit} |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for result, limited in rows:
        share = f"{limited['throttled']}/{limited['requests']} = {100 * limited['throttled_share']:.1f}%"
        print(
            f"| {result['workers']} × {options.concurrency} | {result['ok']}/{result['articles']} | "
            f"{result['steady_per_s']:.1f} | {result['steady_per_s'] / base:.2f} | {result['wall_s']:.1f} s | "
            f"{share} (ok {limited['ok']}) |"
        )
    print(f"\nMeasured by `python bench/ray_scale.py {' '.join(sys.argv[1:])}` against a {options.latency:g} s stub.")


if __name__ == "__main__":
    main()
