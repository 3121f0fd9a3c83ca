"""Run folders and cassettes: unknown, damaged, interrupted, from the future; resumes that must
lose nothing. The project holds ``runs/base``, a whole run of the five seeds."""

from __future__ import annotations

from pathlib import Path

from bad_kinds import SEED_ID, Kind, edit, edit_json, lines_kept, never_says, remove, says, steps, write

RUN = "runs/base"
LINES = f"{RUN}/extractions.jsonl"


def _truncate_last(project: Path) -> None:
    path = project / LINES
    data = path.read_bytes().rstrip(b"\n")
    path.write_bytes(data[: len(data) - 40])  # the last line cut mid-way, as a kill -9 leaves it


def _garble_middle(project: Path) -> None:
    path = project / LINES
    lines = path.read_text().split("\n")
    lines[2] = lines[2][:30]
    path.write_text("\n".join(lines))


def _cassette(project: Path) -> Path:
    return sorted((project / "cassettes" / SEED_ID).glob("*.json"))[0]


def run(name: str, setup: object, *args: str, **extra: object) -> Kind:
    if setup is None:
        return Kind(name, "runs", list(args), **extra)  # type: ignore[arg-type]
    return Kind(name, "runs", list(args), setup, **extra)  # type: ignore[arg-type]


def _all_cassettes(change: object) -> object:
    def apply(project: Path) -> None:
        for path in (project / "cassettes" / SEED_ID).glob("*.json"):
            change(path)  # type: ignore[operator]

    return apply


KINDS = [
    run("score an unknown run folder", None, "score", "runs/nope"),
    run("view an unknown run folder", None, "view", "runs/nope"),
    run("score a file, not a run", None, "score", "pyproject.toml"),
    run(
        "score a run from a future version",
        edit_json(f"{RUN}/run.json", lambda r: r.update(version=99)),
        "score",
        RUN,
        expect="either",
        check=says("F1"),
    ),
    run(
        "score result lines from a future version",
        edit(LINES, lambda t: t.replace('{"version":2,', '{"version":99,')),
        "score",
        RUN,
    ),
    run("score a truncated last line", _truncate_last, "score", RUN, expect="either", check=says("F1")),
    run(
        "resume a run with a truncated last line",
        _truncate_last,
        "extract",
        "seeds/",
        "--out",
        RUN,
        expect="ok",
        check=lines_kept(RUN, 5),
    ),
    run("resume a run twice", None, "extract", "seeds/", "--out", RUN, expect="ok", check=lines_kept(RUN, 5)),
    run("score a garbled middle line", _garble_middle, "score", RUN),
    run(
        "resume a run with a garbled middle line",
        _garble_middle,
        "extract",
        "seeds/",
        "--out",
        RUN,
        expect="either",
        check=never_says("Traceback"),
    ),
    run("score without run.json", remove(f"{RUN}/run.json"), "score", RUN, expect="either", check=says("F1")),
    run("score with run.json not JSON", write(f"{RUN}/run.json", "{"), "score", RUN, expect="either", check=says("F1")),
    run("score with run.json empty", write(f"{RUN}/run.json", ""), "score", RUN, expect="either", check=says("F1")),
    run("score with run.json a list", write(f"{RUN}/run.json", "[]"), "score", RUN, expect="either", check=says("F1")),
    run("score an empty results file", write(LINES, ""), "score", RUN),
    run(
        "score results in UTF-16",
        lambda p: (p / LINES).write_bytes((p / LINES).read_text().encode("utf-16")),
        "score",
        RUN,
    ),
    run(
        "view with run.json a folder",
        lambda p: ((p / RUN / "run.json").unlink(), (p / RUN / "run.json").mkdir()),
        "view",
        RUN,
    ),
    run("events of a damaged run", _garble_middle, "events", RUN),
    run("export of a damaged run", _garble_middle, "export", RUN, "--format", "csv", "-o", "out.csv"),
    run("export -o a folder", None, "export", RUN, "--format", "csv", "-o", "runs"),
    run("export into a missing folder", None, "export", RUN, "--format", "csv", "-o", "nope/out.csv"),
    run("compare with an unknown run", None, "compare", RUN, "runs/nope"),
    run("compare a run with itself", None, "compare", RUN, RUN, expect="either", check=never_says("better", "worse")),
    run(
        "a truncated cassette",
        _all_cassettes(lambda p: p.write_text(p.read_text()[:100])),
        "extract",
        "seeds/",
        "--out",
        "runs/x",
        expect="error",
        check=says("cassette"),
    ),
    run(
        "an empty cassette file",
        _all_cassettes(lambda p: p.write_text("")),
        "extract",
        "seeds/",
        "--out",
        "runs/x",
        check=says("cassette"),
    ),
    run(
        "a cassette that is a folder",
        _all_cassettes(lambda p: (p.unlink(), p.mkdir())),
        "extract",
        "seeds/",
        "--out",
        "runs/x",
        check=never_says("IsADirectoryError"),
    ),
    run(
        "an article's cassette folder is a file",
        steps(lambda p: __import__("shutil").rmtree(p / "cassettes" / SEED_ID), write(f"cassettes/{SEED_ID}", "x")),
        "extract",
        "seeds/",
        "--out",
        "runs/x",
    ),
    run(
        "a cassette of a future version",
        _all_cassettes(
            lambda p: p.write_text(
                p.read_text().replace('"version": 1', '"version": 99', 1).replace('"version":1', '"version":99', 1)
            )
        ),
        "extract",
        "seeds/",
        "--out",
        "runs/x",
        check=says("cassette"),
    ),
]
