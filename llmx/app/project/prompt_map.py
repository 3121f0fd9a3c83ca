"""Which files a run reads: per strategy (``llmx prompts``), for a finished run (its recipe's
``prompt_files``), and which edits of ``prompts/`` it did not read (the note after ``llmx extract``).

An edit to a template the strategy never reads changes nothing; without a word, a user takes
the unchanged scores for the edit's effect. The note is said once: for a template edited after
the last run began that this run did not read, so a file left alone stays quiet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from llmx.core.modes import STRATEGIES
from llmx.errors import ConfigError, PromptError, RunError, SchemaError
from llmx.inputs.config import Settings
from llmx.inputs.prompts import shown_path
from llmx.runs.folder import read_manifest


@dataclass(frozen=True)
class StrategyFiles:
    strategy: str
    files: dict[str, str]  # shown path → sha256, as a run's recipe records them
    error: str | None = None  # why this strategy cannot run with these settings (a template missing...)


def strategy_files(settings: Settings) -> list[StrategyFiles]:
    """Every strategy, with the files it reads under ``settings`` (its ``prompt``, ``recall_prompt``):
    the extractor each would build says, so this cannot drift from what a run records."""
    from llmx.extraction.extractor import build_extractor  # instructor: only when asked

    found = []
    for strategy in STRATEGIES:
        try:
            extractor = build_extractor(settings.model_copy(update={"strategy": strategy}))
        except (PromptError, ConfigError, SchemaError) as error:
            found.append(StrategyFiles(strategy, {}, str(error)))
            continue
        found.append(StrategyFiles(strategy, extractor.recipe.prompt_files))
    return found


def unread_templates(settings: Settings, read: dict[str, str]) -> list[str]:
    """The templates of ``prompts/`` a run that read ``read`` did not."""
    return [shown for path in sorted(settings.prompts_dir.glob("*.jinja")) if (shown := shown_path(path)) not in read]


def files_read(run: Path) -> dict[str, str]:
    """The files a run folder's recipe says its strategy read ({} for a run from before it said)."""
    manifest = read_manifest(run)
    return dict(manifest.recipe.get("prompt_files") or {}) if manifest else {}


@dataclass(frozen=True)
class UnreadEdit:
    path: str  # the template edited
    since: Path  # the run it was edited after


def unread_edits(settings: Settings, read: dict[str, str], run: Path) -> list[UnreadEdit]:
    """Templates of ``prompts/`` edited since the last other run in ``runs_dir`` began, that ``run``
    (which read ``read``) did not read. None when there is no earlier run to be edited since."""
    last = _last_run(settings.runs_dir, run)
    if last is None:
        return []
    folder, started = last
    edits = []
    for shown in unread_templates(settings, read):
        path = settings.prompts_dir / Path(shown).name
        if path.stat().st_mtime > started:
            edits.append(UnreadEdit(shown, folder))
    return edits


def _last_run(runs_dir: Path, other_than: Path) -> tuple[Path, float] | None:
    """The run folder of ``runs_dir`` (besides ``other_than``) that began last, and when."""
    latest: tuple[Path, float] | None = None
    if not runs_dir.is_dir():
        return None
    for folder in runs_dir.iterdir():
        if not folder.is_dir() or folder.resolve() == other_than.resolve():
            continue
        try:
            manifest = read_manifest(folder)
            started = datetime.fromisoformat(manifest.started_at).timestamp() if manifest else None
        except (RunError, ValueError, OSError):  # a folder that is not a run, or a manifest half written: not a run
            continue
        if started is not None and (latest is None or started > latest[1]):
            latest = (folder, started)
    return latest
