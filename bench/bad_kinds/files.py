"""Article files and folders: empty, binary, wrong encodings, huge, unsafe names, links, holes."""

from __future__ import annotations

from pathlib import Path

from bad_kinds import LIVE, SEED, Kind, chmod, lines_kept, never_says, published, steps, stub, write

TEXT = "On 3 March 2024 a drone struck a depot in Hodeidah, killing two guards.\n"


def _symlink_loop(project: Path) -> None:
    (project / "loop").mkdir()
    (project / "loop" / "a.txt").symlink_to(project / "loop" / "b.txt")
    (project / "loop" / "b.txt").symlink_to(project / "loop" / "a.txt")


def _folder_loop(project: Path) -> None:
    (project / "deep").mkdir()
    (project / "deep" / "x.txt").write_text(TEXT)
    (project / "deep" / "again").symlink_to(project / "deep")


def _dangling(project: Path) -> None:
    (project / "dang").mkdir()
    (project / "dang" / "gone.txt").symlink_to(project / "nowhere.txt")


def _fifo(project: Path) -> None:
    import os

    (project / "pipe").mkdir()
    os.mkfifo(project / "pipe" / "a.txt")


def extract(*inputs: str) -> list[str]:
    return ["extract", *inputs, *LIVE, "--out", "runs/x"]


def kind(name: str, args: list[str], setup: object = None, **extra: object) -> Kind:
    """An ``llmx extract`` kind against the schema-answering stub."""
    chosen = {"setup": setup} if setup is not None else {}
    return Kind(name, "articles", args, server=stub, **chosen, **extra)  # type: ignore[arg-type]


def one(name: str, content: str | bytes, **extra: object) -> Kind:
    """``llmx extract`` of a folder holding one article file ``name``."""
    return kind(name, extract("in/"), write(f"in/{name}", content), **extra)


KINDS = [
    one("empty.txt", ""),
    one("blank.txt", "   \n\n\t\n"),
    one("binary.txt", bytes(range(256)) * 4),
    one("latin1.txt", "Un drone a frappé Hodeidah le 3 mars.\n".encode("latin-1")),
    one("utf16.txt", TEXT.encode("utf-16")),
    one("utf16le_nobom.txt", TEXT.encode("utf-16-le")),
    one("bom.txt", "\ufeff" + TEXT, expect="either"),  # a miss (exit 3) or a run: the BOM is not text
    one("nul_inside.txt", TEXT + "\x00" + TEXT),
    one("bad_date.txt", " date 2024-13-45\n" + TEXT),
    one("date_words.txt", " date 3 March 2024\n" + TEXT, expect="ok", check=published("runs/x", "2024-03-03")),
    one("date_two_ways.txt", " date 03.04.2024\n" + TEXT),  # 3 April or March 4: refused
    one("huge_line.txt", "drone " * 400_000),  # one line of 2.4 MB: over max_article_chars, fails alone
    one("only_date.txt", " date 2024-03-03\n"),
    one("lone_surrogate.txt", b"A drone \xed\xa0\x80 struck.\n"),  # UTF-8 of a surrogate: not UTF-8
    one("bad name!.txt", TEXT),
    one("..txt", TEXT),
    kind("missing path", extract("nowhere/")),
    kind("glob matching nothing", extract("seeds/*.md")),
    kind("empty folder", extract("in/"), lambda p: (p / "in").mkdir()),
    kind("folder of other files only", extract("in/"), write("in/notes.md", TEXT)),
    kind("symlink loop", extract("loop/"), _symlink_loop),
    kind(
        "folder that links to itself",
        extract("deep/"),
        _folder_loop,
        expect="either",
        check=never_says("RecursionError"),
    ),
    kind("dangling symlink", extract("dang/"), _dangling),
    kind("a fifo named .txt", extract("pipe/"), _fifo, timeout=30),
    kind("unreadable article", extract(SEED), chmod(SEED, 0)),
    kind("unreadable folder", extract("seeds/"), chmod("seeds", 0)),
    kind("the same folder twice", extract("seeds/", "seeds/"), expect="either", check=lines_kept("runs/x", 5)),
    kind("a file and its folder", extract("seeds/", SEED), expect="either", check=lines_kept("runs/x", 5)),
    kind(
        "two files with one id",
        extract("a/", "b/"),
        steps(write("a/same.txt", TEXT), write("b/same.txt", TEXT.replace("two", "three"))),
    ),
    kind(
        "a folder named like an article",
        extract("in/"),
        lambda p: (p / "in" / "dir.txt").mkdir(parents=True),
        expect="either",
        check=never_says("IsADirectoryError"),
    ),
    kind(
        "a good article (control)",
        extract("in/"),
        write("in/good.txt", TEXT),
        expect="ok",
        check=lines_kept("runs/x", 1),
    ),
]
