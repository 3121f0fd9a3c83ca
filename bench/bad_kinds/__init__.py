"""The kinds of bad input ``bench/bad_inputs.py`` runs through the CLI, as data: each a name, the
project it starts from, what is done to that project, the command, and what a good ending is.

A kind's ``setup`` gets the project folder (a fresh copy); its ``args`` may say ``{url}`` for the
base URL of its ``server`` (a stub on 127.0.0.1 started around the command). ``expect``:
``error`` (a non-zero exit with one clear line), ``ok`` (exit 0, and ``check`` finds nothing
wrong), ``either`` (one of the two). ``check`` returns what is wrong with the ending, or None: it
is how exit 0 with a wrong or empty result, and lost data, are caught.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

SEED = "seeds/000_e376b6ba81a78c64.txt"
SEED_ID = "000_e376b6ba81a78c64"


@dataclass
class Ending:
    code: int | None  # None: killed at the timeout
    stdout: str
    stderr: str
    seconds: float

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


Check = Callable[[Path, Ending], str | None]


@dataclass
class Kind:
    name: str
    group: str
    args: list[str]
    setup: Callable[[Path], None] = field(default=lambda project: None)
    expect: Literal["error", "ok", "either"] = "error"
    check: Check | None = None
    server: Callable[[], AbstractContextManager[str]] | None = None
    project: Literal["seeds", "init"] = "seeds"  # a copy of this repository's seeds, or `llmx init`
    timeout: float = 60.0
    env: dict[str, str] = field(default_factory=dict)


# ---- what setups do ------------------------------------------------------------------------


def write(relative: str, content: str | bytes) -> Callable[[Path], None]:
    def apply(project: Path) -> None:
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    return apply


def edit(relative: str, change: Callable[[str], str]) -> Callable[[Path], None]:
    def apply(project: Path) -> None:
        path = project / relative
        path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")

    return apply


def edit_json(relative: str, change: Callable[[dict], object]) -> Callable[[Path], None]:  # type: ignore[type-arg]
    def apply(project: Path) -> None:
        path = project / relative
        data = json.loads(path.read_text(encoding="utf-8"))
        result = change(data)
        path.write_text(json.dumps(data if result is None else result, indent=2), encoding="utf-8")

    return apply


def configure(*lines: str) -> Callable[[Path], None]:
    """Settings added to the project's config (pyproject's [tool.llmx], or llmx.toml)."""

    def apply(project: Path) -> None:
        keys = tuple(line.split("=", 1)[0].strip() + " " for line in lines)
        for name in ("llmx.toml", "pyproject.toml"):  # a key set anew replaces the one there
            if (project / name).exists():
                kept = [k for k in (project / name).read_text().splitlines(keepends=True) if not k.startswith(keys)]
                (project / name).write_text("".join(kept))
        toml = project / "llmx.toml"
        if toml.exists():
            toml.write_text("\n".join(lines) + "\n" + toml.read_text())
            return
        config = project / "pyproject.toml"
        config.write_text(config.read_text().replace("[tool.llmx]\n", "[tool.llmx]\n" + "\n".join(lines) + "\n", 1))

    return apply


def steps(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    def apply(project: Path) -> None:
        for setup in setups:
            setup(project)

    return apply


def chmod(relative: str, mode: int) -> Callable[[Path], None]:
    return lambda project: (project / relative).chmod(mode)


def remove(relative: str) -> Callable[[Path], None]:
    return lambda project: (project / relative).unlink()


# ---- what checks look for --------------------------------------------------------------------


def says(*words: str) -> Check:
    """The output holds every one of ``words`` (a refusal or a note that names the problem)."""

    def check(project: Path, ending: Ending) -> str | None:
        flat = " ".join(ending.text.split())
        missing = [w for w in words if w not in flat]
        return f"does not say {missing[0]!r}" if missing else None

    return check


def never_says(*words: str) -> Check:
    def check(project: Path, ending: Ending) -> str | None:
        flat = " ".join(ending.text.split())
        found = [w for w in words if w in flat]
        return f"says {found[0]!r}" if found else None

    return check


def lines_kept(run: str, count: int) -> Check:
    """No data lost: after a run that ended 0, ``run`` holds ``count`` whole result lines."""

    def check(project: Path, ending: Ending) -> str | None:
        if ending.code != 0:
            return None
        path = project / run / "extractions.jsonl"
        try:
            whole = [json.loads(line) for line in path.read_text().split("\n") if line.strip()]
        except (OSError, ValueError) as error:
            return f"{run}/extractions.jsonl unreadable afterwards ({error})"
        ids = [line.get("article_id") for line in whole]
        if len(set(ids)) != count or len(ids) != count:
            return f"{run}/extractions.jsonl holds {len(ids)} lines ({len(set(ids))} articles), not {count}"
        return None

    return check


def published(run: str, day: str) -> Check:
    """After a run that ended 0, every result of ``run`` carries the publication date ``day``."""

    def check(project: Path, ending: Ending) -> str | None:
        path = project / run / "extractions.jsonl"
        try:
            days = {json.loads(line).get("published") for line in path.read_text().splitlines() if line.strip()}
        except (OSError, ValueError) as error:
            return f"{run}/extractions.jsonl unreadable afterwards ({error})"
        return None if days == {day} else f"published {sorted(map(str, days))}, not {day}"

    return check


def both(*checks: Check) -> Check:
    def check(project: Path, ending: Ending) -> str | None:
        return next((p for p in (c(project, ending) for c in checks) if p), None)

    return check


# Against the stub, which answers every request from its schema: a run of good articles ends
# 0, so a bad input that is not caught shows as exit 0 (it cannot hide behind a cassette miss).
LIVE = ["--base-url", "{url}", "--cassettes", "tape", "--strategy", "single"]


@contextmanager
def stub(refuse: tuple[int, bytes] | None = None, **options: object) -> Iterator[str]:
    """A stub OpenAI-compatible server: schema answers, or a fixed ``refuse`` answer (status, raw
    body) to every request, or a script's fault (``options`` go to :class:`StubServer`)."""
    from llmx.testing.stub_server import StubServer

    class Fixed(StubServer):
        def refuse(self, path: str, headers: dict[str, str], body: dict[str, object]) -> tuple[int, bytes] | None:
            return refuse

    with Fixed(**options) as server:  # type: ignore[arg-type]
        yield server.base_url


def all_kinds() -> Iterator[Kind]:
    from bad_kinds import commands, corpus, files, project, runs, server

    for module in (files, corpus, project, runs, server, commands):
        yield from module.KINDS
