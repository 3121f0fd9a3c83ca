"""Event fusion on the dev sets: ``llmx events`` + ``llmx score`` on a run, pairwise P/R/F1, the
false merges, and whether the near misses stayed apart.

    python bench/events_quality.py                        # gold oracle: seeds/ challenge/ events/
    python bench/events_quality.py --model                # the model's recorded records (replay)
    python bench/events_quality.py --model --threshold 1,2,3   # explore the threshold
    python bench/events_quality.py --set devset           # ../shared/devset, gold oracle
    python bench/events_quality.py --set devset --model --cassettes /work/main/runs/cassettes-devset

The gold oracle answers every article with its own gold records (``llmx.testing.gold_oracle``, a
stub server: no model), so it measures the fusion rule alone. ``--model`` replays the answers a
model recorded in ``--cassettes`` (default: the project's cassettes/), with the settings they
were recorded with (``--strategy``, default single, the default strategy), so it measures
extraction and fusion together, as a user's run does. The
devset is read from $LLMX_DEVSET or ../shared/devset (articles/ and gold/); it is read, never
copied into the project.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner

import llmx
from llmx.app.evaluation.events import fuse_run, score_fused
from llmx.cli.main import main
from llmx.inputs.articles import load_articles
from llmx.inputs.gold import load_gold
from llmx.inputs.schemas import load_schema
from llmx.model import live
from llmx.testing.gold_oracle import gold_answers
from llmx.testing.stub_server import StubServer

ROOT = Path(__file__).resolve().parent.parent
# ../shared/devset next to the checkout (or two levels up from a worktree), or $LLMX_DEVSET
DEVSET = next(
    (p for p in (Path(os.environ.get("LLMX_DEVSET", "/nonexistent")), *(a / "shared" / "devset" for a in ROOT.parents))
     if p.is_dir()),
    Path("/nonexistent"),
)  # fmt: skip
INPUTS = ["seeds/", "challenge/", "events/"]
NEAR_MISSES = ["e14_near_harir_week_later", "e15_near_houla_same_day", "e16_near_qamishli_bomb"]


def cli(*args: str) -> Any:
    done = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if done.exit_code not in (0, 1):
        raise SystemExit(f"llmx {' '.join(args)} exited {done.exit_code}: {done.output}")
    return done


def oracle_run(project: Path, inputs: list[str], gold: Path, out: str) -> Path:
    schema = load_schema("incident", project / "schemas")
    script = gold_answers(load_articles(inputs), load_gold(gold, schema))
    with live.override_allow_model_requests(True), StubServer(script=script) as server:
        cli("extract", "--strategy", "single", *inputs, "--base-url", server.base_url,
            "--cassettes", "oracle-tape", "--out", out, "--record")  # fmt: skip
    return project / out


def model_run(project: Path, inputs: list[str], cassettes: Path, strategy: str, out: str) -> Path:
    loaded = llmx.load_project(project, strategy=strategy, cassettes=str(cassettes))
    llmx.extract(inputs, project=loaded, out=project / out, policy="replay")
    return project / out


def report(project: Path, run: Path, inputs: list[str], thresholds: list[float | None]) -> None:
    loaded = llmx.load_project(project)
    scored = llmx.score(run, project=loaded)
    for threshold in thresholds:
        fused = fuse_run(run, loaded.settings, inputs, threshold=threshold)
        events = score_fused(fused, scored.score)
        pw, b3 = events.pairwise, events.bcubed
        print(f"threshold {fused.threshold:g} bits: {events.reports} matched reports, {events.gold_events} gold events")
        print(f"  pairwise P {pw.precision:.2f} R {pw.recall:.2f} F1 {pw.f1:.2f} (tp {pw.tp}, false merges {pw.fp}, "
              f"missed merges {pw.fn});  B³ P {b3.precision:.2f} R {b3.recall:.2f} F1 {b3.f1:.2f}")  # fmt: skip
        for note in fused.notes:
            print(f"  note: {note}")
        event_of = fused.event_of()
        sizes = {e.event_id: e.size for e in fused.events}
        near = [a for a in NEAR_MISSES if (a, 0) in event_of]
        if near:
            apart = [a for a in near if sizes[event_of[(a, 0)]] == 1]
            print(
                f"  near misses apart: {len(apart)} of {len(near)}"
                + (f" (fused: {sorted(set(near) - set(apart))})" if len(apart) < len(near) else "")
            )
        for title, pairs in (("false merge", events.false_merges), ("missed merge", events.missed_merges)):
            for a, b in pairs:
                why = events.why.get((a, b), {})
                fields = ", ".join(
                    f"{c['field']} {c['level']} {c['weight']:+.1f}"
                    for c in [*why.get("agreed", []), *why.get("disagreed", [])]
                )
                veto = (" vetoed" if why.get("vetoed") else "") + (
                    "" if why.get("compared", True) else " never compared"
                )
                print(
                    f"  {title}: {a[0]} #{a[1] + 1} + {b[0]} #{b[1] + 1}: "
                    f"{why.get('weight', 0):.1f} bits{veto} ({fields})"
                )


def main_(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set", choices=["events", "devset"], default="events", help="seeds/ challenge/ events/, or ../shared/devset"
    )
    parser.add_argument(
        "--model", action="store_true", help="replay the model's recorded answers instead of the gold oracle"
    )
    parser.add_argument("--cassettes", type=Path, help="where the recordings are (default: the project's cassettes/)")
    parser.add_argument("--strategy", default="single", help="the strategy the recordings were made with")
    parser.add_argument("--threshold", help="comma-separated match weights (bits) to report, default: the rule's")
    options = parser.parse_args(argv)
    thresholds: list[float | None] = [float(t) for t in options.threshold.split(",")] if options.threshold else [None]
    if options.set == "devset" and not DEVSET.is_dir():
        raise SystemExit("no devset: set LLMX_DEVSET or put it at ../shared/devset")
    with tempfile.TemporaryDirectory(prefix="llmx-events-") as scratch:
        project = Path(scratch)
        for name in ("prompts", "schemas", "seeds", "challenge", "events", "gold"):
            shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
        os.chdir(project)
        inputs = INPUTS
        if options.set == "devset":
            inputs = [str(DEVSET / "articles")]
            shutil.rmtree(project / "gold")
            shutil.copytree(DEVSET / "gold", project / "gold")
        if options.model:
            cassettes = (options.cassettes or ROOT / "cassettes").resolve()
            run = model_run(project, inputs, cassettes, options.strategy, "runs/model")
            print(f"the model's records, replayed from {cassettes} ({options.strategy}):")
        else:
            run = oracle_run(project, inputs, project / "gold", "runs/oracle")
            print("if extraction were perfect (gold records as the run's incidents; no model):")
        print(f"  inputs: {' '.join(inputs)}")
        report(project, run, inputs, thresholds)
    return 0


if __name__ == "__main__":
    sys.exit(main_())
