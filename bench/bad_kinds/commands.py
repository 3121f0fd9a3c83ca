"""The other commands, given what a newcomer gives them: missing runs, wrong targets, values out of
range, outputs that would overwrite data. The project holds ``runs/base`` (the five seeds)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bad_kinds import Ending, Kind, says, write

RUN = "runs/base"


def command(name: str, *args: str, setup: object = None, **extra: object) -> Kind:
    if setup is None:
        return Kind(name, "commands", list(args), **extra)  # type: ignore[arg-type]
    return Kind(name, "commands", list(args), setup, **extra)  # type: ignore[arg-type]


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def unchanged(relative: str) -> object:
    """The kind's check that ``relative`` (a folder) is byte for byte what the base project holds."""

    def check(project: Path, ending: Ending) -> str | None:
        base = project.parent / "base-seeds" / relative
        return None if _digest(project / relative) == _digest(base) else f"{relative}/ changed"

    return check


KINDS = [
    command("init into a file", "init", "pyproject.toml"),
    command(
        "prompts with a broken template",
        "prompts",
        setup=write("prompts/incident_recall.jinja", "{% block x %}"),
        expect="either",
        check=says("endblock"),
    ),
    command("view --articles nowhere", "view", RUN, "--articles", "nowhere/"),
    command("view -o a page named .json", "view", RUN, "-o", "page.json"),
    command("view -o into a missing folder", "view", RUN, "-o", "nope/page.html"),
    command("export parquet to the terminal", "export", RUN, "--format", "parquet"),
    command("export -o the run's own data", "export", RUN, "--format", "csv", "-o", f"{RUN}/run.json", "--force"),
    command("sample an unknown run", "sample", "runs/nope"),
    command("sample --n 0", "sample", RUN, "--n", "0"),
    command("sample --n -3", "sample", RUN, "--n", "-3"),
    command("gold draft of an unknown run", "gold", "draft", "runs/nope", "--out", "drafts"),
    command("gold draft onto the reviewed gold", "gold", "draft", RUN, expect="either", check=unchanged("gold")),
    command("gold agree with a missing folder", "gold", "agree", "gold", "nowhere"),
    command("gold check of a missing folder", "gold", "check", "--gold", "nowhere"),
    command("score --gold nowhere", "score", RUN, "--gold", "nowhere"),
    command("score --html onto the run's data", "score", RUN, "--html", f"{RUN}/extractions.jsonl"),
    command("cassettes prune of an unknown run", "cassettes", "prune", "runs/nope", check=unchanged("cassettes")),
    command("cassettes unpack with no store", "cassettes", "unpack", expect="either", check=unchanged("cassettes")),
    command("calibrate an unknown run", "calibrate", "runs/nope"),
    command("events --articles nowhere", "events", RUN, "--articles", "nowhere/"),
    command("events --threshold nan", "events", RUN, "--threshold", "nan"),
    command("annotate an unknown run", "annotate", "runs/nope", timeout=30),
    command("annotate --port 70000", "annotate", RUN, "--port", "70000", timeout=30),
    command("extract --out gold/", "extract", "seeds/", "--out", "gold", check=unchanged("gold")),
    command("resume with another schema", "extract", "seeds/", "--out", RUN, "--schema", "muc4"),
    command("resume with another prompt", "extract", "seeds/", "--out", RUN, "--prompt", "incident_v2"),
    command("--batch with --local", "extract", "seeds/", "--batch", "--local", "--out", "runs/x"),
    command("--replay with --record", "extract", "seeds/", "--replay", "--record", "--out", "runs/x"),
]
