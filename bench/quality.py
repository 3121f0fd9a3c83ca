"""Extraction quality per prompt and strategy, on the dev set (seeds + challenge set) with gold.

    python bench/quality.py                 # replay the recorded cassettes (offline)
    python bench/quality.py --local         # record what is missing from the local model first

Each row runs the application's own use cases (the Python API: llmx.extract, llmx.score) into
runs/bench-quality-<row>, then prints incident P/R/F1, field macro-F1, the invented dates and
zeros that remain (a matched record with a date or a 0 where gold has null), values the checks
removed, tokens and seconds per article. Writes bench/QUALITY.md.
"""

from __future__ import annotations

import argparse
import platform
import shutil
from datetime import date
from pathlib import Path

import llmx
from llmx import Scored

ROOT = Path(__file__).resolve().parent.parent
INPUTS = [str(ROOT / "seeds"), str(ROOT / "challenge")]
ROWS = {  # name: (prompt, strategy)
    "v2 single (before)": ("incident_v2", "single"),
    "v3 single": ("incident", "single"),
    "v3 two_pass": ("incident", "two_pass"),
}


def invented(scored: Scored) -> tuple[int, int]:
    """Dates and zeros on matched records where gold has null: what the article did not support."""
    dates = zeros = 0
    for article in scored.score.articles.values():
        for pair in article.matched:
            if pair.optional:
                continue
            dates += pair.predicted.get("date") is not None and pair.gold.get("date") is None
            zeros += sum(
                pair.predicted.get(name) == 0 and pair.gold.get(name) is None for name in ("killed", "injured")
            )
    return dates, zeros


def measure(name: str, prompt: str, strategy: str, local: bool) -> dict[str, object]:
    project = llmx.load_project(ROOT, prompt=prompt, strategy=strategy, concurrency=1)
    out = ROOT / "runs" / f"bench-quality-{prompt}-{strategy}"
    shutil.rmtree(out, ignore_errors=True)  # measure this code on these cassettes, not a resumed folder
    run = llmx.extract(INPUTS, project=project, out=out, local=local, policy="auto" if local else "replay")
    results = run.results
    summary = run.summary
    scored = llmx.score(out, project=project)
    dates, zeros = invented(scored)
    n = max(summary.articles, 1)
    seconds = sum(r.provenance.latency_s for r in results) / n  # as recorded: the model's own time
    macro = scored.score.field_macro_f1
    return {
        "row": name,
        "P": scored.score.incidents.precision,
        "R": scored.score.incidents.recall,
        "F1": scored.score.incidents.f1,
        "field macro-F1": macro if macro is not None else float("nan"),
        "invented dates": dates,
        "invented zeros": zeros,
        "values removed": summary.values_removed,
        "set aside": summary.records_dropped,
        "tokens/article": (summary.usage.prompt_tokens + summary.usage.completion_tokens) / n,
        "s/article": seconds,
        "failed": run.summary.failed,
    }


def table(rows: list[dict[str, object]]) -> str:
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for row in rows:
        cells = [
            f"{v:.2f}"
            if isinstance(v, float) and k not in ("tokens/article", "s/article")
            else (f"{v:,.0f}" if k == "tokens/article" else (f"{v:.1f}" if isinstance(v, float) else str(v)))
            for k, v in row.items()
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--local", action="store_true", help="record what is missing from the local model")
    parser.add_argument("--only", help="comma-separated row names (default: all)")
    options = parser.parse_args()
    wanted = [r for r in ROWS if not options.only or r in options.only.split(",")]
    rows = [measure(name, *ROWS[name], options.local) for name in wanted]
    text = table(rows)
    print(text)
    articles = sum(1 for folder in INPUTS for _ in Path(folder).glob("*.txt"))
    (ROOT / "bench" / "QUALITY.md").write_text(
        f"# Extraction quality on the dev set\n\n{articles} articles (seeds + challenge set), local "
        f"Qwen2.5-Coder-1.5B Q4_K_M, temperature 0; `python bench/quality.py` on {date.today()}, "
        f"{platform.machine()}. s/article is the model's recorded time.\n\n{text}\n"
    )


if __name__ == "__main__":
    main()
