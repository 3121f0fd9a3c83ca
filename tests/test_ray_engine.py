"""``--engine ray`` on a real local Ray (2 CPUs), against the stub server: the same results as
the plain engine, a bad row failing alone, a killed worker, a killed driver, resume, the
shared budget and the shared rate limit. Ray starts once for the module. Skipped when Ray is
not installed, unless LLMX_REQUIRE_RAY=1 (CI installs the extra and sets it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmx
from llmx.testing.fake_model import TokenBucket, always, rate_limited, schema_answer
from llmx.testing.stub_server import StubServer
from tests.helpers import ROOT, run_cli

if os.environ.get("LLMX_REQUIRE_RAY") != "1":
    pytest.importorskip("ray", reason="the Ray engine's extra is not installed: pip install 'llmx-incidents[ray]'")
import ray
import ray.data


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[str]:
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield str(ray.get_runtime_context().gcs_address)
    ray.shutdown()


def corpus(path: Path, count: int, bad: bool = False) -> Path:
    rows = [
        {"id": f"a{n:03d}", "text": f"A drone struck Erbil on Monday, killing {n % 5} people.", "date": "2024-09-22"}
        for n in range(count)
    ]
    if bad:
        rows += [
            {"id": "no-text", "text": "", "date": None},
            {"id": "../escape", "text": "A rocket hit Basra.", "date": None},
        ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def lines(run: Path) -> dict[str, dict[str, Any]]:
    found = [json.loads(line) for line in (run / "extractions.jsonl").read_text().splitlines() if line]
    assert len(found) == len({r["article_id"] for r in found}), "an article written twice"
    return {r["article_id"]: r for r in found}


def answers_only(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The lines without what differs between recording and replaying the same answers."""
    for line in results.values():
        for paid in ("latency_s", "live_usage", "live_calls", "replayed_calls", "spent_usd"):
            line["provenance"].pop(paid)
    return results


def test_ray_replays_the_shipped_cassettes_to_the_plain_engines_results(
    project: Path, shipped_recordings: None
) -> None:
    plain = run_cli("extract", "seeds/", "--out", "runs/plain")
    on_ray = run_cli("extract", "seeds/", "--engine", "ray", "--out", "runs/ray", "--format", "csv")
    assert plain.exit_code == 0 and on_ray.exit_code == 0, on_ray.output
    assert lines(project / "runs/ray") == lines(project / "runs/plain")
    assert json.loads((project / "runs/ray/run.json").read_text())["settings"]["engine"] == "ray"
    assert (project / "runs/ray/extractions.csv").read_text().count("\n") > 5  # --format csv, as plain


def test_parquet_and_csv_on_ray_record_what_the_plain_engine_replays_and_a_bad_row_fails_alone(
    project: Path, live_requests: None
) -> None:
    import pyarrow as pa
    import pyarrow.csv
    import pyarrow.parquet

    rows = [json.loads(line) for line in corpus(project / "c.jsonl", 12, bad=True).read_text().splitlines()]
    table = pa.Table.from_pylist([{"doc": r["id"], "body": r["text"], "published": r["date"]} for r in rows])
    (project / "tables").mkdir()
    pyarrow.parquet.write_table(table.slice(0, 8), project / "tables" / "part-0.parquet")
    pyarrow.csv.write_csv(table.slice(8), project / "rest.csv")
    columns = ["--cassettes", "tape"]
    with StubServer() as server:
        project_ = llmx.load_project(
            project, id_column="doc", text_column="body", date_column="published", cassettes=project / "tape"
        )
        run = llmx.extract(
            ["tables/", "rest.csv"],
            project=project_,
            out=project / "runs/ray",
            base_url=server.base_url,
            engine="ray",
            ray_workers=2,
        )
    assert run.exit_code == 1  # the two bad rows
    failed = {r.article_id: r.error.kind for r in run.failed if r.error}
    assert set(failed.values()) == {"bad_row"} and "no-text" in failed and len(failed) == 2
    assert sum(r.status == "ok" for r in run.results) == 12
    good = [json.dumps(r) + "\n" for r in rows if r["text"]]
    (project / "good.jsonl").write_text("".join(good[:12]))
    plain = run_cli("extract", "good.jsonl", *columns, "--replay", "--out", "runs/plain")
    assert plain.exit_code == 0, plain.output
    ray_ok = {k: v for k, v in lines(project / "runs/ray").items() if v["status"] == "ok"}
    assert answers_only(ray_ok) == answers_only(lines(project / "runs/plain"))


def _workers_of_this_test() -> list[int]:
    """PIDs of the extraction workers of the Ray this test process started (never another's)."""
    mine, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().decode(errors="replace")
            pid, parent = int(entry.name), int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if "ExtractWorker" in title and _descends(parent, mine):
            found.append(pid)
    return found


def _descends(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False


def test_a_worker_killed_mid_run_is_replaced_and_nothing_is_lost_or_paid_twice(
    project: Path, live_requests: None
) -> None:
    inputs = corpus(project / "c.jsonl", 40)
    killed: list[int] = []
    with StubServer(delay=0.3) as server:

        def kill_one() -> None:
            while len(server.requests) < 10:
                time.sleep(0.05)
            pids = _workers_of_this_test()
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

        threading.Thread(target=kill_one, daemon=True).start()
        # one request per article (--strategy single): the counts below are of requests in flight
        project_ = llmx.load_project(project, cassettes=project / "tape", concurrency=4, strategy="single")
        run = llmx.extract([inputs], project=project_, out=project / "runs/r", base_url=server.base_url, engine="ray")
        sent = [json.dumps(body["messages"], sort_keys=True) for body in server.requests]
    assert killed, "no worker was found to kill"
    assert run.exit_code == 0 and len(lines(project / "runs/r")) == 40
    # What the killed worker had recorded replays; only its requests in flight are asked again.
    again = sum(n - 1 for n in Counter(sent).values())
    assert again <= 4 * 4, f"{again} requests sent twice"  # its batches in flight × concurrency


def test_a_killed_driver_resumes_from_the_run_folder_and_the_cassettes(
    project: Path, live_requests: None, local_ray: str
) -> None:
    inputs = corpus(project / "c.jsonl", 30)
    command = [
        sys.executable,
        "-m",
        "llmx",
        "extract",
        str(inputs),
        "--engine",
        "ray",
        "--ray-address",
        local_ray,
        "--cassettes",
        "tape",
        "--cassette-store",
        "sqlite",
        "--strategy",
        "single",
        "--concurrency",
        "2",
        "--out",
        "runs/r",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with StubServer(delay=0.4) as server:
        first = subprocess.Popen(
            [*command, "--base-url", server.base_url],
            cwd=project,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        results = project / "runs/r/extractions.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (not results.is_file() or len(results.read_text().splitlines()) < 4):
            time.sleep(0.1)
        first.send_signal(signal.SIGKILL)
        first.wait()
        before = len(lines(project / "runs/r"))
        second = subprocess.run(
            [*command, "--base-url", server.base_url], cwd=project, env=env, capture_output=True, text=True, timeout=300
        )
        sent = [json.dumps(body["messages"], sort_keys=True) for body in server.requests]
    assert 4 <= before < 30
    assert second.returncode == 0, second.stderr[-2000:]
    assert len(lines(project / "runs/r")) == 30
    again = sum(n - 1 for n in Counter(sent).values())
    assert again <= 2 * 2 * 4, f"{again} requests sent twice"  # at most what was in flight at the kill


def test_the_budget_is_one_for_all_workers_and_a_higher_cap_resumes(project: Path, live_requests: None) -> None:
    inputs = corpus(project / "c.jsonl", 24)
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text() + '\n[tool.llmx.prices]\n"m" = {prompt = 50000.0, completion = 0.0}\n'
    )
    with StubServer(delay=0.2) as server:
        args = [
            "extract",
            str(inputs),
            "--engine",
            "ray",
            "--base-url",
            server.base_url,
            "--model",
            "m",
            "--strategy",
            "single",
            "--cassettes",
            "tape",
            "--concurrency",
            "2",
            "--out",
            "runs/r",
        ]
        capped = run_cli(*args, "--max-cost", "3")
        first_requests = len(server.requests)
        finished = len(lines(project / "runs/r"))
        resumed = run_cli(*args, "--max-cost", "1000")
        sent = [json.dumps(body["messages"], sort_keys=True) for body in server.requests]
    assert capped.exit_code == 5, capped.output
    spent = json.loads((project / "runs/r/run.json").read_text())["summary"]["spent_usd"]
    assert finished < 24 and first_requests < 24
    assert resumed.exit_code == 0, resumed.output
    assert len(lines(project / "runs/r")) == 24 and max(Counter(sent).values()) == 1  # none paid twice
    assert spent > 3


def test_the_rate_limit_is_one_window_for_all_workers(project: Path, live_requests: None) -> None:
    inputs = corpus(project / "c.jsonl", 80)
    answers: list[tuple[float, int]] = []
    script = rate_limited(always(schema_answer), TokenBucket(20.0, 4.0), answers)
    with StubServer(script=script, delay=0.05) as server:
        project_ = llmx.load_project(
            project, cassettes=project / "tape", concurrency=16, max_attempts=20, strategy="single"
        )
        run = llmx.extract([inputs], project=project_, out=project / "runs/r", base_url=server.base_url, engine="ray")
    rate = run.outcome.rate
    throttled = sum(status == 429 for _, status in answers)
    assert run.exit_code == 0 and len(run.results) == 80
    assert rate is not None and rate.stats.throttled == throttled  # every 429 reached the one window
    assert rate.stats.lowest_window < 32 and throttled / len(answers) < 0.35


def test_a_corpus_ray_cannot_read_is_one_line(project: Path) -> None:
    (project / "notes.docx").write_text("x")
    result = run_cli("extract", "notes.docx", "--engine", "ray")
    assert result.exit_code == 2 and "reads .parquet, .jsonl, .csv and .txt" in result.output


def test_an_error_inside_ray_is_one_line_with_its_exit_code(project: Path, live_requests: None) -> None:
    (project / "tape").write_text("a file where the cassette folder should be")
    with StubServer() as server:
        result = run_cli("extract", "seeds/", "--engine", "ray", "--base-url", server.base_url, "--cassettes", "tape")
    assert result.exit_code == 2, result.output
    assert "cassette folder not writable" in result.output
    assert "Traceback" not in result.output and "ray::" not in result.output
