"""``llmx view``: write the HTML viewer page (:mod:`llmx.viewer`) for a run, or two.

This is the I/O around the pure renderer: read the run(s), score them when there is gold,
find the article texts, write the page. A run records results and offsets, not texts, so the
texts come from ``--articles`` or, by default, from the inputs ``llmx extract`` recorded.
"""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import ValidationError

from llmx._console import err, out
from llmx.articles import load_articles
from llmx.cli_score import Scored, gold_option, score_one
from llmx.config import Settings, load_settings
from llmx.errors import OutputError, RunError, UsageError
from llmx.report import run_facts
from llmx.runs import RunManifest, read_results
from llmx.scoring import MIN_SIMILARITY
from llmx.viewer import ViewRun, render_view


def recorded_inputs(run: Path) -> list[str] | None:
    """The article inputs ``llmx extract`` recorded in run.json, or None (older runs lack them)."""
    try:
        manifest = RunManifest.model_validate_json((run / "run.json").read_bytes())
    except (OSError, ValidationError):
        return None
    inputs = manifest.settings.get("inputs")
    return [str(i) for i in inputs] if isinstance(inputs, list) and inputs else None


def load_texts(runs: list[Path], articles: tuple[str, ...], required: bool = True) -> dict[str, str]:
    """Article id → text, from ``articles`` or each run's recorded inputs."""
    inputs = list(articles)
    if not inputs:
        for run in runs:
            recorded = recorded_inputs(run)
            if recorded is None:
                if required:
                    raise UsageError(f"{run}: run.json does not say where the articles are; pass --articles INPUT")
                err.print(f"[yellow]no article texts[/]: {run}/run.json does not say where the articles are")
                return {}
            inputs += [i for i in recorded if i not in inputs]
    return {article.id: article.text for article in load_articles(inputs)}


def view_run(
    run: Path, settings: Settings, gold_dir: Path | None, texts: dict[str, str], scored: Scored | None = None
) -> ViewRun:
    """A run as the viewer takes it; scored against gold when there is gold for its articles."""
    results = read_results(run)
    if scored is None:
        scored = _score_if_gold(run, settings, gold_dir)
    viewed = ViewRun(
        name=run.name or str(run),
        results=results,
        texts=texts,
        score=scored.score if scored else None,
        facts=scored.facts if scored else run_facts(results, settings.prices),
        evidence_field=(scored.schema.evidence_field if scored else None) or "evidence",
    )
    _warn_about_texts(run, viewed)
    return viewed


def _score_if_gold(run: Path, settings: Settings, gold_dir: Path | None) -> Scored | None:
    folder = gold_dir or settings.gold
    if not folder.is_dir() or not any(folder.glob("*.json")):
        err.print(f"[yellow]not scored[/]: no gold files in {folder}")
        return None
    scored = score_one(run, settings, gold_dir, None, MIN_SIMILARITY)
    if not scored.score.articles:
        err.print(f"[yellow]not scored[/]: {folder} has gold for none of the articles of {run}")
        return None
    return scored


def _warn_about_texts(run: Path, viewed: ViewRun) -> None:
    """Offsets only mean something in the text that was extracted: say when it is absent or edited."""
    texts = viewed.texts
    if not texts:
        return
    absent = [r.article_id for r in viewed.results if r.article_id not in texts]
    if absent:
        err.print(f"[yellow]no text[/] for {len(absent)} article(s) of {run}, e.g. {absent[0]}; pass --articles")
    edited = sorted(
        {
            r.article_id
            for r in viewed.results
            if r.article_id in texts
            for item in r.incidents
            if (g := item.grounding) and g.status == "exact"
            if texts[r.article_id][g.start : g.end] != str(item.record.get(viewed.evidence_field, "")).strip()
        }
    )
    if edited:
        err.print(f"[yellow]text changed[/] since {run} was extracted, highlights may be off: {', '.join(edited[:5])}")


def _check_folder(output: Path) -> None:
    if not output.parent.is_dir():
        raise UsageError(f"{output.parent}: no such folder; create it or write the page elsewhere")


def write_page(runs: list[ViewRun], output: Path) -> None:
    _check_folder(output)
    try:
        output.write_text(render_view(runs), encoding="utf-8")
    except OSError as error:
        raise OutputError(f"{output}: cannot write the page ({error.strerror})") from error


@click.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.argument("run_b", required=False, type=click.Path(path_type=Path))
@gold_option
@click.option(
    "--articles",
    multiple=True,
    metavar="INPUT",
    help="Where the article texts are (files, folders, globs, JSONL; repeatable). Default: the run's inputs.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="HTML file (default: RUN/view.html, or RUN_B/view-vs-RUN.html).",
)
def view(run: Path, run_b: Path | None, gold_dir: Path | None, articles: tuple[str, ...], output: Path | None) -> None:
    """Write one self-contained HTML page to see a run: each article with its incidents'
    evidence highlighted, a card per incident, matched / missed / spurious against gold.
    With RUN_B, the two runs side by side, the articles that changed first."""
    paths = [run, *([run_b] if run_b else [])]
    for path in paths:
        if not (path / "extractions.jsonl").is_file():
            raise RunError(f"{path}: not a run (no extractions.jsonl); pass a folder written by `llmx extract`")
    target = output or (run_b / f"view-vs-{run.name}.html" if run_b else run / "view.html")
    _check_folder(target)  # before the work, not after
    settings = load_settings()
    texts = load_texts(paths, articles)
    runs = [view_run(path, settings, gold_dir, texts) for path in paths]
    if run_b and runs[0].name == runs[1].name:
        runs[0].name, runs[1].name = str(run), str(run_b)
    write_page(runs, target)
    out.print(str(target), highlight=False, soft_wrap=True)
