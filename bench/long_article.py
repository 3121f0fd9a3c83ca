"""A 200,000-character article, read by the evidence strategy (chunks) with the local model.

    python bench/long_article.py --local          # record what is missing, time it
    python bench/long_article.py                  # replay what was recorded (runs/cassettes-200k)
    python bench/long_article.py --stub           # the same run against a stub that answers a record
                                                  # for every sentence with an attack word: llmx's
                                                  # own path (chunks, requests, fold, checks), no model

The article is assembled at run time from this project's own texts: the long set (long/), then
the challenge set and the seeds, repeated in order until it passes 200,000 characters, each
piece a paragraph block under its own dateline; it is never shipped. It goes into a folder
beside two short articles, so the run shows both that a huge article finishes and that the
others are extracted around it. Cassettes go to runs/cassettes-200k (not the repository's).
Prints the time, requests, tokens, incidents and status per article.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import llmx
from llmx.inputs.articles import load_articles
from llmx.model import live
from llmx.testing.fake_model import Reply, schema_answer
from llmx.testing.stub_server import StubServer

ROOT = Path(__file__).resolve().parent.parent
TARGET = 200_000
NUMBERED = re.compile(r"^\[(\d+)\] (.*)$", re.M)
ATTACK = re.compile(r"\b(drone|strike|struck|rocket|missile|shell|attack|bomb)", re.I)


def marker(body: dict[str, Any], _number: int) -> Reply:
    """A stub, not a model: answers one record (any the schema allows) resting on each numbered
    sentence with an attack word."""
    user = body["messages"][-1]["content"]
    template = json.loads(schema_answer(body).content)
    items = template.get("incidents") or []
    if not items:
        return Reply(content=json.dumps({"incidents": []}))
    found = [int(n) for n, text in NUMBERED.findall(user) if ATTACK.search(text)][:16]
    return Reply(content=json.dumps({"incidents": [{**items[0], "sentences": [n]} for n in found]}))


def assemble() -> str:
    pieces = [a.text for a in load_articles([str(ROOT / "long"), str(ROOT / "challenge"), str(ROOT / "seeds")])]
    parts, size, index = [], 0, 0
    while size < TARGET:
        text = pieces[index % len(pieces)]
        parts.append(text)
        size += len(text) + 2
        index += 1
    return "Regional security roundup: a month of reports\n\n" + "\n\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--local", action="store_true", help="record what is missing from the local model")
    parser.add_argument("--stub", action="store_true", help="against a stub, not a model: llmx's own time")
    options = parser.parse_args()
    folder = ROOT / "runs" / "bench-200k-input"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "huge_200k.txt").write_text(" date 2024-07-21 " + assemble() + "\n")
    for name in ("c17_two_bases_same_night", "c30_intercepted_vs_hit"):
        shutil.copy(ROOT / "challenge" / f"{name}.txt", folder / f"{name}.txt")
    overrides: dict[str, Any] = {"cassettes": ROOT / "runs" / "cassettes-200k", "concurrency": 1}
    overrides["strategy"] = "evidence"  # any length, in chunks
    if options.local:  # two requests at once: `llmx local up --slots 2` serves both
        overrides.update(timeout=1800.0, article_timeout=86_400.0, concurrency=2)
    with ExitStack() as stack:
        base_url = None
        if options.stub:
            scratch = ROOT / "runs" / "cassettes-200k-stub"
            shutil.rmtree(scratch, ignore_errors=True)
            overrides.update(cassettes=scratch, concurrency=8)
            stack.enter_context(live.override_allow_model_requests(True))
            base_url = stack.enter_context(StubServer(script=marker)).base_url
        project = llmx.load_project(ROOT, **overrides)
        out = ROOT / "runs" / "bench-200k"
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        policy = "auto" if options.local else "record" if options.stub else "replay"
        run = llmx.extract(
            [str(folder)], project=project, out=out, local=options.local, base_url=base_url, policy=policy
        )
        wall = time.perf_counter() - started
    chars = {a.id: len(a.text) for a in load_articles([str(folder)])}
    print(f"wall {wall:,.0f} s for {len(chars)} articles")
    for result in run.results:
        p = result.provenance
        tokens = p.usage.prompt_tokens + p.usage.completion_tokens if p else 0
        print(
            f"{result.article_id}: {chars[result.article_id]:,} chars, {result.status}"
            f"{' (' + result.error.kind + ')' if result.error else ''}, {len(result.incidents)} incidents, "
            f"{p.attempts if p else 0} requests, {tokens:,} tokens, model time {p.latency_s if p else 0:,.0f} s"
        )


if __name__ == "__main__":
    main()
