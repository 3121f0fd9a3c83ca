"""Corpora in one file (CSV, TSV, JSONL, Parquet): columns, rows, encodings, ids."""

from __future__ import annotations

from bad_kinds import LIVE, Kind, lines_kept, never_says, stub, write

TEXT = "On 3 March 2024 a drone struck a depot in Hodeidah and killed two guards."


def table(name: str, file: str, content: str | bytes, *options: str, **extra: object) -> Kind:
    return Kind(
        name,
        "corpus",
        ["extract", file, *options, *LIVE, "--out", "runs/x"],
        write(file, content),
        server=stub,
        **extra,
    )  # type: ignore[arg-type]


KINDS = [
    table("CSV without a text column", "n.csv", f"id,body\na,{TEXT}\n"),
    table("CSV with a duplicate id", "n.csv", f"id,text\na,{TEXT}\na,{TEXT}\n"),
    table("CSV empty", "n.csv", ""),
    table("CSV header only", "n.csv", "id,text\n"),
    table("CSV ragged row", "n.csv", f"id,text\na,{TEXT},extra\n"),
    table("CSV in latin-1", "n.csv", f"id,text\na,{TEXT} à Sanaa\n".encode("latin-1")),
    table("CSV with a BOM (Excel)", "n.csv", f"\ufeffid,text\na,{TEXT}\n", expect="ok", check=lines_kept("runs/x", 1)),
    table(
        "CSV with CRLF rows",
        "n.csv",
        f"id,text\r\na,{TEXT}\r\nb,{TEXT}\r\n",
        expect="ok",
        check=lines_kept("runs/x", 2),
    ),
    table("CSV with an empty text", "n.csv", f"id,text\na,\nb,{TEXT}\n"),
    table("CSV with a bad date", "n.csv", f"id,text,date\na,{TEXT},03/04/2024\n"),
    table("CSV with an unsafe id", "n.csv", f"id,text\n../../etc,{TEXT}\n"),
    table("CSV with an unclosed quote", "n.csv", f'id,text\na,"{TEXT}\nb,{TEXT}\n'),
    table("--text-column naming no column", "n.csv", f"id,text\na,{TEXT}\n", "--text-column", "body"),
    table("--id-column naming no column", "n.csv", f"id,text\na,{TEXT}\n", "--id-column", "key"),
    table("TSV with commas only", "n.tsv", f"id,text\na,{TEXT}\n"),
    table("JSONL trailing comma", "n.jsonl", f'{{"id": "a", "text": "{TEXT}"}},\n'),
    table("JSONL array line", "n.jsonl", f'["a", "{TEXT}"]\n'),
    table("JSONL text null", "n.jsonl", '{"id": "a", "text": null}\n'),
    table("JSONL text a number", "n.jsonl", '{"id": "a", "text": 42}\n'),
    table(
        "JSONL id a number",
        "n.jsonl",
        f'{{"id": 7, "text": "{TEXT}"}}\n',
        expect="either",
        check=never_says("TypeError"),
    ),
    table(
        "JSONL id a float",
        "n.jsonl",
        f'{{"id": 7.5, "text": "{TEXT}"}}\n',
        expect="either",
        check=never_says("TypeError"),
    ),
    table("JSONL duplicate id", "n.jsonl", f'{{"id": "a", "text": "{TEXT}"}}\n{{"id": "a", "text": "{TEXT}"}}\n'),
    table("JSONL truncated last line", "n.jsonl", f'{{"id": "a", "text": "{TEXT}"}}\n{{"id": "b", "te'),
    table("JSONL in UTF-16", "n.jsonl", f'{{"id": "a", "text": "{TEXT}"}}\n'.encode("utf-16")),
    table(
        "JSONL one huge line",
        "n.jsonl",
        '{"id": "a", "text": "' + "drone " * 300_000 + '"}\n',
        expect="either",
        check=never_says("MemoryError"),
    ),
    table("JSONL nested text", "n.jsonl", '{"id": "a", "text": {"body": "x"}}\n'),
    table("Parquet that is text", "n.parquet", f"id,text\na,{TEXT}\n"),
    table("Parquet empty file", "n.parquet", b""),
]
