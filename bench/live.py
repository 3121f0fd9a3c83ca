"""The live path: concurrency against a fixed-latency stub, the real local model, prompt tokens."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from scale import synthetic_article

import llmx
from llmx.inputs.articles import Article, load_articles
from llmx.inputs.prompts import load_prompt
from llmx.inputs.schemas import load_schema
from llmx.model import local_server as local

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def stub_process(delay: float) -> Iterator[str]:
    """The stub in its own process, so this process's CPU time is llmx's alone."""
    process = subprocess.Popen(
        [sys.executable, "-m", "llmx.testing.stub_server", "--delay", str(delay)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait()


def concurrency_vs_ideal(sizes: dict[int, int], latency: float) -> list[dict[str, Any]]:
    """``llmx extract --record`` of ``sizes[level]`` articles at each concurrency level against a
    stub that answers after ``latency``: wall time against the ideal ceil(n / level) × latency."""
    import random

    rnd = random.Random(7)
    rows = []
    largest = max(sizes.values())
    with stub_process(latency) as base_url, tempfile.TemporaryDirectory() as work:
        articles = [synthetic_article(n, rnd).model_dump_json(include={"id", "text"}) + "\n" for n in range(largest)]
        for level, count in sizes.items():
            corpus = Path(work) / f"corpus{count}.jsonl"
            corpus.write_text("".join(articles[:count]))
            # `llmx extract corpus.jsonl --record --concurrency N`, as the application runs it
            # one request per article (single), so the ideal is ceil(n / level) round trips
            project = llmx.load_project(
                ROOT, cassettes=Path(work) / f"tape{level}", concurrency=level, timeout=60, strategy="single"
            )
            cpu, wall = time.process_time(), time.perf_counter()
            out = Path(work) / f"run{level}"
            summary = llmx.extract([corpus], project=project, out=out, policy="record", base_url=base_url).summary
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            ideal = math.ceil(count / level) * latency
            rows.append(
                {
                    "concurrency": level,
                    "articles": count,
                    "ok": summary.ok,
                    "wall_s": wall,
                    "ideal_s": ideal,
                    "ratio": wall / ideal,
                    "cpu_ms_per_request": 1000 * cpu / max(summary.live_calls, 1),
                }
            )
    return rows


def local_model(seeds: Path) -> dict[str, Any]:
    """``llmx extract seeds --local --record`` for real, timed; speeds from llama-server's own timings."""
    state = local.up(lambda step: print(f"  local: {step}", file=sys.stderr))
    with tempfile.TemporaryDirectory() as work:
        command = [
            sys.executable,
            "-m",
            "llmx",
            "extract",
            str(seeds),
            "--local",
            "--record",
            "--concurrency",
            "1",
            "--cassettes",
            f"{work}/tape",
            "--out",
            f"{work}/run",
        ]
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        results = [json.loads(line) for line in Path(f"{work}/run/extractions.jsonl").read_text().splitlines()]
        timings = [
            json.loads(p.read_text())["response"].get("timings", {}) for p in Path(f"{work}/tape").rglob("*.json")
        ]
        score = subprocess.run(
            [sys.executable, "-m", "llmx", "score", f"{work}/run", "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    articles = len(results)
    usage = [r["provenance"]["usage"] for r in results]
    completion = sum(u["completion_tokens"] for u in usage)
    scored = json.loads(score.stdout) if score.stdout else {}
    return {
        "articles": articles,
        "wall_s": wall,
        "s_per_article": wall / max(articles, 1),
        "prompt_tokens": sum(u["prompt_tokens"] for u in usage),
        "completion_tokens": completion,
        "requests": sum(r["provenance"]["attempts"] for r in results),
        "prompt_tok_s": _mean(t.get("prompt_per_second") for t in timings),
        "gen_tok_s": _mean(t.get("predicted_per_second") for t in timings),
        "end_to_end_gen_tok_s": completion / wall,
        "incident_f1": scored.get("incidents", {}).get("f1"),
        "field_macro_f1": scored.get("field_macro_f1"),
        "model_sha256": state.model_sha256,
    }


def _mean(values: Any) -> float | None:
    numbers = [v for v in values if isinstance(v, (int, float))]
    return sum(numbers) / len(numbers) if numbers else None


def tokenize(base_url: str, text: str) -> int:
    request = urllib.request.Request(
        base_url.removesuffix("/v1") + "/tokenize",
        data=json.dumps({"content": text}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return len(json.loads(response.read())["tokens"])


def token_economy() -> list[dict[str, Any]]:
    """Tokens each prompt spends on instructions (article left empty), with the model's tokenizer."""
    state = local.up(lambda step: print(f"  local: {step}", file=sys.stderr))
    schema = load_schema("incident", ROOT / "schemas")
    schema_tokens = tokenize(state.base_url, json.dumps(schema.json_schema()))
    seeds = load_articles([str(ROOT / "seeds")])
    rows = []
    for path in sorted((ROOT / "prompts").glob("*.jinja")):
        prompt = load_prompt(path.stem, ROOT / "prompts")
        empty = Article(id="x", text="x")
        instructions = sum(tokenize(state.base_url, m["content"]) for m in prompt.render(empty, schema)) - 1
        articles = [tokenize(state.base_url, a.text) for a in seeds]
        rows.append(
            {
                "prompt": path.stem,
                "instruction_tokens": instructions,
                "schema_json_tokens": schema_tokens,
                "article_tokens_mean": sum(articles) / len(articles),
            }
        )
    return rows
