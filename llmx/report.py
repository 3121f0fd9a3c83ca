"""Rich renderables. Pure: they take results and return tables; the CLI prints them."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from llmx.runs import RunSummary


def summary_table(summary: RunSummary, mode: str, run_dir: Path, resumed: int = 0) -> Table:
    table = Table(title=f"llmx extract ({mode})", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("run", str(run_dir))
    table.add_row("articles", f"{summary.articles}" + (f" ({resumed} kept from before)" if resumed else ""))
    table.add_row("ok / failed", f"{summary.ok} / [red]{summary.failed}[/]" if summary.failed else f"{summary.ok} / 0")
    table.add_row("incidents", str(summary.incidents))
    table.add_row("ungrounded evidence", str(summary.ungrounded))
    table.add_row("grounding re-asks", str(summary.grounding_reasks))
    table.add_row("requests replayed / live", f"{summary.replayed_calls} / {summary.live_calls}")
    table.add_row("tokens (prompt + completion)",
                  f"{summary.usage.prompt_tokens:,} + {summary.usage.completion_tokens:,}")
    if summary.failures:
        table.add_row("failures", ", ".join(f"{kind}: {n}" for kind, n in sorted(summary.failures.items())))
    table.add_row("wall time", f"{summary.wall_s:.1f} s")
    return table
