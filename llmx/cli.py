"""The ``llmx`` command. The only place that prints errors and picks exit codes.

Library code raises :mod:`llmx.errors`; here an ``LlmxError`` becomes one red line and its exit
code. ``LLMX_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from llmx import local
from llmx._console import err, out
from llmx.articles import load_articles
from llmx.cassettes import CassetteMode, now_iso
from llmx.cli_local import local_group
from llmx.cli_score import compare, gold_group, score
from llmx.cli_view import view
from llmx.client import Gateway, make_client, public_url
from llmx.config import load_settings
from llmx.errors import LlmxError, UsageError
from llmx.extract import Extractor, build_extractor, run_all
from llmx.report import summary_table
from llmx.runs import ArticleResult, RunManifest, RunSummary, RunWriter, default_run_dir, read_results, to_csv

F = TypeVar("F", bound=Callable[..., Any])
# instructor logs every failed attempt at ERROR; llmx reports failures itself, once.
logging.getLogger("instructor").setLevel(logging.CRITICAL)


class LlmxGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LlmxError as error:
            if os.environ.get("LLMX_DEBUG"):
                raise
            err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
            sys.exit(error.exit_code)


@click.group(cls=LlmxGroup)
@click.version_option(package_name="llmx")
def main() -> None:
    """Turn news articles into a scored dataset of incidents with an LLM.

    \b
    The daily loop:
      llmx extract seeds/            # replay cassettes, or call the model for what changed
      llmx score runs/<run>          # precision / recall / F1 against gold/
      llmx compare runs/<a> runs/<b> # did the prompt edit help?
    """


def settings_options(func: F) -> F:
    for option in reversed(
        [
            click.option("--model", help="Model name sent to the server."),
            click.option("--prompt", help="Prompt template: a name in prompts/ or a .jinja path."),
            click.option("--schema", "schema", help="Schema: a name in schemas/ or a .py path."),
        ]
    ):
        func = option(func)
    return func


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@settings_options
@click.option(
    "--base-url", envvar="OPENAI_BASE_URL", help="Any OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1."
)
@click.option(
    "--local", "use_local", is_flag=True, help="Use the local llama-server (started if needed, see `llmx local`)."
)
@click.option(
    "--replay",
    "cassette_mode",
    flag_value="replay",
    help="Only replay cassettes; a miss is an error (default with no key).",
)
@click.option("--record", "cassette_mode", flag_value="record", help="Call the model for every request and record it.")
@click.option(
    "--auto", "cassette_mode", flag_value="auto", help="Replay what is recorded, record the rest (default with a key)."
)
@click.option("--cassettes", type=click.Path(path_type=Path), help="Cassette folder (default: cassettes/).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Run folder (default: runs/<timestamp>); re-use one to resume.",
)
@click.option("--concurrency", type=int, help="Articles in flight at once.")
@click.option("--mode", type=click.Choice(["json_schema", "tools", "md_json"]), help="How the schema is enforced.")
@click.option("--reasks", type=int, help="Re-asks after invalid or ungrounded output.")
@click.option("--timeout", type=float, help="Seconds per request.")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", help="Also write extractions.csv with csv."
)
def extract(
    inputs: tuple[str, ...],
    cassette_mode: CassetteMode | None,
    use_local: bool,
    base_url: str | None,
    fmt: str,
    out_dir: Path | None,
    **options: Any,
) -> None:
    """Extract incidents from articles: .txt files, folders, globs or JSONL ({id, text, date}).

    With no API key and no --base-url/--local, cassettes are replayed strictly: nothing is sent
    anywhere, and a request that changed since it was recorded is an error naming the change.
    """
    settings = load_settings(overrides={**options, "schema": options.pop("schema")})
    articles = load_articles(inputs, settings.max_article_chars)
    api_key = os.environ.get("OPENAI_API_KEY")
    served_by: dict[str, str] = {}
    extra_body = dict(settings.extra_body)
    if use_local:
        state = local.up(lambda step: err.print(f"[dim]local:[/] {step}"))
        base_url = state.base_url
        served_by = {
            "server": f"llama.cpp llama-server ({local.SERVER_PACKAGE})",
            "model_file": local.MODEL_FILE,
            "model_sha256": state.model_sha256,
        }
        extra_body.setdefault("cache_prompt", False)  # repeatable answers at temperature 0
    elif base_url or api_key:
        served_by = {"base_url": public_url(base_url or "https://api.openai.com/v1")}
    live_possible = bool(base_url or api_key)
    mode = cassette_mode or ("auto" if live_possible and not os.environ.get("CI") else "replay")
    if mode != "replay" and not live_possible:
        raise UsageError(f"--{mode} needs a model: set OPENAI_API_KEY, or pass --base-url URL or --local")
    client = make_client(api_key, base_url, settings.timeout) if live_possible else None
    extractor = build_extractor(settings, Gateway.from_settings(settings, client, mode, served_by, extra_body))
    for article in articles[:1]:
        extractor.prompt.render(article, extractor.schema)  # a template error is a usage error, before any call
    run_dir = out_dir or default_run_dir(settings.runs_dir)
    manifest = RunManifest(
        status="running",
        started_at=now_iso(),
        command=["llmx", *sys.argv[1:]],
        article_ids=[a.id for a in articles],
        settings={
            **settings.model_dump(mode="json", by_alias=True),
            "cassette_mode": mode,
            **served_by,
            # absolute, so `llmx view` finds the article texts from any folder
            "inputs": [str(Path(item).absolute()) for item in inputs],
        },
    )
    writer = RunWriter(run_dir, manifest)
    todo = [a for a in articles if a.id not in writer.done]
    # Everything loaded so far lives for the whole run; without this, every full collection
    # rescans all of it (1.3 s of 6.5 s when replaying 10k articles).
    gc.freeze()
    summary = _run_with_progress(extractor, todo, settings.concurrency, writer, mode, run_dir)
    for result in writer.done.values():
        summary.add(result)
    writer.close("complete", summary)
    if fmt == "csv":
        (run_dir / "extractions.csv").write_text(to_csv(read_results(run_dir)))
    out.print(summary_table(summary, mode, run_dir, resumed=len(writer.done)))
    _exit_for_failures(writer.failed)


def _run_with_progress(
    extractor: Extractor, todo: list[Any], concurrency: int, writer: RunWriter, mode: str, run_dir: Path
) -> Any:
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task(f"extracting ({mode})", total=len(todo))

        def on_result(result: ArticleResult) -> None:
            writer.append(result)
            progress.advance(task)

        async def run() -> tuple[RunSummary, bool]:
            # First Ctrl-C: take no new article, let the ones in flight finish (they are paid for
            # already) and be written. Second Ctrl-C: stop at once.
            loop, stop, main = asyncio.get_running_loop(), asyncio.Event(), asyncio.current_task()

            def on_interrupt() -> None:
                if stop.is_set() and main is not None:
                    main.cancel()
                    return
                stop.set()
                err.print("[yellow]interrupted:[/] finishing the articles in flight; Ctrl-C again to stop now")

            loop.add_signal_handler(signal.SIGINT, on_interrupt)
            try:
                return await run_all(extractor, todo, concurrency, on_result, stop), stop.is_set()
            finally:
                loop.remove_signal_handler(signal.SIGINT)

        try:
            summary, interrupted = asyncio.run(run())
        except (KeyboardInterrupt, asyncio.CancelledError):
            summary, interrupted = writer.manifest.summary, True
        if not interrupted:
            return summary
        progress.stop()
        writer.close("interrupted", summary)
        err.print(
            f"[yellow]interrupted:[/] {len(read_results(run_dir))} article(s) saved in {run_dir}; "
            f"resume with the same command plus --out {run_dir}"
        )
        sys.exit(130)


def _exit_for_failures(results: list[ArticleResult]) -> None:
    failed = [r for r in results if r.status == "failed"]
    for result in failed[:20]:
        assert result.error is not None
        message = result.error.message.removeprefix(f"article {result.article_id}: ")
        err.print(
            f"[red]failed[/] {result.article_id} ({result.error.kind}): {message}", highlight=False, soft_wrap=True
        )
    if len(failed) > 20:
        err.print(f"… and {len(failed) - 20} more failed articles; see extractions.jsonl")
    if any(r.error and r.error.kind == "cassette_miss" for r in failed):
        sys.exit(3)
    if failed:
        sys.exit(1)


@main.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", help="Output format.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to this file instead of stdout.")
def export(run: Path, fmt: str, output: Path | None) -> None:
    """Export a run as a flat table (one row per incident) for a spreadsheet."""
    results = read_results(run)
    text = to_csv(results) if fmt == "csv" else "".join(r.model_dump_json(by_alias=True) + "\n" for r in results)
    if output:
        output.write_text(text)
    else:
        click.echo(text, nl=False)


main.add_command(local_group)
main.add_command(score)
main.add_command(compare)
main.add_command(gold_group)
main.add_command(view)
