"""Bad inputs, as new users make them, through the CLI: does every one end well?

Each kind (``bench/bad_kinds/``: article files, corpora, the project's files, options, gold, run
folders, cassettes, a misbehaving model server) runs ``python -m llmx …`` in a fresh copy of a
project (this repository's seeds with a finished run in ``runs/base``: cassettes replay offline),
against a stub server on 127.0.0.1 when it needs one, so no model is needed. An ending is

- **good**: exit 0 with a correct result (the kind's check), or a non-zero exit with one clear
  line (``error: …``, a click usage ``Error: …``, or each failed article named) and no traceback;
- **bad**: a traceback, exit 0 where the input had to be refused or with a wrong or empty result,
  lost data, or a hang past the kind's timeout.

    python bench/bad_inputs.py                # every kind; writes bench/BAD_INPUTS.md
    python bench/bad_inputs.py --only gold    # the kinds whose group or name holds "gold"

As root, each command runs without CAP_DAC_OVERRIDE, so an unreadable file is unreadable.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext, suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the stubs of llmx.testing come from this tree

from bad_kinds import Ending, Kind, all_kinds  # noqa: E402

TREE = ROOT  # the tree whose llmx the commands run (--llmx: e.g. a checkout of main, for "before")
PROJECT_FILES = ("prompts", "schemas", "seeds", "gold", "cassettes", "pyproject.toml")


def _unprivileged() -> None:  # pragma: no cover - runs in the child
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH out of the bounding set
        libc.prctl(24, capability, 0, 0, 0)


def llmx(project: Path, args: list[str], timeout: float, env: dict[str, str] | None = None) -> Ending:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI_", "LLMX_"))}
    environment.update({"PYTHONPATH": str(TREE), "COLUMNS": "200", **(env or {})})
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "llmx", *args],
            cwd=project,
            env=environment,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            preexec_fn=_unprivileged if os.geteuid() == 0 else None,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        out = expired.stdout.decode(errors="replace") if isinstance(expired.stdout, bytes) else expired.stdout or ""
        err = expired.stderr.decode(errors="replace") if isinstance(expired.stderr, bytes) else expired.stderr or ""
        return Ending(None, out, err, time.monotonic() - started)
    return Ending(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def base_projects(work: Path) -> dict[str, Path]:
    seeds = work / "base-seeds"
    seeds.mkdir()
    for name in PROJECT_FILES:
        source = TREE / name
        if source.is_dir():
            shutil.copytree(source, seeds / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, seeds / name)
    made = llmx(seeds, ["extract", "seeds/", "--out", "runs/base"], 120)
    if made.code != 0:
        raise SystemExit(f"the base run failed:\n{made.text[-2000:]}")
    init = work / "base-init"
    init.mkdir()
    if llmx(init, ["init"], 60).code != 0:
        raise SystemExit("llmx init failed")
    return {"seeds": seeds, "init": init}


def one_line(ending: Ending) -> str | None:
    """The line that explains a non-zero exit, or None when there is none (or more than one)."""
    lines = ending.text.splitlines()
    errors = [line for line in lines if line.startswith(("error:", "Error:"))]
    if len(errors) == 1:
        after = ending.stderr.split(errors[0], 1)[-1]
        return errors[0] if not after.strip() else None  # the error is the last thing said, on one line
    failed = [line for line in lines if line.startswith("failed ")]
    if not errors and failed and ending.code in (1, 3, 5):
        return failed[0]
    return None


def judge(kind: Kind, project: Path, ending: Ending) -> tuple[bool, str]:
    if ending.code is None:
        return False, f"hang: still running after {kind.timeout:.0f} s"
    if "Traceback (most recent call last)" in ending.text:
        last = [line for line in ending.text.splitlines() if line.strip()][-1:]
        return False, f"traceback: {last[0][:160] if last else ''}"
    problem = kind.check(project, ending) if kind.check else None
    if ending.code == 0:
        if kind.expect == "error":
            return False, "exit 0: the input was taken as good" + (f" ({problem})" if problem else "")
        return (False, f"exit 0, but {problem}") if problem else (True, "exit 0")
    line = one_line(ending)
    if kind.expect == "ok":
        return False, f"exit {ending.code} where it should work: {(line or ending.text.strip()[-160:])[:160]}"
    if line is None:
        return False, f"exit {ending.code} without one clear line: {ending.text.strip()[-160:]!r}"
    if problem:
        return False, f"exit {ending.code}, but {problem}: {line[:120]}"
    return True, f"exit {ending.code}: {line[:160]}"


def run_kind(kind: Kind, bases: dict[str, Path], work: Path) -> tuple[bool, str, float]:
    project = Path(tempfile.mkdtemp(dir=work, prefix="kind-"))
    shutil.rmtree(project)
    shutil.copytree(bases[kind.project], project, symlinks=True)
    try:
        kind.setup(project)
        with kind.server() if kind.server else nullcontext("") as url:
            args = [a.replace("{url}", url) for a in kind.args]
            ending = llmx(project, args, kind.timeout, kind.env)
        good, why = judge(kind, project, ending)
        return good, why.replace(f"{project}/", ""), ending.seconds
    finally:
        for path in [project, *project.rglob("*")]:  # undo the chmods, so it can be removed
            if not path.is_symlink():
                with suppress(OSError):
                    path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(project, ignore_errors=True)


def report(rows: list[tuple[Kind, bool, str, float]]) -> str:
    good = sum(1 for _, ok, _, _ in rows if ok)
    lines = [
        "# Bad inputs through the CLI",
        "",
        "Written by `python bench/bad_inputs.py` (the kinds: `bench/bad_kinds/`). Good: exit 0 with a correct",
        "result, or a non-zero exit with one clear line and no traceback. Bad: a traceback, exit 0 on an input",
        "that had to be refused or with a wrong result, lost data, or a hang.",
        "",
        f"**{good} of {len(rows)} good.**",
        "",
        "| group | kind | verdict | ending | s |",
        "| --- | --- | --- | --- | --- |",
    ]
    for kind, ok, why, seconds in rows:
        cell = why.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {kind.group} | {kind.name} | {'good' if ok else '**bad**'} | {cell} | {seconds:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="run the kinds whose group or name holds this text")
    parser.add_argument("--write", type=Path, default=ROOT / "bench" / "BAD_INPUTS.md", help="the report (md)")
    parser.add_argument("--llmx", type=Path, help="run the llmx of this tree (default: this one)")
    options = parser.parse_args()
    global TREE
    TREE = (options.llmx or ROOT).resolve()
    kinds = [k for k in all_kinds() if not options.only or options.only in f"{k.group} {k.name}"]
    rows: list[tuple[Kind, bool, str, float]] = []
    with tempfile.TemporaryDirectory(prefix="llmx-bad-") as folder:
        work = Path(folder)
        bases = base_projects(work)
        for kind in kinds:
            good, why, seconds = run_kind(kind, bases, work)
            rows.append((kind, good, why, seconds))
            print(f"{'good' if good else 'BAD '}  {kind.group:8} {kind.name:45} {why[:110]}", flush=True)
    good = sum(1 for _, ok, _, _ in rows if ok)
    print(f"\n{good} of {len(rows)} good")
    if not options.only:
        options.write.write_text(report(rows))
        print(f"written: {options.write}")


if __name__ == "__main__":
    main()
