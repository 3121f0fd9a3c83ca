"""How well llmx's confidences say which values are wrong, on real articles with gold (issue 30).

    python bench/calibration.py                                   # the devset, replayed
    python bench/calibration.py --cassettes DIR --articles DIR --gold DIR
    python bench/calibration.py --write calibration.json          # also save the fit on the tune half

Replays the recorded answers (strategy ``single``, token log-probabilities in the cassettes) with
no calibration, scores them against gold, and reports over every scored value (each field the
gold annotates of each matched record pair; see llmx/app/evaluation/calibration.py):

- raw: the raw scores as they are;
- per method (platt, isotonic): fitted on the tune half (the articles at even positions of the
  sorted ids) and measured on the held-out half (odd positions), then the other way round;
  "cross-fitted" puts each half's out-of-sample confidences together, so every value of the
  whole set is judged by a calibration that never saw its article.

ECE is over ten equal-width bins; caught_at_20 is the share of the wrong values among the 20%
least confident (chance: 0.20). The devset (``../shared/devset``) is read to measure only.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# ../shared/devset beside the repository (from a worktree: up to where it is found)
DEVSET = next((d / "shared" / "devset" for d in ROOT.parents if (d / "shared" / "devset").is_dir()), Path("devset"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cassettes", type=Path, default=ROOT / "runs" / "cassettes-devset")
    parser.add_argument("--articles", type=Path, default=DEVSET / "articles")
    parser.add_argument("--gold", type=Path, default=DEVSET / "gold")
    parser.add_argument("--strategy", default="single")
    parser.add_argument("--out", type=Path, help="run folder to write (default: a temporary one)")
    parser.add_argument("--write", type=Path, help="save the calibration fitted on the tune half here")
    args = parser.parse_args()
    for path in (args.cassettes, args.articles, args.gold):
        if not path.is_dir():
            sys.exit(f"{path}: no such folder (see --help)")

    sys.path.insert(0, str(ROOT))  # this checkout's llmx, wherever the installed one is
    import llmx
    from llmx.app.evaluation.calibration import fit_from_run, scored_values
    from llmx.core.calibration import METHODS, Value, summary
    from llmx.extraction.confidence import calibrated
    from llmx.inputs.calibration import save_calibration

    scratch = Path(tempfile.mkdtemp(prefix="llmx-calibration-"))
    project = llmx.load_project(
        ROOT, cassettes=args.cassettes, strategy=args.strategy, calibration=scratch / "none.json"
    )  # no calibration: the raw scores
    out = args.out or scratch / "run"
    llmx.extract([args.articles], project=project, out=out, policy="replay")
    scored = llmx.score(out, project=project, gold=args.gold)
    values = scored_values(scored.score, scored.results)
    failed = sorted(r.article_id for r in scored.results if r.status != "ok")
    ids = sorted(scored.score.articles)
    halves = {"tune": set(ids[0::2]), "held-out": set(ids[1::2])}
    print(
        f"{len(ids)} articles with gold ({len(failed)} failed: {', '.join(failed) or 'none'}), "
        f"{len(values)} scored values, {sum(not v.right for _, _, v in values)} wrong"
    )

    def line(name: str, picked: list[tuple[Value, float]]) -> dict[str, Any]:
        report = summary([v for v, _ in picked], [p for _, p in picked])
        print(
            f"  {name:<28} n={report['n']:<5} wrong={report['wrong']:<4} ECE={report['ece']:.3f}  "
            f"caught_at_20={report['caught_at_20']}"
        )
        return report

    print("raw (no calibration):")
    raw = [(aid, v, v.raw) for aid, _, v in values]
    line("all", [(v, p) for _, v, p in raw])
    for half, members in halves.items():
        line(half, [(v, p) for aid, v, p in raw if aid in members])
    reports: dict[str, dict[str, Any]] = {}
    for method in METHODS:
        print(f"{method}:")
        crossed: list[tuple[Value, float]] = []
        for fit_on, judge_on in (("tune", "held-out"), ("held-out", "tune")):
            calibration, _ = fit_from_run(out, scored.score, scored.results, method, sorted(halves[fit_on]))
            judged = [(v, calibrated(item, calibration)[v.field]) for aid, item, v in values if aid in halves[judge_on]]
            line(f"fit {fit_on}, on {judge_on}", judged)
            crossed += judged
            if method == "platt" and fit_on == "tune" and args.write:
                save_calibration(calibration, args.write)
                print(f"  saved {args.write} (platt, fitted on the tune half)")
        reports[method] = line("all, cross-fitted", crossed)
    best = reports["platt"]
    print(
        "\nper field (platt, cross-fitted): "
        + ", ".join(f"{name} {f['ece']:.2f} (n={f['n']}, wrong={f['wrong']})" for name, f in best["fields"].items())
    )
    print(
        "reliability (platt, cross-fitted): "
        + "  ".join(
            f"[{b['low']:.1f},{b['high']:.1f}) n={b['n']} p={b['confidence']:.2f} right={b['accuracy']:.2f}"
            for b in best["bins"]
        )
    )


if __name__ == "__main__":
    main()
