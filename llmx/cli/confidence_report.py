"""How sure llmx is, in the terminal: the reliability diagram of ``llmx score`` (predicted
confidence against the share right, per bin) and the line ``llmx calibrate`` prints."""

from __future__ import annotations

from typing import Any

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

WIDTH = 30  # characters of a bar at 1.0


def _bar(confidence: float, accuracy: float) -> Text:
    """The share right as a bar, and where the confidence says it should end (│)."""
    filled = round(accuracy * WIDTH)
    mark = min(round(confidence * WIDTH), WIDTH - 1)
    cells = ["█" if i < filled else " " for i in range(WIDTH)]
    cells[mark] = "│"
    gap = abs(confidence - accuracy)
    return Text("".join(cells), style="green" if gap <= 0.1 else "yellow" if gap <= 0.2 else "red")


def reliability_panel(report: dict[str, Any]) -> Panel:
    """The diagram and the two figures: ECE, and the share of wrong values among the 20% least sure."""
    table = Table(box=None, pad_edge=False)
    for name, justify in (("confidence", "left"), ("values", "right"), ("predicted", "right"), ("right", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("share right (bar) against predicted (│)")
    for row in report["bins"]:
        table.add_row(
            f"{row['low']:.1f}–{row['high']:.1f}",
            str(row["n"]),
            f"{row['confidence']:.2f}",
            f"{row['accuracy']:.2f}",
            _bar(row["confidence"], row["accuracy"]),
        )
    caught = report["caught_at_20"]
    kind = f"calibrated ({report['method']})" if report["calibrated"] else "raw: no calibration (llmx calibrate RUN)"
    lines = Text.assemble(
        f"{report['n']} scored values, {report['wrong']} wrong · confidences {kind}\n",
        f"ECE {report['ece']:.3f} · the 20% least sure hold "
        + (f"{caught:.0%} of the wrong values" if caught is not None else "no wrong value"),
    )
    if report.get("fitted_on_these_articles"):
        lines.append(
            f"\n{report['fitted_on_these_articles']} of these articles were calibrated on: the figures flatter it",
            style="yellow",
        )
    group = Table.grid()
    group.add_row(lines)
    group.add_row(table)
    return Panel(group, title="how sure (reliability)", expand=False)
