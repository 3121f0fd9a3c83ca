"""A 200,000-character article, read by the default (evidence) strategy with the local model.

    python bench/long_article.py --local          # record what is missing, time it
    python bench/long_article.py                  # replay what was recorded (runs/cassettes-200k)

The article is assembled at run time from this project's own texts: the long set (long/), then
the challenge set and the seeds, repeated in order until it passes 200,000 characters, each
piece a paragraph block under its own dateline; it is never shipped. It goes into a folder
beside two short articles, so the run shows both that a huge article finishes and that the
others are extracted around it. Cassettes go to runs/cassettes-200k (not the repository's).
Prints the time, requests, tokens, incidents and status per article.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import llmx
from llmx.inputs.articles import load_articles

ROOT = Path(__file__).resolve().parent.parent
TARGET = 200_000


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
    options = parser.parse_args()
    folder = ROOT / "runs" / "bench-200k-input"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "huge_200k.txt").write_text(" date 2024-07-21 " + assemble() + "\n")
    for name in ("c17_two_bases_same_night", "c30_intercepted_vs_hit"):
        shutil.copy(ROOT / "challenge" / f"{name}.txt", folder / f"{name}.txt")
    overrides = {"cassettes": ROOT / "runs" / "cassettes-200k", "concurrency": 1}
    if options.local:
        overrides.update(timeout=1800.0, article_timeout=86_400.0)
    project = llmx.load_project(ROOT, **overrides)
    out = ROOT / "runs" / "bench-200k"
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    run = llmx.extract(
        [str(folder)], project=project, out=out, local=options.local, policy="auto" if options.local else "replay"
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
