"""Extraction quality per prompt and strategy, on three sets with gold, each measured separately.

    python bench/quality.py                      # replay the recorded cassettes (offline)
    python bench/quality.py --local              # record what is missing from the local model first
    python bench/quality.py --sets dev,long      # only some sets (dev, long, devset)

Sets: ``dev`` = seeds/ + challenge/ (short, written to isolate one trap each), ``seeds`` = the
five seed articles alone, ``long`` = long/
(4,000-7,300 characters, many incidents each, see long/README.md), ``devset`` = ten real
published articles in ../shared/devset (measured when the folder is there; its cassettes go to
runs/cassettes-devset, never into the repository, since requests hold the article text).

Each row runs the application's own use cases (the Python API: llmx.extract, llmx.score) into
runs/bench-quality-<set>-<row>, then prints incident P/R/F1 overall and on the articles whose
gold has two or more incidents, field macro-F1, the invented dates and zeros that remain (a
matched record with a date or a 0 where gold has null), values the checks removed, tokens and
seconds per article and per 1,000 characters. The ``checks:`` rows replay the evidence rows'
answers with the checks reading the whole article or a record's sentences ± N (no model
request), and add the F1 of the fields those checks hold. Writes bench/QUALITY.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import llmx
from llmx import Scored

ROOT = Path(__file__).resolve().parent.parent
DEVSET = Path(os.environ.get("LLMX_DEVSET", ROOT.parent / "shared" / "devset"))  # a worktree sets LLMX_DEVSET
SETS: dict[str, tuple[list[Path], Path | None, Path | None]] = {  # name: (inputs, gold, cassettes)
    "dev": ([ROOT / "seeds", ROOT / "challenge"], None, None),
    "seeds": ([ROOT / "seeds"], None, None),  # the five real seed articles alone
    "long": ([ROOT / "long"], None, None),
    "devset": ([DEVSET / "articles"], DEVSET / "gold", ROOT / "runs" / "cassettes-devset"),
}
# name: (prompt, strategy, check_scope, sets it is measured on)
ROWS: dict[str, tuple[str, str, int | str, tuple[str, ...]]] = {
    "v2 single (before)": ("incident_v2", "single", "article", ("dev",)),
    "v3 single": ("incident", "single", "article", ("dev", "seeds", "long", "devset")),
    "v3 two_pass": ("incident", "two_pass", "article", ("dev",)),
    "evidence (default)": ("incident", "evidence", 3, ("dev", "seeds", "long", "devset")),
}
SCOPES: dict[str, int | str] = {"checks: article": "article", "checks: ±0": 0, "checks: ±2": 2}
SCOPED_FIELDS = ("date", "killed", "injured", "location", "admin_region", "attacker")


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


def multi(scored: Scored) -> tuple[float, float]:
    """Incident precision and recall on the articles whose gold has two or more required incidents."""
    tp = fp = fn = 0
    for article in scored.score.articles.values():
        if article.incidents.tp + article.incidents.fn >= 2:
            tp, fp, fn = tp + article.incidents.tp, fp + article.incidents.fp, fn + article.incidents.fn
    return (tp / (tp + fp) if tp + fp else float("nan")), (tp / (tp + fn) if tp + fn else float("nan"))


def measure(
    set_name: str, name: str, prompt: str, strategy: str, scope: int | str, local: bool
) -> tuple[dict[str, Any], dict[str, float]]:
    inputs, gold, cassettes = SETS[set_name]
    overrides: dict[str, Any] = {"prompt": prompt, "strategy": strategy, "concurrency": 1, "check_scope": scope}
    if cassettes is not None:
        overrides["cassettes"] = cassettes
    if local:  # the loaded machine answers slowly: what is measured is the model, not a timeout
        overrides.update(timeout=1800.0, article_timeout=36000.0)
    project = llmx.load_project(ROOT, **overrides)
    slug = name.split(" (")[0].replace(" ", "-").replace(":", "").replace("±", "pm")
    out = ROOT / "runs" / f"bench-quality-{set_name}-{slug}"
    shutil.rmtree(out, ignore_errors=True)  # measure this code on these cassettes, not a resumed folder
    run = llmx.extract(
        [str(p) for p in inputs], project=project, out=out, local=local, policy="auto" if local else "replay"
    )
    summary = run.summary
    scored = llmx.score(out, project=project, gold=gold)
    dates, zeros = invented(scored)
    n = max(summary.articles, 1)
    chars = sum(len(a.text) for a in llmx_articles(inputs)) / 1000
    seconds = sum(r.provenance.latency_s for r in run.results)  # as recorded: the model's own time
    tokens = summary.usage.prompt_tokens + summary.usage.completion_tokens
    macro = scored.score.field_macro_f1
    multi_p, multi_r = multi(scored)
    row = {
        "row": name,
        "P": scored.score.incidents.precision,
        "R": scored.score.incidents.recall,
        "F1": scored.score.incidents.f1,
        "P 2+": multi_p,
        "R 2+": multi_r,
        "field macro-F1": macro if macro is not None else float("nan"),
        "invented dates": dates,
        "invented zeros": zeros,
        "values removed": summary.values_removed,
        "set aside": summary.records_dropped,
        "tokens/article": tokens / n,
        "s/article": seconds / n,
        "tokens/1k chars": tokens / max(chars, 1e-9),
        "s/1k chars": seconds / max(chars, 1e-9),
        "failed": summary.failed,
    }
    fields = {f: scored.score.fields[f].f1 for f in SCOPED_FIELDS if f in scored.score.fields}
    return row, fields


def llmx_articles(inputs: list[Path]) -> list[Any]:
    from llmx.inputs.articles import load_articles

    return load_articles([str(p) for p in inputs])


def cell(key: str, value: object) -> str:
    if isinstance(value, float) and value != value:
        return "–"
    if key.startswith("tokens"):
        return f"{value:,.0f}"
    if key.startswith("s/"):
        return f"{value:.1f}"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def table(rows: list[dict[str, Any]]) -> str:
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(cell(k, v) for k, v in row.items()) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--local", action="store_true", help="record what is missing from the local model")
    parser.add_argument("--only", help="comma-separated row names (default: all)")
    parser.add_argument("--sets", default="dev,long,devset", help="comma-separated sets: dev, long, devset")
    options = parser.parse_args()
    sections = []
    for set_name in options.sets.split(","):
        inputs, _, _ = SETS[set_name]
        if not all(p.is_dir() for p in inputs):
            print(f"{set_name}: {inputs[0]} is not here; skipped")
            continue
        rows, scope_rows = [], []
        for name, (prompt, strategy, scope, sets) in ROWS.items():
            if set_name not in sets or (options.only and name not in options.only.split(",")):
                continue
            row, fields = measure(set_name, name, prompt, strategy, scope, options.local)
            rows.append(row)
            if strategy == "evidence":  # the same answers, checks reading more or less of the article
                scope_rows.append({"row": f"{name}, checks: ±{scope}", **fields})
                for label, other in SCOPES.items():
                    _, other_fields = measure(set_name, f"{name} {label}", prompt, strategy, other, False)
                    scope_rows.append({"row": f"{name}, {label}", **other_fields})
        if not rows:
            continue
        articles = len(llmx_articles(inputs))
        text = f"### {set_name} ({articles} articles)\n\n{table(rows)}"
        if scope_rows:
            text += f"\n\nField F1 by what the checks read:\n\n{table(scope_rows)}"
        print(text + "\n")
        sections.append(text)
    (ROOT / "bench" / "QUALITY.md").write_text(
        "# Extraction quality\n\nLocal Qwen2.5-Coder-1.5B Q4_K_M, temperature 0, one request at a time; "
        f"`python bench/quality.py` on {date.today()}, {platform.machine()}. s/article is the model's "
        "recorded time (this machine's 2 cores are shared, so it is noisy). 'P 2+' and 'R 2+': on the "
        "articles whose gold has two or more incidents.\n\n" + "\n\n".join(sections) + "\n"
    )


if __name__ == "__main__":
    main()
