"""Extraction quality and cost per strategy, on the sets with gold, each measured separately.

    python bench/quality.py                      # replay the recorded cassettes (offline)
    python bench/quality.py --local              # record what is missing from the local model first
    python bench/quality.py --sets devset        # only some sets (dev, seeds, long, events, devset)

Sets: ``dev`` = seeds/ + challenge/ (short, written to isolate one trap each), ``seeds`` = the five
seed articles alone, ``long`` = long/ (4,000-7,300 characters, many incidents each), ``events`` =
events/ (several outlets per attack), ``devset`` = the 40 real published articles of
../shared/devset (measured when the folder is there; its cassettes go to runs/cassettes-devset,
never into the repository, since requests hold the article text). The devset is reported whole
and as two fixed halves: ``tune`` (the articles at even positions of the sorted ids: the only ones
looked at while writing rules) and ``held-out`` (odd positions: measured, never tuned on).

Each row runs the application's own use cases (the Python API: llmx.extract, llmx.score) with the
project's settings (the README's commands: no option but the strategy) into
runs/bench-quality-<set>-<row>, then prints incident P/R/F1, attacker F1, field macro-F1, the
incidents written on articles whose gold has none, tokens, requests and seconds per article (the
model's time as recorded with each answer; with --local, also the run's own wall time per
article), and failures. Writes bench/QUALITY.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import time
from datetime import date
from pathlib import Path
from typing import Any

import llmx

ROOT = Path(__file__).resolve().parent.parent
DEVSET = Path(os.environ.get("LLMX_DEVSET", ROOT.parent / "shared" / "devset"))  # a worktree sets LLMX_DEVSET
SETS: dict[str, tuple[list[Path], Path | None, Path | None]] = {  # name: (inputs, gold, cassettes)
    "dev": ([ROOT / "seeds", ROOT / "challenge"], None, None),
    "seeds": ([ROOT / "seeds"], None, None),
    "long": ([ROOT / "long"], None, None),
    "events": ([ROOT / "events"], None, None),
    "devset": ([DEVSET / "articles"], DEVSET / "gold", ROOT / "runs" / "cassettes-devset"),
}
STRATEGIES = ("single", "evidence")


def halves(gold: Path) -> dict[str, list[str]]:
    """The devset's fixed split: tune = even positions of the sorted article ids, held-out = odd."""
    ids = sorted(p.stem for p in gold.glob("*.json"))
    return {"all": ids, "tune": ids[0::2], "held-out": ids[1::2]}


def subset_gold(gold: Path, ids: list[str], name: str) -> Path:
    folder = ROOT / "runs" / f"bench-gold-{name}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for article_id in ids:
        shutil.copy(gold / f"{article_id}.json", folder / f"{article_id}.json")
    return folder


def run_set(set_name: str, strategy: str, local: bool, concurrency: int) -> tuple[Path, Any, float]:
    inputs, _, cassettes = SETS[set_name]
    overrides: dict[str, Any] = {"strategy": strategy, "concurrency": concurrency}
    if cassettes is not None:
        overrides["cassettes"] = cassettes
    if local:  # a loaded machine answers slowly: what is measured is the model, not a timeout
        overrides.update(timeout=1800.0)
    project = llmx.load_project(ROOT, **overrides)
    out = ROOT / "runs" / f"bench-quality-{set_name}-{strategy}"
    shutil.rmtree(out, ignore_errors=True)  # measure this code on these cassettes, not a resumed folder
    started = time.perf_counter()
    run = llmx.extract(
        [str(p) for p in inputs], project=project, out=out, local=local, policy="auto" if local else "replay"
    )
    return out, (project, run), time.perf_counter() - started


def row(name: str, out: Path, project: Any, run: Any, gold: Path | None, ids: list[str] | None, wall: float | None):
    scored = llmx.score(out, project=project, gold=gold)
    score = scored.score
    results = [r for r in run.results if ids is None or r.article_id in ids]
    n = max(len(results), 1)
    gold_counts = {aid: a.incidents.tp + a.incidents.fn for aid, a in score.articles.items()}
    on_none = sum(len(r.incidents) for r in results if gold_counts.get(r.article_id, 1) == 0)
    tokens = sum(r.provenance.usage.prompt_tokens + r.provenance.usage.completion_tokens for r in results)
    cached = sum(r.provenance.usage.cached_tokens or 0 for r in results)
    requests = sum(r.provenance.attempts for r in results)
    attacker = score.fields.get("attacker")
    return {
        "row": name,
        "P": score.incidents.precision,
        "R": score.incidents.recall,
        "F1": score.incidents.f1,
        "attacker F1": attacker.f1 if attacker is not None else float("nan"),
        "field macro-F1": score.field_macro_f1 if score.field_macro_f1 is not None else float("nan"),
        "incidents on no-attack articles": on_none,
        "tokens/article": tokens / n,
        "cached tokens/article": cached / n,
        "requests/article": requests / n,
        "model s/article": sum(r.provenance.latency_s for r in results) / n,
        "wall s/article": wall / n if wall is not None else float("nan"),
        "failed": sum(r.status == "failed" for r in results),
    }


def cell(key: str, value: object) -> str:
    if isinstance(value, float) and value != value:
        return "–"
    if key.startswith(("tokens", "cached")):
        return f"{value:,.0f}"
    if "s/article" in key or key.startswith("requests"):
        return f"{value:.1f}"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def table(rows: list[dict[str, Any]]) -> str:
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(cell(k, v) for k, v in r.items()) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--local", action="store_true", help="record what is missing from the local model")
    parser.add_argument(
        "--sets", default="dev,long,events,devset", help="comma-separated: dev, seeds, long, events, devset"
    )
    parser.add_argument("--strategies", default=",".join(STRATEGIES), help="comma-separated strategies")
    parser.add_argument("--concurrency", type=int, default=2, help="articles at once (the local server's slots)")
    options = parser.parse_args()
    sections = []
    for set_name in options.sets.split(","):
        inputs, gold, _ = SETS[set_name]
        if not all(p.is_dir() for p in inputs):
            print(f"{set_name}: {inputs[0]} is not here; skipped")
            continue
        parts = halves(gold) if gold is not None else {"all": None}
        rows: list[dict[str, Any]] = []
        for strategy in options.strategies.split(","):
            out, (project, run), wall = run_set(set_name, strategy, options.local, options.concurrency)
            for part, ids in parts.items():
                part_gold = subset_gold(gold, ids, f"{set_name}-{part}") if gold is not None and ids else gold
                label = strategy + ("" if part == "all" else f", {part}")
                share = None if ids is None else len(ids) / max(len(parts["all"] or ids), 1)
                measured = wall * share if (options.local and share is not None) else (wall if options.local else None)
                rows.append(row(label, out, project, run, part_gold, ids, measured))
        articles = len(rows) and len(llmx_articles(inputs))
        text = f"### {set_name} ({articles} articles)\n\n{table(rows)}"
        print(text + "\n")
        sections.append(text)
    (ROOT / "bench" / "QUALITY.md").write_text(
        "# Extraction quality\n\nLocal Qwen2.5-Coder-1.5B Q4_K_M, temperature 0, the project's own settings; "
        f"`python bench/quality.py` on {date.today()}, {platform.machine()}. 'model s/article' is the model's "
        "time as recorded with each answer (this machine's 2 cores are shared, so it is noisy). The devset's "
        "halves: tune = even positions of the sorted ids, held-out = odd (never tuned on).\n\n"
        + "\n\n".join(sections)
        + "\n"
    )


def llmx_articles(inputs: list[Path]) -> list[Any]:
    from llmx.inputs.articles import load_articles

    return load_articles([str(p) for p in inputs])


if __name__ == "__main__":
    main()
