"""Event fusion on the dev sets *if extraction were perfect*: every article answered with its own
gold records by the gold oracle (``llmx.testing.gold_oracle``, a stub server: no model), then
``llmx events`` and ``llmx score`` as a user runs them. It measures the fusion rule alone; the
same commands on a run recorded from a model measure the two together.

    python bench/events_quality.py            # seeds/ challenge/ events/ against gold/

With ../shared/devset present, its ten real articles are fused with the rest too (gold records
as reports) and the multi-report events found are listed: that gold names no events, so they are
shown for a reader to judge, not scored.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner

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


def cli(*args: str) -> Any:
    done = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if done.exit_code not in (0, 1):
        raise SystemExit(f"llmx {' '.join(args)} exited {done.exit_code}: {done.output}")
    return done


def oracle_run(project: Path, inputs: list[str], gold: Path, out: str) -> Path:
    schema = load_schema("incident", project / "schemas")
    script = gold_answers(load_articles(inputs), load_gold(gold, schema))
    with live.override_allow_model_requests(True), StubServer(script=script) as server:
        cli(
            "extract",
            "--strategy",
            "single",
            *inputs,
            "--base-url",
            server.base_url,
            "--cassettes",
            "oracle-tape",
            "--out",
            out,
            "--record",
        )
    return project / out


def main_() -> int:
    with tempfile.TemporaryDirectory(prefix="llmx-events-") as scratch:
        project = Path(scratch)
        for name in ("prompts", "schemas", "seeds", "challenge", "events", "gold"):
            shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
        os.chdir(project)
        oracle_run(project, INPUTS, project / "gold", "runs/oracle")
        shown = cli("events", "runs/oracle").output
        scored = json.loads(cli("score", "runs/oracle", "--json").output)
        events = scored["events"]
        pw, b3 = events["pairwise"], events["bcubed"]
        print("if extraction were perfect (gold records as the run's incidents; no model):")
        print(f"  {' '.join(INPUTS)}: {events['reports']} matched reports, {events['gold_events']} gold events")
        counts = f"tp {pw['tp']}, fp {pw['fp']}, fn {pw['fn']}"
        print(f"  pairwise P {pw['precision']} R {pw['recall']} F1 {pw['f1']} ({counts})")
        print(f"  B³ P {b3['precision']} R {b3['recall']} F1 {b3['f1']}")
        print(f"  false merges {events['false_merges']}, missed merges {events['missed_merges']}")
        print("\n".join("  " + line for line in shown.splitlines() if "│" in line))
        if DEVSET.is_dir():
            both = project / "gold-all"
            shutil.copytree(project / "gold", both)
            for path in (DEVSET / "gold").glob("*.json"):
                shutil.copy(path, both / path.name)
            run = oracle_run(project, [*INPUTS, str(DEVSET / "articles")], both, "runs/with-devset")
            cli("events", "runs/with-devset", "--articles", str(DEVSET / "articles"), *[
                x for i in INPUTS for x in ("--articles", i)
            ])  # fmt: skip
            lines = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
            print("\nwith ../shared/devset (not scored: its gold names no events), events of several reports:")
            for event in lines:
                if len(event["reports"]) > 1:
                    reports = ", ".join(f"{r['article_id']} #{r['incident'] + 1}" for r in event["reports"])
                    print(f"  {event['fields']['date']} {event['fields']['location']}: {reports}")
    return 0


if __name__ == "__main__":
    sys.exit(main_())
