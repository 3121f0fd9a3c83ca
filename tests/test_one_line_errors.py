"""Tracebacks and misleading errors become one line that says what, where and what to do:
unreadable files and folders, template runtime errors, a non-UTF-8 aliases file, a full disk;
and the model server's faults are named for what they are (a content filter, a 200 that is an
error, garbage Retry-After, a body that drips, a dropped connection, CRLF line endings)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from llmx.testing.fake_model import Reply, schema_answer, sequence
from llmx.testing.stub_server import StubServer
from tests.helpers import ROOT, extract_args, run_cli
from tests.test_silent_cases import configure, error_line

SEED = "seeds/000_e376b6ba81a78c64.txt"


def without_permission_override() -> None:  # pragma: no cover - runs in the child
    """Root reads every file whatever its mode; without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
    (dropped from the bounding set, so the exec'd llmx never gets them) it is held to the modes."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def run_unprivileged(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """llmx in a process that file modes apply to (as root: without the capabilities that bypass them)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "llmx", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=without_permission_override if os.geteuid() == 0 else None,
    )


@pytest.mark.parametrize(
    ("target", "args", "needle"),
    [
        (SEED, ["extract", SEED], "cannot read the article (Permission denied)"),
        ("seeds", ["extract", "seeds/"], "seeds: cannot list the folder (Permission denied)"),
        ("gold/000_e376b6ba81a78c64.json", ["gold", "check"], "cannot read the gold file (Permission denied)"),
        ("gold", ["gold", "check"], "gold: cannot list the gold folder (Permission denied)"),
        ("prompts/incident.jinja", ["extract", SEED], "cannot read the prompt template (Permission denied)"),
        ("schemas/incident.py", ["extract", SEED], "cannot read the schema (Permission denied)"),
        ("schemas/aliases.yaml", ["extract", SEED], "cannot read the aliases file (Permission denied)"),
        ("pyproject.toml", ["extract", SEED], "cannot read the config (Permission denied)"),
        ("runs/r1/extractions.jsonl", ["score", "runs/r1"], "cannot read the run (Permission denied)"),
        ("runs/r1/run.json", ["view", "runs/r1"], "cannot read the run manifest (Permission denied)"),
    ],
)
def test_an_unreadable_file_or_folder_is_one_line(seed_run: Path, target: str, args: list[str], needle: str) -> None:
    project = seed_run.parent.parent
    (project / target).chmod(0)
    result = run_unprivileged(project, *args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and needle in error_line(result.stderr)


def test_an_unreadable_cassette_fails_its_article_only(seed_run: Path) -> None:
    project = seed_run.parent.parent
    for tape in (project / "cassettes" / "000_e376b6ba81a78c64").glob("*.json"):
        tape.chmod(0)
    result = run_unprivileged(project, "extract", "seeds/", "--replay", "--out", "runs/r2")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "failed 000_e376b6ba81a78c64 (cassette_error)" in result.stderr and "Permission denied" in result.stderr


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("{{ 1 // 0 }}", "template error while rendering: ZeroDivisionError"),
        ("{{ article.text | int + [] }}", "template error while rendering: TypeError"),
        ("{% include 'nowhere.jinja' %}", "x.jinja: reads 'nowhere.jinja', which is not a file of"),
        ("{% include article.id %}", "x.jinja: extends or includes a template named by a variable"),
        ("{% include '../pyproject.toml' %}", "x.jinja: reads '../pyproject.toml', which is not a file of"),
        ("{% include 'y.jinja' %}", "y.jinja:1: template syntax error"),
        ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "the template recurses too deeply"),
    ],
)
def test_template_runtime_errors_are_one_line(project: Path, body: str, needle: str) -> None:
    template = f"{{% block system %}}{body}{{% endblock %}}{{% block user %}}{{{{ article.text }}}}{{% endblock %}}"
    (project / "prompts" / "x.jinja").write_text(template)
    (project / "prompts" / "y.jinja").write_text("{% if %}")  # a template x may include, broken
    result = run_cli("extract", SEED, "--prompt", "x", "--strategy", "single")  # x.jinja is the one prompt
    assert result.exit_code == 2 and needle in error_line(result.output)


def test_an_aliases_file_that_is_not_utf8_is_one_line(project: Path) -> None:
    (project / "schemas" / "aliases.yaml").write_bytes("Kyiv: [Kiev, Ky\xefv]\n".encode("latin-1"))
    result = run_cli("extract", SEED)
    assert result.exit_code == 2 and "aliases.yaml: the aliases file is not UTF-8" in error_line(result.output)


class _FillingFile:
    """A file whose writes fail with ENOSPC once the shared budget of bytes is spent."""

    def __init__(self, handle: Any, budget: dict[str, int]) -> None:
        self._handle, self._budget = handle, budget

    def write(self, data: Any) -> int:
        self._budget["left"] -= len(data)
        if self._budget["left"] < 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return int(self._handle.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> _FillingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


def fill_disk_after(monkeypatch: pytest.MonkeyPatch, budget: int) -> dict[str, int]:
    """Every file llmx opens to write (os.fdopen, Path.open) shares ``budget`` bytes, then ENOSPC;
    returns the budget (set ``left`` to free space)."""
    left = {"left": budget}
    real_fdopen, real_open = os.fdopen, Path.open

    def fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(fd, mode, *args, **kwargs)
        return _FillingFile(handle, left) if "w" in mode or "a" in mode else handle

    def path_open(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(self, mode, *args, **kwargs)
        return _FillingFile(handle, left) if ("w" in mode or "a" in mode) and self.name != ".lock" else handle

    monkeypatch.setattr(os, "fdopen", fdopen)
    monkeypatch.setattr(Path, "open", path_open)
    return left


@pytest.mark.parametrize("where", ["tmpfs", "injected"])
def test_a_full_disk_is_one_line_and_keeps_what_was_written(
    project: Path, live_requests: None, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    out = project / "runs"
    left = {"left": 10**9}
    if where == "tmpfs":
        out.mkdir()
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(out)], capture_output=True)
        if mounted.returncode != 0:
            pytest.skip("cannot mount a small tmpfs here (not root); the injected case covers it")
    else:
        left = fill_disk_after(monkeypatch, 30_000)
    args = extract_args("", "runs/full", "--cassettes", "runs/tape", "--concurrency", "1")
    try:
        with StubServer() as server:
            args[args.index("--base-url") + 1] = server.base_url
            result = run_cli(*args)
            assert result.exit_code == 2, result.output
            line = error_line(result.output)
            assert "No space left on device" in line and "free some space and run the same command again" in line
            assert not list(out.rglob("*.tmp"))  # no half-written temp file left behind
            saved = len(list((out / "tape").rglob("*.json")))
            assert saved >= 1
            if where == "tmpfs":  # space freed
                subprocess.run(["mount", "-o", "remount,size=16m", str(out)], check=True)
            left["left"] = 10**9
            asked = len(server.requests)
            again = run_cli(*args)
            assert again.exit_code == 0, again.output
            assert len(server.requests) - asked == 5 - saved  # what was saved is not asked again
    finally:
        if where == "tmpfs" and subprocess.run(["umount", str(out)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(out)], check=False)
            pytest.fail("the run left a file open on the full disk")


def test_a_content_filter_stop_is_named_and_not_cached(project: Path, live_requests: None) -> None:
    with StubServer(script=lambda body, n: Reply(content='{"incidents": [', finish_reason="content_filter")) as s:
        result = run_cli(*extract_args(s.base_url, "runs/cf", inputs=SEED))
        assert len(s.requests) == 1  # not re-asked as if it were bad JSON
    assert result.exit_code == 1 and "(content_filter): the provider's content filter stopped" in result.output
    assert "Invalid JSON" not in result.output and not list((project / "tape").rglob("*.json"))


def test_a_200_whose_body_is_an_error_shows_the_servers_message(project: Path, live_requests: None) -> None:
    reply = Reply(fault="error_200", error_message="quota exceeded for project p-42")
    with StubServer(script=lambda body, n: reply) as server:
        result = run_cli(*extract_args(server.base_url, "runs/e", inputs=SEED))
    assert result.exit_code == 1 and "answered 200 with an error: quota exceeded for project p-42" in result.output


@pytest.mark.parametrize("value", ["soon-ish", "", "Mon, 99 Foo 2024", "-5", "1e999"])
def test_a_garbage_retry_after_is_retried_with_back_off(project: Path, live_requests: None, value: str) -> None:
    configure(project, "max_wait = 0.05")
    script = sequence(Reply(fault="status", status=429, retry_after=value), then=lambda body, n: schema_answer(body))
    with StubServer(script=script) as server:
        result = run_cli(*extract_args(server.base_url, "runs/ra", inputs=SEED))
        assert len(server.requests) == 2
    assert result.exit_code == 0, result.output


def test_a_dripping_body_is_bounded_by_the_request_timeout(project: Path, live_requests: None) -> None:
    configure(project, "max_attempts = 1")
    started = time.monotonic()
    with StubServer(script=lambda body, n: Reply(fault="drip", delay=0.2, content="{" + " " * 400 + "}")) as server:
        result = run_cli(*extract_args(server.base_url, "runs/d", "--timeout", "1", inputs=SEED))
    assert time.monotonic() - started < 6  # the whole body would take ~10 s
    assert result.exit_code == 1 and "no complete answer" in result.output and "within the timeout" in result.output


def test_a_dropped_connection_is_reported_as_dropped(project: Path, live_requests: None) -> None:
    configure(project, "max_wait = 0.05", "max_attempts = 2")
    with StubServer(script=lambda body, n: Reply(fault="drop")) as server:
        result = run_cli(*extract_args(server.base_url, "runs/x", inputs=SEED))
    assert result.exit_code == 1 and "dropped the connection before answering, 2 tries" in result.output
    assert "timeout" not in result.output.split("dropped", 1)[1].split("\n", 1)[0]
