"""``llmx annotate`` (the page that corrects gold) and ``llmx sample`` (what to annotate next).
Parsing and printing only; the work is in :mod:`llmx.app.gold.annotation` and :mod:`llmx.app.gold.sampling`."""

from __future__ import annotations

from pathlib import Path

import click

from llmx.cli.score import gold_option


@click.command()
@click.argument("run", type=click.Path(path_type=Path))
@gold_option
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free one).",
)
@click.option(
    "--list",
    "list_file",
    type=click.Path(path_type=Path),
    help="Only these articles, in this order (from `llmx sample`).",
)
@click.option(
    "--articles",
    multiple=True,
    metavar="INPUT",
    help="Where the article texts are (repeatable). Default: the run's inputs.",
)
@click.option(
    "--agree-with",
    type=click.Path(path_type=Path),
    help="Gold folder or run the page's agreement panel compares with (default: RUN).",
)
@click.option("--schema", "schema_name", help="Schema of the gold (default: from config).")
def annotate(
    run: Path,
    gold_dir: Path | None,
    port: int,
    list_file: Path | None,
    articles: tuple[str, ...],
    agree_with: Path | None,
    schema_name: str | None,
) -> None:
    """Correct gold in the browser: a local page (127.0.0.1 only, no network) with each article
    of RUN beside its gold or draft. Accept, reject or edit records, add one by selecting its
    sentence, mark files reviewed. Every change is validated and saved at once. Ctrl-C stops."""
    from llmx.app.gold.annotate_server import serve
    from llmx.app.gold.annotation import AnnotationSession
    from llmx.cli.console import err, out
    from llmx.inputs.config import load_settings

    session = AnnotationSession.open(
        run, load_settings(require_project=True), gold_dir, list(articles), list_file, schema_name, agree_with
    )
    for note in session.notes:
        err.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)

    def ready(url: str) -> None:
        out.print(f"annotating {len(session.order)} article(s) of {run} into {session.gold_dir}", highlight=False)
        out.print(f"open {url}  (Ctrl-C stops; every change is already saved)", highlight=False)

    serve(session, port, ready)
    err.print("stopped; every change the page showed as saved is in " + str(session.gold_dir), highlight=False)


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--n", "count", type=int, default=10, show_default=True, help="How many articles to pick.")
@gold_option
@click.option("-o", "--out", "out_file", type=click.Path(path_type=Path), help="List file (default: RUN/sample.txt).")
@click.option("--schema", "schema_name", help="Schema to match records with (default: from config).")
@click.option(
    "--by",
    type=click.Choice(["points", "doubt"]),
    default="points",
    show_default=True,
    help="points: disagreement, removed values, ungrounded quotes; doubt: the values the confidences say are "
    "likely wrong (sum of 1 - confidence), the least sure first.",
)
def sample(
    runs: tuple[Path, ...], count: int, gold_dir: Path | None, out_file: Path | None, schema_name: str | None, by: str
) -> None:
    """The next articles to annotate: where runs disagree (two prompts or two models), where the
    checks removed values, where evidence is not in the article. Articles with reviewed gold are
    left out. Writes a list for `llmx annotate RUN --list FILE`."""
    from llmx.app.gold.sampling import sample as pick
    from llmx.cli.console import err, out
    from llmx.cli.gold_report import sample_report
    from llmx.inputs.config import load_settings

    settings = load_settings(require_project=True)
    found = pick(list(runs), settings, count, gold_dir, out_file, schema_name, by)  # type: ignore[arg-type]
    if found.chosen:
        out.print(sample_report(found))
    if found.annotated:
        every = (
            "every article of the run(s) has"
            if not found.candidates
            else f"left out {len(found.annotated)} article(s) with"
        )
        err.print(f"[yellow]{every} reviewed gold[/] in {found.gold}", highlight=False)
    if not found.written:
        kept = f"{found.path} left as it was" if found.path and found.path.exists() else "no list written"
        out.print(f"nothing to annotate in {', '.join(map(str, runs))}; {kept}", highlight=False, soft_wrap=True)
        return
    out.print(
        f"wrote {found.path}; open it with: llmx annotate {runs[0]} --list {found.path}",
        highlight=False,
        soft_wrap=True,
    )
