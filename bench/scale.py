"""Replay and scoring at dataset scale, on synthetic articles.

The synthetic cassettes are recorded from llmx's stub server (``llmx.testing.stub_server``),
never from a model: they exist to time llmx's own overhead, and are kept under bench/.data (gitignored).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import llmx
from llmx.core.scoring import score_run
from llmx.inputs.aliases import load_aliases
from llmx.inputs.articles import Article
from llmx.inputs.schemas import load_schema
from llmx.testing.stub_server import StubServer

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data"
PLACES = ["Erbil", "Kirkuk", "Ain al-Asad airbase", "Al-Shaddadi", "Baghdad", "Abu Ghraib", "Mosul", "Basra"]
GROUPS = ["Islamic Resistance in Iraq", "Kataib Hezbollah", "US forces", "Hezbollah", "Harakat al-Nujaba"]
WEAPONS = ["drone", "rocket", "missile", "air/drone strike", "artillery"]


def synthetic_article(number: int, rnd: random.Random) -> Article:
    sentences = [
        f"A {rnd.choice(WEAPONS)} attack targeted {rnd.choice(PLACES)} on Monday, officials said."
        for _ in range(rnd.randint(3, 8))
    ] + ["Officials gave no further details about the incident or the groups involved."] * rnd.randint(2, 6)
    return Article(id=f"syn{number:06d}", text=" ".join(sentences))


def synthetic_corpus(count: int) -> Path:
    path = DATA / f"corpus_{count}.jsonl"
    if not path.is_file():
        DATA.mkdir(parents=True, exist_ok=True)
        rnd = random.Random(count)
        with path.open("w") as out:
            for number in range(count):
                article = synthetic_article(number, rnd)
                out.write(json.dumps({"id": article.id, "text": article.text}) + "\n")
    return path


def record_corpus(corpus: Path, cassettes: Path) -> None:
    """Fill ``cassettes`` for every article of ``corpus`` from the stub (once; reused after)."""
    done = cassettes / ".complete"
    if done.is_file():
        return
    project = llmx.load_project(ROOT, cassettes=cassettes, concurrency=64, timeout=30)
    run_dir = DATA / f"record_run_{corpus.stem}"
    shutil.rmtree(run_dir, ignore_errors=True)
    with StubServer() as server:
        llmx.extract([corpus], project=project, out=run_dir, policy="auto", base_url=server.base_url, api_key="x")
    shutil.rmtree(run_dir, ignore_errors=True)
    done.write_text("ok")


def replay_at_scale(count: int) -> dict[str, Any]:
    """Time ``llmx extract --replay`` end to end (a fresh process) and read its peak memory."""
    corpus = synthetic_corpus(count)
    cassettes = DATA / f"cassettes_{count}"
    record_corpus(corpus, cassettes)
    out = DATA / f"replay_run_{count}"
    subprocess.run(["rm", "-rf", str(out)], check=True)
    env = {key: value for key, value in os.environ.items() if key not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    command = [
        sys.executable,
        "-m",
        "llmx",
        "extract",
        str(corpus),
        "--replay",
        "--cassettes",
        str(cassettes),
        "--out",
        str(out),
        "--concurrency",
        "64",
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The child's own high-water mark (VmHWM), read while it runs: its rusage peak would count
    # this bench process's pages from before the exec (fork), and this process grows as it runs.
    peak_kb = 0
    while process.poll() is None:
        peak_kb = max(peak_kb, _high_water_kb(process.pid))
        time.sleep(0.02)
    status = process.returncode
    wall = time.perf_counter() - started
    lines = sum(1 for _ in (out / "extractions.jsonl").open())
    return {
        "articles": count,
        "wall_s": wall,
        "peak_rss_mb": peak_kb / 1024,
        "exit": status,
        "lines": lines,
        "output_mb": (out / "extractions.jsonl").stat().st_size / 2**20,
        "input_mb": corpus.stat().st_size / 2**20,
    }


def _high_water_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _incident(rnd: random.Random, number: int) -> dict[str, Any]:
    return {
        "date": f"2024-0{rnd.randint(1, 9)}-1{rnd.randint(0, 9)}",
        "date_text": None,
        "location": rnd.choice(PLACES),
        "admin_region": None,
        "country": rnd.choice(["Iraq", "Syria", "Israel"]),
        "attacker": rnd.choice(GROUPS),
        "claimed_by": rnd.choice([*GROUPS, None]),
        "target": "US and coalition forces",
        "weapon": rnd.choice(WEAPONS),
        "intercepted": rnd.choice([True, False, None]),
        "killed": rnd.choice([None, 0, 1, 2, 5]),
        "injured": rnd.choice([None, 0, 3]),
        "evidence": f"Sentence {number} about the attack on {rnd.choice(PLACES)}.",
    }


def _perturb(record: dict[str, Any], rnd: random.Random) -> dict[str, Any]:
    changed = dict(record)
    for name in rnd.sample(["location", "killed", "attacker", "date", "country"], k=rnd.randint(0, 2)):
        changed[name] = None if rnd.random() < 0.3 else _incident(rnd, 0)[name]
    return changed


def scoring_data(
    articles: int, per_article: int = 10
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    rnd = random.Random(articles)
    gold, predicted = {}, {}
    for number in range(articles):
        records = [_incident(rnd, n) for n in range(per_article)]
        kept = [_perturb(r, rnd) for r in records if rnd.random() > 0.1]  # ~10% missed
        kept += [_incident(rnd, 99) for _ in range(rnd.randint(0, 1))]  # some invented
        rnd.shuffle(kept)
        gold[f"g{number}"], predicted[f"g{number}"] = records, kept
    return predicted, gold


def scoring_at_scale(incidents: int) -> dict[str, Any]:
    schema = load_schema("incident", ROOT / "schemas")
    aliases = load_aliases(ROOT / "schemas" / "aliases.yaml")
    predicted, gold = scoring_data(incidents // 10)
    import scipy.optimize  # noqa: F401  # a one-time 0.4 s import, not scoring work

    started = time.perf_counter()
    score = score_run(predicted, gold, schema.fields, aliases, schema.evidence_field)
    wall = time.perf_counter() - started
    return {"incidents": incidents, "wall_s": wall, "f1": score.incidents.f1}
