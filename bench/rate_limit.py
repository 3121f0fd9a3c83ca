"""Adaptive concurrency against a rate-limited server: does llmx settle at the server's rate?

The stub on 127.0.0.1 lets N requests a second through (a token bucket) and answers the rest
429 with a Retry-After saying when a token is back. llmx runs as `llmx extract --record` does
(through llmx.extract), its concurrency set far above what the rate needs, so only its
AIMD controller keeps it from hammering the server. Bounded: a fixed number of articles, and
the stub stops with the run.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path
from typing import Any

from scale import synthetic_article

import llmx
from llmx.testing.fake_model import TokenBucket, always, rate_limited, schema_answer
from llmx.testing.stub_server import StubServer

ROOT = Path(__file__).resolve().parent.parent


def rate_limited_run(
    articles: int, rate: float = 40.0, burst: float = 4.0, latency: float = 0.1, concurrency: int = 32
) -> dict[str, Any]:
    answers: list[tuple[float, int]] = []
    script = rate_limited(always(schema_answer), TokenBucket(rate, burst), answers)
    rnd = random.Random(11)
    with tempfile.TemporaryDirectory() as work, StubServer(script=script, delay=latency) as server:
        corpus = Path(work) / "corpus.jsonl"
        corpus.write_text(
            "".join(synthetic_article(n, rnd).model_dump_json(include={"id", "text"}) + "\n" for n in range(articles))
        )
        project = llmx.load_project(  # single: one request per article, as the limit counts them
            ROOT, cassettes=Path(work) / "tape", concurrency=concurrency, max_attempts=20, timeout=30, strategy="single"
        )
        started = time.perf_counter()
        run = llmx.extract([corpus], project=project, out=Path(work) / "run", policy="record", base_url=server.base_url)
        wall = time.perf_counter() - started
        outcome = run.outcome
        rate_control = outcome.rate
    ok = [t for t, status in answers if status == 200]
    throttled = sum(1 for _, status in answers if status == 429)
    # Steady state: from the first to the last admitted request; the first second is the
    # controller finding the rate from concurrency 32, and is counted in the 429 share.
    span = (ok[-1] - ok[0]) if len(ok) > 1 else wall
    return {
        "articles": articles,
        "rate": rate,
        "ok": outcome.summary.ok,
        "wall_s": wall,
        "throughput": (len(ok) - 1) / span if span else 0.0,
        "answers": len(answers),
        "throttled": throttled,
        "throttled_share": throttled / max(len(answers), 1),
        "lowest_window": rate_control.stats.lowest_window if rate_control else None,
        "final_window": rate_control.window if rate_control else None,
        "cuts": rate_control.stats.cuts if rate_control else None,
    }


if __name__ == "__main__":
    import json
    import sys

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    print(json.dumps(rate_limited_run(count), indent=2))
