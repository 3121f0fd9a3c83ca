"""The viewer page of a run, or two: the use case behind ``llmx view`` and ``llmx score --html``.

A run records results and offsets, not texts, so the texts come from the inputs given, or from
the inputs ``llmx extract`` recorded in run.json (read with the columns it recorded), except the
texts llmx derived itself (saved HTML pages), which the run kept (``RUN/articles.jsonl``) and
which win. Runs are scored when there is gold for them.
What the reader should know (no texts, texts edited since extraction, no gold) comes back as
notes for the CLI to show; nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from llmx.app.evaluation.score import NothingToScore, Scored, run_facts, score_results
from llmx.errors import ArticleError, OutputError, RunError, UsageError
from llmx.extraction.confidence import calibrated
from llmx.inputs.articles import load_articles
from llmx.inputs.calibration import load_calibration
from llmx.inputs.config import Settings
from llmx.inputs.corpus import read_kept_texts
from llmx.inputs.tables import Columns
from llmx.runs.files import atomic_write, check_writable_file
from llmx.runs.folder import read_manifest, read_results
from llmx.viewer.page import ViewRun, render_view


@dataclass
class ViewPage:
    runs: list[ViewRun]
    notes: list[str] = field(default_factory=list)


def load_texts(
    runs: list[Path], articles: list[str], notes: list[str], required: bool = True, settings: Settings | None = None
) -> dict[str, str]:
    """Article id → text: the texts each run kept, then ``articles`` (read with the project's
    columns) or else each run's recorded inputs (with the columns the run recorded)."""
    kept: dict[str, str] = {}
    for run in runs:
        kept.update({aid: article.text for aid, article in read_kept_texts(run).items()})
    if articles:
        read = load_articles(articles, columns=Columns.of(settings) if settings else None)
        return {**{article.id: article.text for article in read}, **kept}
    texts: dict[str, str] = {}
    done: list[str] = []
    for run in runs:
        manifest = read_manifest(run)
        if manifest is None or not manifest.inputs:
            if kept:
                continue
            if required:
                raise UsageError(f"{run}: run.json does not say where the articles are; pass --articles INPUT")
            notes.append(f"no article texts: {run}/run.json does not say where the articles are")
            return {}
        inputs = [i for i in manifest.inputs if i not in done]
        done += inputs
        if inputs:  # the pages' texts are the ones the run kept, not the pages read again
            try:
                read = load_articles(inputs, columns=Columns.of(manifest.settings), html=False)
            except ArticleError as error:  # a run (or its articles) moved since: say what finds them
                message = f"{run}: the articles this run read cannot be read again ({error}); pass --articles INPUT"
                if required:
                    raise UsageError(f"{message} (where the articles are now)") from error
                notes.append(message)
                continue
            texts.update({article.id: article.text for article in read})
    return {**texts, **kept}


def view_run(
    run: Path,
    settings: Settings,
    gold_dir: Path | None,
    texts: dict[str, str],
    notes: list[str],
    scored: Scored | None = None,
    schema_name: str | None = None,
) -> ViewRun:
    """A run as the viewer takes it; scored against gold when there is gold for its articles."""
    results = read_results(run)
    if scored is None:
        scored = _score_if_gold(run, results, settings, gold_dir, notes, schema_name)
    calibration = load_calibration(settings.calibration)
    for item in (item for result in results for item in result.incidents if item.confidence_raw is not None):
        item.confidence, item.calibrated = calibrated(item, calibration), calibration is not None  # as now fitted
    viewed = ViewRun(
        name=run.name or str(run),
        results=results,
        texts=texts,
        score=scored.score if scored else None,
        facts=scored.facts if scored else run_facts(results, settings),
        evidence_field=(scored.schema.evidence_field if scored else None) or "evidence",
        confidence=scored.confidence if scored else None,
    )
    notes.extend(_text_notes(run, viewed))
    return viewed


def _score_if_gold(
    run: Path,
    results: list,
    settings: Settings,
    gold_dir: Path | None,
    notes: list[str],  # type: ignore[type-arg]
    schema_name: str | None = None,
) -> Scored | None:
    folder = gold_dir or settings.gold
    if not folder.is_dir() or not any(folder.glob("*.json")):
        notes.append(f"not scored: no gold files in {folder}")
        return None
    try:
        return score_results(run, results, settings, gold_dir, schema_name)
    except NothingToScore as error:
        notes.append(f"not scored: {error}")
        return None


def _text_notes(run: Path, viewed: ViewRun) -> list[str]:
    """Offsets only mean something in the text that was extracted: say when it is absent or edited."""
    texts = viewed.texts
    if not texts:
        return []
    notes = []
    absent = [r.article_id for r in viewed.results if r.article_id not in texts]
    if absent:
        notes.append(f"no text for {len(absent)} article(s) of {run}, e.g. {absent[0]}; pass --articles")
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
        notes.append(f"text changed since {run} was extracted, highlights may be off: {', '.join(edited[:5])}")
    return notes


def check_page_path(output: Path) -> None:
    """Before the work: the page can be written there (an existing page is replaced, never a
    file of another kind: a gold file, a cassette or a run's data named by mistake)."""
    check_writable_file(output, force=True, example="view.html")
    if output.suffix.lower() not in (".html", ".htm") and not output.is_dir():
        raise OutputError(f"{output}: a page's name ends in .html, e.g. {output.with_suffix('.html')}", output)


def build_page(
    runs: list[Path],
    settings: Settings,
    gold_dir: Path | None = None,
    articles: list[str] | None = None,
    schema_name: str | None = None,
) -> ViewPage:
    for path in runs:
        if not (path / "extractions.jsonl").is_file():
            raise RunError(f"{path}: not a run (no extractions.jsonl); pass a folder written by `llmx extract`")
    notes: list[str] = []
    texts = load_texts(runs, articles or [], notes, settings=settings)
    viewed = [view_run(path, settings, gold_dir, texts, notes, schema_name=schema_name) for path in runs]
    if len(viewed) == 2 and viewed[0].name == viewed[1].name:
        viewed[0].name, viewed[1].name = str(runs[0]), str(runs[1])
    return ViewPage(viewed, notes)


def write_page(page: ViewPage, output: Path) -> Path:
    check_page_path(output)
    atomic_write(output, render_view(page.runs))
    return output


def build_events_page(
    run: Path, settings: Settings, gold_dir: Path | None = None, articles: list[str] | None = None
) -> tuple[str, list[str]]:
    """The events page of a run (``llmx view RUN --events``) and the notes for its reader; against
    gold when gold names events (false and missed merges marked)."""
    from llmx.app.evaluation.events import fuse_run, score_fused
    from llmx.viewer.events_page import render_events

    fused = fuse_run(run, settings, articles)
    notes = list(fused.notes)
    texts = load_texts([run], articles or [], notes, required=False, settings=settings)
    scored = _score_if_gold(run, read_results(run), settings, gold_dir, notes)
    score = score_fused(fused, scored.score) if scored and scored.events is not None else None
    if scored and scored.events is None:
        notes.append("fusion not scored: no gold record names an event")
    names = list(fused.schema.record_model.model_fields)
    return render_events(fused.events, texts, run.name or str(run), names, score), notes


def write_events_page(html: str, output: Path) -> Path:
    check_page_path(output)
    atomic_write(output, html)
    return output
