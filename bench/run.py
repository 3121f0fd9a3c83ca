"""llmx benchmarks: ``python bench/run.py`` prints a table and writes bench/RESULTS.md.

Sections (``--only`` picks some): concurrency (live path vs a 200 ms stub), rate_limit
(adaptive concurrency against a stub that takes N requests/s), replay (10k synthetic articles
end to end), scoring (1k/10k/100k incidents), tokens (prompt overhead with
the local model's tokenizer), peer (llmx vs langextract on the seeds, same local model),
local (seconds per article on the real model). Needs the local model for tokens/peer/local
(`llmx local install`); the rest runs anywhere. Every number printed is measured in this run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("concurrency", "rate_limit", "replay", "scoring", "tokens", "peer", "local")
Row = tuple[str, str, str, str]  # measure, result, target, verdict


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "MISSED")


def concurrency_sizes(quick: bool) -> dict[int, int]:
    """Articles per concurrency level: 500 each; --quick takes 100 at 1 and 8 and 16 rounds at 32
    and 64 (a run of 2 rounds would measure its start-up, not the live path)."""
    if not quick:
        return {level: 500 for level in (1, 8, 32, 64)}
    return {1: 100, 8: 100, 32: 16 * 32, 64: 16 * 64}


TARGETS = {1: 1.10, 8: 1.10, 32: 1.10, 64: 1.20}  # wall time / ideal


def concurrency_rows(
    quick: bool, measured: list[dict[str, Any]], guard: dict[int, float] | None = None, attempts: int = 1
) -> list[Row]:
    """The live path at each level; what was measured is also appended to ``measured``. A level
    over its ``guard`` bound is measured again, up to ``attempts`` times in all, and the best run
    is kept: a busy moment on a shared machine passes, a regression fails every attempt."""
    from live import concurrency_vs_ideal

    rows = []
    sizes = concurrency_sizes(quick)
    for r in concurrency_vs_ideal(sizes, 0.2):
        level, tries = r["concurrency"], [r]
        while guard and level in guard and tries[-1]["ratio"] > guard[level] and len(tries) < attempts:
            tries += concurrency_vs_ideal({level: sizes[level]}, 0.2)
        best = min(tries, key=lambda t: t["ratio"])
        best["attempts"] = [round(t["ratio"], 3) for t in tries]
        measured.append(best)
    for r in measured:
        target = TARGETS[r["concurrency"]]
        tried = "" if len(r["attempts"]) == 1 else f", best of {' / '.join(map(str, r['attempts']))}"
        rows.append(
            (
                f"live, {r['articles']} articles @ concurrency {r['concurrency']} (200 ms stub{tried})",
                f"{r['wall_s']:.2f} s = {r['ratio']:.3f} × ideal {r['ideal_s']:.1f} s",
                f"≤ {target:.2f} × ideal",
                verdict(r["ratio"] <= target),
            )
        )
        rows.append(
            (
                f"  client CPU per request @ {r['concurrency']}",
                f"{r['cpu_ms_per_request']:.2f} ms",
                "< 2 ms",
                verdict(r["cpu_ms_per_request"] < 2),
            )
        )
    return rows


def ratio_guard(bounds: list[str]) -> dict[int, float]:
    """``--max-ratio 32=1.5``: concurrency level → the worst ratio to ideal the run may show."""
    parsed = {}
    for bound in bounds:
        level, _, ratio = bound.partition("=")
        parsed[int(level)] = float(ratio)
    return parsed


def rate_limit_rows(quick: bool) -> list[Row]:
    from rate_limit import rate_limited_run

    # Both runs start at concurrency 32 against a server that takes 4 (40/s) or 2 (20/s) at once:
    # the start-up (slow start, its first 429s) is counted in the share of 429s.
    rows: list[Row] = []
    for rate, articles in ((40.0, 1_000), (20.0, 200)):
        r = rate_limited_run(articles, rate=rate)
        rows += [
            (
                f"rate-limited stub ({r['rate']:.0f} req/s, 100 ms), {r['articles']:,} articles @ concurrency 32",
                f"{r['throughput']:.1f} req/s = {r['throughput'] / r['rate']:.0%} of the limit, {r['ok']:,} ok",
                "within 10% of N",
                verdict(abs(r["throughput"] - r["rate"]) <= 0.1 * r["rate"]),
            ),
            (
                "  answers that were 429",
                f"{r['throttled']} of {r['answers']:,} = {r['throttled_share']:.1%}",
                "< 5%",
                verdict(r["throttled_share"] < 0.05),
            ),
            (
                "  concurrency window (slow start, then AIMD)",
                f"lowest {r['lowest_window']}, last {r['final_window']}, {r['cuts']} cuts, {r['wall_s']:.1f} s",
                "—",
                "—",
            ),
        ]
    return rows


def replay_rows(quick: bool) -> list[Row]:
    from scale import replay_at_scale

    rows: list[Row] = []
    measured = {}
    for count in (1_000,) if quick else (1_000, 10_000):
        r = measured[count] = replay_at_scale(count)
        rows.append(
            (
                f"replay {count:,} articles (`llmx extract --replay`, whole process)",
                f"{r['wall_s']:.2f} s, exit {r['exit']}, {r['lines']:,} lines",
                "< 5 s" if count == 10_000 else "—",
                verdict(r["wall_s"] < 5) if count == 10_000 else "—",
            )
        )
    for count, r in measured.items():
        # Flat: from 1k to 10k articles, peak memory may grow by what the input and output grow
        # (the articles are held while they run; the lines are written as they finish), + 16 MB.
        small = measured[1_000]
        allowed = (r["input_mb"] - small["input_mb"]) + (r["output_mb"] - small["output_mb"]) + 16
        growth = r["peak_rss_mb"] - small["peak_rss_mb"]
        rows.append(
            (
                f"  peak RSS, {count:,} articles",
                f"{r['peak_rss_mb']:.0f} MB (input {r['input_mb']:.1f} MB, output {r['output_mb']:.1f} MB)",
                "flat in N",
                verdict(growth <= allowed) if count != 1_000 else "—",
            )
        )
    return rows


def scoring_rows(quick: bool) -> list[Row]:
    from scale import scoring_at_scale

    rows = []
    for count in (1_000, 10_000) if quick else (1_000, 10_000, 100_000):
        r = scoring_at_scale(count)
        target = "< 2 s" if count == 100_000 else "—"
        rows.append(
            (
                f"score {count:,} gold incidents vs perturbed predictions",
                f"{r['wall_s']:.2f} s (F1 {r['f1']:.3f})",
                target,
                verdict(r["wall_s"] < 2) if count == 100_000 else "—",
            )
        )
    return rows


def token_rows() -> list[Row]:
    from live import token_economy

    rows = []
    for r in token_economy():
        rows.append(
            (
                f"prompt `{r['prompt']}`: instruction tokens (Qwen tokenizer)",
                f"{r['instruction_tokens']}",
                "≤ 600",
                verdict(r["instruction_tokens"] <= 600),
            )
        )
    rows.append(("  + schema as JSON (only APIs that put it in the prompt)", f"{r['schema_json_tokens']}", "—", "—"))
    rows.append(("  article text, mean over seeds", f"{r['article_tokens_mean']:.0f}", "—", "—"))
    return rows


def peer_rows() -> list[Row]:
    from peer import MAX_CHAR_BUFFER, peer_comparison

    with tempfile.TemporaryDirectory() as work:
        results = peer_comparison(Path(work))
    rows = []
    for tool, r in results.items():
        failures = f", {len(r['failures'])} failed" if r["failures"] else ""
        chunks = f", chunks ≤ {MAX_CHAR_BUFFER} chars" if tool != "llmx" else ""
        rows.append(
            (
                f"{tool} on 5 seeds (local model{chunks})",
                f"incident P/R/F1 {r['incident_p']:.2f}/{r['incident_r']:.2f}/{r['incident_f1']:.2f}, "
                f"field F1 {r['field_macro_f1']:.2f}, {r['extracted']} extracted{failures}",
                "—",
                "—",
            )
        )
        rows.append(
            (
                f"  {tool} wall time and tokens (llama-server /metrics)",
                f"{r['wall_s']:.0f} s, {r['prompt_tokens']:.0f} prompt + {r['completion_tokens']:.0f} completion",
                "—",
                "—",
            )
        )
    return rows


def local_rows() -> list[Row]:
    from live import local_model

    r = local_model(ROOT / "seeds")
    return [
        (
            "`llmx extract seeds/ --local --record`, 5 seeds",
            f"{r['wall_s']:.0f} s = {r['s_per_article']:.1f} s/article, {r['requests']} requests",
            "—",
            "—",
        ),
        (
            "  llama-server speed (its own timings)",
            f"prompt {r['prompt_tok_s']:.0f} tok/s, generation {r['gen_tok_s']:.1f} tok/s",
            "—",
            "—",
        ),
        (
            "  quality of that run",
            f"incident F1 {r['incident_f1']:.2f}, field macro-F1 {r['field_macro_f1']:.2f}",
            "—",
            "—",
        ),
    ]


def render(rows: list[Row], header: str) -> tuple[Table, str]:
    table = Table(title=header, title_justify="left")
    for name in ("measure", "result", "target", "verdict"):
        table.add_column(name)
    lines = [f"# llmx benchmarks\n\n{header}\n", "| measure | result | target | verdict |", "| --- | --- | --- | --- |"]
    for row in rows:
        style = "red" if row[3] == "MISSED" else ("green" if row[3] == "met" else "")
        table.add_row(*row[:3], f"[{style}]{row[3]}[/]" if style else row[3])
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |")
    return table, "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a quick look")
    parser.add_argument("--write", type=Path, default=ROOT / "bench" / "RESULTS.md", help="where the table goes")
    parser.add_argument(
        "--max-ratio",
        action="append",
        default=[],
        metavar="LEVEL=RATIO",
        help="fail (exit 1) when the live path at concurrency LEVEL is slower than RATIO × ideal (CI: 32=1.6)",
    )
    parser.add_argument(
        "--attempts",
        type=int,
        default=1,
        help="measure a level over its --max-ratio bound again, up to this many runs in all, keeping the best",
    )
    options = parser.parse_args(argv)
    guard = ratio_guard(options.max_ratio)
    measured: list[dict[str, Any]] = []
    chosen = [s for s in options.only.split(",") if s]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    console = Console()
    rows: list[Row] = []
    runners: dict[str, Any] = {
        "concurrency": lambda: concurrency_rows(options.quick, measured, guard, options.attempts),
        "rate_limit": lambda: rate_limit_rows(options.quick),
        "replay": lambda: replay_rows(options.quick),
        "scoring": lambda: scoring_rows(options.quick),
        "tokens": token_rows,
        "peer": peer_rows,
        "local": local_rows,
    }
    for section in chosen:
        with console.status(f"bench: {section}"):
            rows.extend(runners[section]())
    header = (
        f"{dt.date.today().isoformat()} · {os.cpu_count()} cores · {cpu_model()} · Python "
        f"{platform.python_version()}{' · --quick' if options.quick else ''}"
    )
    table, markdown = render(rows, header)
    console.print(table)
    notes = ROOT / "bench" / "NOTES.md"  # the hand-written reading of the numbers
    options.write.write_text(markdown + ("\n" + notes.read_text() if notes.is_file() else ""))
    console.print(f"written to {options.write}")
    over = [r for r in measured if r["concurrency"] in guard and r["ratio"] > guard[r["concurrency"]]]
    for r in over:  # a ratio within one run: the stub and llmx share the machine's load
        console.print(
            f"[red]live path too slow:[/] {r['ratio']:.2f} × ideal at concurrency {r['concurrency']} "
            f"(bound {guard[r['concurrency']]:.2f}; {r['wall_s']:.2f} s for {r['articles']} articles)"
        )
    missing = [level for level in guard if level not in {r["concurrency"] for r in measured}]
    if missing:
        console.print(f"[red]--max-ratio names levels that were not measured:[/] {missing}")
    return 1 if over or missing else 0


if __name__ == "__main__":
    sys.exit(main())
