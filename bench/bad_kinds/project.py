"""The project's own files and the command's options: prompts, schemas, config, gold, values."""

from __future__ import annotations

from bad_kinds import LIVE, SEED, Kind, configure, edit, edit_json, remove, says, stub, write

GOLD = "gold/000_e376b6ba81a78c64.json"


def live(name: str, setup: object, *options: str, **extra: object) -> Kind:
    """``llmx extract`` of one seed against the stub, after ``setup``."""
    return Kind(
        name,
        "project",
        ["extract", SEED, *options, *LIVE, "--out", "runs/x"],
        setup,
        server=stub,  # type: ignore[arg-type]
        **extra,
    )  # type: ignore[arg-type]


def option(name: str, *options: str, command: str = "extract") -> Kind:
    # after the usual options: the last of an option given twice wins
    args = ["extract", SEED, *LIVE, "--out", "runs/x", *options] if command == "extract" else [command, *options]
    return Kind(name, "options", args, server=stub if command == "extract" else None)


def gold(name: str, setup: object, command: tuple[str, ...] = ("gold", "check"), **extra: object) -> Kind:
    return Kind(name, "gold", list(command), setup, **extra)  # type: ignore[arg-type]


KINDS = [
    live("template syntax error", write("prompts/incident.jinja", "{% if article %}{{ article.text }")),
    live("template unknown variable", edit("prompts/incident.jinja", lambda t: t + "\n{{ artcle.text }}\n")),
    live("template empty", write("prompts/incident.jinja", ""), expect="either"),
    live(
        "template a folder", lambda p: ((p / "prompts/incident.jinja").unlink(), (p / "prompts/incident.jinja").mkdir())
    ),
    live("template in latin-1", write("prompts/incident.jinja", "Extrayez les attaques décrites.".encode("latin-1"))),
    live("unknown --prompt", lambda p: None, "--prompt", "nosuch"),
    live("unknown --schema", lambda p: None, "--schema", "nosuch"),
    live("schema syntax error", edit("schemas/incident.py", lambda t: t + "\ndef broken(:\n")),
    live("aliases YAML typo", write("schemas/aliases.yaml", "drone: [uav, 'unclosed\n  - x: : y\n")),
    live("actors YAML typo", write("schemas/actors.yaml", "actors:\n  - name: [unclosed\n")),
    live("aliases YAML a list", write("schemas/aliases.yaml", "- a\n- b\n")),
    Kind("events YAML typo", "project", ["events", "runs/base"], write("schemas/events.yaml", "rule: {agree: [blok\n")),
    live("config unknown key", configure('modle = "gpt-4o"'), check=says("modle")),
    live("config wrong type", configure('concurrency = "four"')),
    live("config TOML syntax error", configure("concurrency = = 4")),
    live(
        "config not UTF-8",
        lambda p: (p / "pyproject.toml").write_bytes(
            (p / "pyproject.toml").read_bytes().replace(b"[tool.llmx]\n", "[tool.llmx]\n# café\n".encode("latin-1"))
        ),
    ),
    live("config negative concurrency", configure("concurrency = -3")),
    live("config aliases file missing", configure('aliases = "schemas/nope.yaml"')),
    option("--concurrency -1", "--concurrency", "-1"),
    option("--concurrency 0", "--concurrency", "0"),
    option("--timeout 0", "--timeout", "0"),
    option("--timeout -5", "--timeout", "-5"),
    option("--timeout nan", "--timeout", "nan"),
    option("--reasks -1", "--reasks", "-1"),
    option("--max-cost -1", "--max-cost", "-1"),
    option("--article-timeout 0", "--article-timeout", "0"),
    option("--concurrency 10**12", "--concurrency", "1000000000000"),
    option("--base-url not a URL", "--base-url", "localhost:8080"),
    option("--format xml", "--format", "xml"),
    option("score --min-similarity 2", "runs/base", "--min-similarity", "2", command="score"),
    option("score --min-f1 -1", "runs/base", "--min-f1", "-1", command="score"),
    option("extract --out an existing file", "--out", "pyproject.toml"),
    option("extract --cassettes a file", "--cassettes", "pyproject.toml"),
    gold(
        "gold with an unknown article id",
        write(
            "gold/zzz_unknown.json",
            '{"version": 1, "article_id": "zzz_unknown", "schema": "incident", "incidents": []}',
        ),
        ("score", "runs/base"),
        expect="either",
        check=says("F1"),
    ),
    gold("gold with an invalid date", edit_json(GOLD, lambda g: g["incidents"][0].update(date="2024-02-30"))),
    gold("gold with a date in words", edit_json(GOLD, lambda g: g["incidents"][0].update(date="22 September 2024"))),
    gold("gold not JSON", write(GOLD, "{ this is not json")),
    gold("gold empty file", write(GOLD, "")),
    gold("gold incidents not a list", edit_json(GOLD, lambda g: g.update(incidents={"a": 1}))),
    gold("gold article_id mismatch", edit_json(GOLD, lambda g: g.update(article_id="other"))),
    gold("gold negative count", edit_json(GOLD, lambda g: g["incidents"][0].update(killed=-3))),
    gold("gold count a string", edit_json(GOLD, lambda g: g["incidents"][0].update(killed="three"))),
    gold("gold unknown field", edit_json(GOLD, lambda g: g["incidents"][0].update(kiled=3))),
    gold("gold a folder", lambda p: ((p / GOLD).unlink(), (p / GOLD).mkdir())),
    gold("gold in UTF-16", lambda p: (p / GOLD).write_bytes((p / GOLD).read_text().encode("utf-16"))),
    gold("gold a JSON list", write(GOLD, "[]")),
    gold("gold version from the future", edit_json(GOLD, lambda g: g.update(version=99))),
    gold("no gold folder", lambda p: __import__("shutil").rmtree(p / "gold"), ("score", "runs/base")),
    gold("gold file removed mid-project", remove(GOLD), ("score", "runs/base"), expect="either", check=says("F1")),
]
