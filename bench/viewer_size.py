"""Size and render time of the viewer page at 1,000 seed-sized articles, 2 incidents each.

Synthetic but shaped like the seeds: each article is a seed text (about 2.5k characters) under
a new id, its two incidents quote two of its sentences (grounded at their offsets), and gold
has one matching incident and one the run misses, so every kind of card is on the page.

    python bench/viewer_size.py [ARTICLES]
"""

from __future__ import annotations

import random
import re
import sys
import time
from pathlib import Path
from typing import Any

from llmx.core.grounding import ground
from llmx.core.scoring import score_run
from llmx.inputs.aliases import load_aliases
from llmx.inputs.articles import load_articles
from llmx.inputs.schemas import load_schema
from llmx.runs.results import ArticleResult, ExtractedRecord, Provenance, Usage
from llmx.viewer.page import ViewRun, render_view

ROOT = Path(__file__).resolve().parent.parent
PLACES = ["Erbil", "Kirkuk", "Ain al-Asad airbase", "Al-Shaddadi", "Baghdad", "Mosul"]
GROUPS = ["Islamic Resistance in Iraq", "Kataib Hezbollah", "US forces", "Hezbollah"]
WEAPONS = ["drone", "rocket", "missile", "air/drone strike"]


def record(rnd: random.Random, evidence: str) -> dict[str, Any]:
    group = rnd.choice(GROUPS)
    return {
        "date": f"2024-0{rnd.randint(1, 9)}-1{rnd.randint(0, 9)}",
        "date_text": "on Sunday",
        "location": rnd.choice(PLACES),
        "admin_region": None,
        "country": "Iraq",
        "attacker": group,
        "claimed_by": rnd.choice([group, None]),
        "target": "a military base housing US troops",
        "weapon": rnd.choice(WEAPONS),
        "intercepted": rnd.choice([True, False, None]),
        "killed": rnd.choice([0, 1, 3, None]),
        "injured": None,
        "evidence": evidence,
    }


def build(count: int) -> ViewRun:
    rnd = random.Random(count)
    seeds = load_articles([str(ROOT / "seeds")])
    results, texts, gold, predictions = [], {}, {}, {}
    for number in range(count):
        seed = seeds[number % len(seeds)]
        article_id = f"syn{number:06d}"
        texts[article_id] = seed.text
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", seed.text) if len(s) > 60]
        incidents = []
        for sentence in rnd.sample(sentences, 2):
            incidents.append(ExtractedRecord(record=record(rnd, sentence), grounding=ground(sentence, seed.text)))
        provenance = Provenance(
            model="m", prompt="incident", prompt_sha256="0", schema="incident", schema_sha256="0", mode="replay"
        )
        provenance.usage = Usage(prompt_tokens=1000, completion_tokens=290)
        results.append(ArticleResult(article_id=article_id, status="ok", incidents=incidents, provenance=provenance))
        predictions[article_id] = [item.record for item in incidents]
        gold[article_id] = [dict(incidents[0].record), record(rnd, sentences[0])]
    schema = load_schema("incident", ROOT / "schemas")
    aliases = load_aliases(ROOT / "schemas" / "aliases.yaml")
    score = score_run(predictions, gold, schema.fields, aliases, schema.evidence_field)
    return ViewRun("synthetic", results, texts, score)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    run = build(count)
    render_view([run])  # warm: template compilation is a one-off
    started = time.perf_counter()
    page = render_view([run])
    elapsed = time.perf_counter() - started
    size = len(page.encode("utf-8"))
    started = time.perf_counter()
    pair = len(render_view([run, run]).encode("utf-8"))
    elapsed_pair = time.perf_counter() - started
    text = sum(len(t.encode("utf-8")) for t in run.texts.values())
    print(f"{count:,} articles, {sum(len(r.incidents) for r in run.results):,} incidents")
    print(f"one run:  {size / 1e6:.2f} MB in {elapsed:.2f} s ({size / count / 1e3:.1f} kB per article)")
    print(f"two runs: {pair / 1e6:.2f} MB in {elapsed_pair:.2f} s")
    print(f"article text alone: {text / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
