"""The ``llmx`` command: parse options, call the application layer, print. The only place that
prints errors and picks exit codes, and those come from the exception classes.

Library code raises :mod:`llmx.errors`; here an ``LlmxError`` becomes one red line and its exit
code. ``LLMX_DEBUG=1`` also shows the traceback. Heavy libraries (openai, instructor, scipy) are
imported inside the commands that need them, so ``llmx --help`` starts fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from llmx.cli import gold as _gold_commands  # noqa: F401 (adds draft and agree to `llmx gold`)
from llmx.cli.annotate import annotate, sample
from llmx.cli.calibrate import calibrate
from llmx.cli.cassettes import cassettes_group
from llmx.cli.events import events
from llmx.cli.export import export
from llmx.cli.init import init
from llmx.cli.last_line import fail
from llmx.cli.local import local_group
from llmx.cli.numbers import FiniteFloat
from llmx.cli.prompts import note_unread_edits, prompts
from llmx.cli.ray_extract import engine_choice, engine_options
from llmx.cli.score import compare, gold_group, score
from llmx.cli.view import view
from llmx.core.modes import STRATEGIES
from llmx.errors import LlmxError, UsageError


class LlmxGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (LlmxError, OSError) as error:
            fail(error)


@click.group(cls=LlmxGroup)
@click.version_option(package_name="llmx-incidents")
def main() -> None:
    """Turn news articles into a scored dataset of incidents with an LLM.

    \b
    The daily loop (`llmx init` starts a project):
      llmx extract seeds/            # replay cassettes, or call the model for what changed
      llmx score runs/<run>          # precision / recall / F1 against gold/
      llmx compare runs/<a> runs/<b> # did the prompt edit help?
      llmx events runs/<run>         # one row per attack across the articles that report it
    """


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--model", help="Model name sent to the server.")
@click.option("--prompt", help="Prompt template: a name in prompts/ or a .jinja path.")
@click.option("--schema", "schema", help="Schema: a name in schemas/ or a .py path.")
@click.option(
    "--base-url", envvar="OPENAI_BASE_URL", help="Any OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1."
)
@click.option(
    "--local", "use_local", is_flag=True, help="Use the local llama-server (started if needed, see `llmx local`)."
)
# Three flags, not one option with three values: given together they contradict each other and
# are refused (one value would silently win, and --record makes paid calls).
@click.option("--replay", is_flag=True, help="Only replay cassettes; a miss is an error (default with no model).")
@click.option("--record", is_flag=True, help="Call the model for every request and record it.")
@click.option("--auto", is_flag=True, help="Replay what is recorded, record the rest (default with a model).")
@click.option("--cassettes", type=click.Path(path_type=Path), help="Cassette folder (default: cassettes/).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Run folder (default: runs/<timestamp>); re-use one to resume.",
)
@click.option(
    "--redo-changed",
    is_flag=True,
    help="Resume a run folder made with other settings, redoing the articles those settings made.",
)
@click.option("--concurrency", type=int, help="Articles in flight at once.")
@click.option("--mode", help="How the schema is enforced: json_schema, tools or md_json.")
@click.option(
    "--strict/--no-strict",
    default=None,
    help="Strict structured outputs: the server follows the schema exactly, and llmx checks the schema "
    "meets their rules before any request (default: strict in [tool.llmx], else on).",
)
# No envvar (openai's Azure client reads OPENAI_API_VERSION): one left set for other tools would
# silently turn every other server into "Azure", paths and headers included.
@click.option(
    "--api-version",
    help="Azure OpenAI api-version, e.g. 2024-10-21: the key (AZURE_OPENAI_API_KEY) goes as api-key, "
    "--model is the deployment.",
)
@click.option(
    "--strategy",
    type=click.Choice(list(STRATEGIES)),
    help="evidence (default): mark the sentences reporting attacks, chunk by chunk, then fill one record each; "
    "single: one pass; two_pass: then a recall pass, shown what was found, asked only for the rest.",
)
@click.option("--reasks", type=int, help="Re-asks after invalid or ungrounded output.")
@click.option("--verify-reasks", type=int, help="Re-asks spent on values the article does not support (else nulled).")
@click.option(
    "--timeout", type=FiniteFloat(), help="Seconds for a whole answer, retried after (default 180; 900 with --local)."
)
@click.option("--article-timeout", type=FiniteFloat(), help="Seconds per article in all, re-asks included.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "parquet"]),
    default="jsonl",
    help="Also write the table as extractions.csv (csv) or extractions.parquet (parquet).",
)
@click.option("--id-column", help="Column of a CSV/TSV/Parquet/JSONL corpus with the article id (default: id).")
@click.option("--text-column", help="Column with the article text (default: text).")
@click.option("--date-column", help="Column with the publication date, YYYY-MM-DD (default: date, if there).")
@click.option("--title-column", help="Column with the headline (default: title, if there).")
@click.option(
    "--max-cost",
    type=FiniteFloat(),
    help="USD the run folder may spend; then no new article starts (those in flight finish), exit 5.",
)
@click.option(
    "--batch",
    "use_batch",
    is_flag=True,
    help="Send what the cassettes lack as an OpenAI Batch API job (batch price, up to 24 h); run again to resume.",
)
@click.option("--poll", "batch_poll_seconds", type=FiniteFloat(), help="With --batch: seconds between status checks.")
@click.option("--no-wait", is_flag=True, help="With --batch: submit, print how to collect, exit 0.")
@engine_options
def extract(
    inputs: tuple[str, ...],
    replay: bool,
    record: bool,
    auto: bool,
    use_batch: bool,
    no_wait: bool,
    use_local: bool,
    base_url: str | None,
    fmt: str,
    out_dir: Path | None,
    redo_changed: bool,
    **options: Any,
) -> None:
    """Extract incidents from articles: .txt files, folders, globs, corpora (CSV, TSV, Parquet,
    JSONL: one article per row, columns named by --id-column/--text-column/...) and saved HTML
    pages (main text and date taken by trafilatura).

    With no API key and no --base-url/--local, cassettes are replayed strictly: nothing is sent
    anywhere, and a request that changed since it was recorded is an error naming the change.
    """
    from llmx.app.api import plan_extraction
    from llmx.cli.console import err, out
    from llmx.cli.report import summary_table
    from llmx.inputs.config import load_settings

    given = [name for name, on in (("--replay", replay), ("--record", record), ("--auto", auto)) if on]
    if len(given) > 1:
        raise UsageError(f"{' and '.join(given)} contradict each other: pass one of --replay, --record, --auto")
    engine, ray = engine_choice(options)  # first: --engine and --ray-* are not settings
    settings = load_settings(overrides=options, require_project=True)
    batch = None
    if use_batch:
        from llmx.batch.rounds import BatchOptions

        batch = BatchOptions(poll_seconds=settings.batch_poll_seconds, wait=not no_wait)
    job = plan_extraction(
        list(inputs),
        settings,
        out=out_dir,
        policy=given[0].removeprefix("--") if given else None,  # type: ignore[arg-type]
        base_url=base_url,
        local=use_local,
        engine=engine,
        ray=ray,
        batch=batch,
        redo_changed=redo_changed,
        command=["llmx", *sys.argv[1:]],
        export_format=fmt if fmt != "jsonl" else None,
        on_local=lambda step: err.print(f"[dim]local:[/] {step}"),
    )
    label = "batch" if batch is not None else f"ray, {job.policy}" if ray else job.policy
    outcome = _execute_with_progress(job, label)
    if outcome.batch is not None and outcome.batch.pending:
        from llmx.cli.batch import print_pending

        print_pending(outcome, inputs)
        sys.exit(0)
    if outcome.interrupted:
        err.print(
            f"[yellow]interrupted:[/] {outcome.summary.articles} article(s) saved in {outcome.run_dir}; "
            f"resume with the same command plus --out {outcome.run_dir}"
        )
        sys.exit(outcome.exit_code)
    from llmx.app.project.prompt_map import files_read

    files = files_read(outcome.run_dir)
    out.print(summary_table(outcome.summary, label, outcome.run_dir, resumed=outcome.resumed, files=files))
    note_unread_edits(settings, outcome.run_dir, files)
    if outcome.batch is not None:
        from llmx.cli.batch import print_ignored

        print_ignored(outcome)
    _report_failures(outcome, inputs)
    if outcome.over_budget is not None:
        err.print(
            f"[yellow]over budget:[/] {outcome.over_budget}; resume with the same command plus "
            f"--out {outcome.run_dir} and a higher --max-cost",
            highlight=False,
            soft_wrap=True,
        )
    sys.exit(outcome.exit_code)


def _execute_with_progress(job: Any, label: str) -> Any:
    """The run with one progress bar of its articles (and, under --batch, a line per batch)."""
    from llmx.cli.console import err, progress_bar

    batch = job.batch is not None
    what = "the batch keeps running at the provider" if batch else "finishing the articles in flight"
    progress = progress_bar()
    task = progress.add_task(f"extracting ({label})", total=None)
    if batch:
        from llmx.cli.batch import show_batch_status

        show_batch_status(job.batch, progress)

    def start(run: Any) -> None:  # shown once every check has passed: an error stays one line
        progress.update(task, total=run.todo_count)
        progress.start()

    from llmx.app.run.engines import extract_articles
    from llmx.app.run.extraction_run import RunHooks

    try:
        return extract_articles(
            job,
            RunHooks(
                on_start=start,
                on_result=lambda result: progress.advance(task),
                on_interrupt=lambda: err.print(f"[yellow]interrupted:[/] {what}; Ctrl-C again to stop now"),
            ),
        )
    finally:
        progress.stop()


def _report_failures(outcome: Any, inputs: tuple[str, ...]) -> None:
    from llmx.cli.console import err
    from llmx.cli.safe_text import markup

    failed = outcome.failed
    for result in failed[:20]:
        message = result.error.message.removeprefix(f"article {result.article_id}: ")
        err.print(
            f"[red]failed[/] {markup(result.article_id)} ({markup(result.error.kind)}): {markup(message)}",
            highlight=False,
            soft_wrap=True,
        )
    if len(failed) > 20:
        err.print(f"… and {len(failed) - 20} more failed articles; see {outcome.run_dir / 'extractions.jsonl'}")
    if any(r.error.kind == "cassette_miss" for r in failed):
        again = " ".join(["llmx extract", *inputs, "--out", str(outcome.run_dir)])
        err.print(
            f"to record what is missing (the rest replays): {again} --auto --local "
            "(or --base-url URL, or with OPENAI_API_KEY set)",
            highlight=False,
            soft_wrap=True,
        )


main.add_command(init)
main.add_command(export)
main.add_command(local_group)
main.add_command(cassettes_group)
main.add_command(score)
main.add_command(calibrate)
main.add_command(compare)
main.add_command(gold_group)
main.add_command(view)
main.add_command(annotate)
main.add_command(sample)
main.add_command(events)
main.add_command(prompts)
