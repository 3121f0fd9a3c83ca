"""``llmx sample RUN… --n N``: the next articles to annotate, written as a list the annotate page
opens (``llmx annotate RUN --list FILE``).

Runs are compared pairwise with llmx's own matching (as ``llmx compare`` and ``llmx score``
match: the same-incident gate and Hungarian matching), the first run of each pair standing in
for gold; the counts become a ranking in :mod:`llmx.core.sampling`. Articles that already have
reviewed gold are left out (drafts are not: they still need a person).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from llmx.app.evaluation.calibration import expected_wrong
from llmx.core.calibration import Calibration
from llmx.core.sampling import Doubt, SampleBy, rank
from llmx.core.scoring import score_run
from llmx.errors import UsageError
from llmx.inputs.aliases import Aliases, load_aliases
from llmx.inputs.calibration import load_calibration
from llmx.inputs.config import Settings
from llmx.inputs.gold import read_gold_folder
from llmx.inputs.schemas import SchemaSpec, load_schema
from llmx.runs.files import atomic_write, check_writable_file
from llmx.runs.folder import read_results
from llmx.runs.results import ArticleResult


@dataclass
class Sample:
    runs: list[Path]
    chosen: list[Doubt]
    candidates: int  # articles ranked
    annotated: list[str] = field(default_factory=list)  # left out: reviewed gold exists
    path: Path | None = None
    gold: Path | None = None
    written: bool = False  # False: nothing to list, so the last list at ``path`` was left as it was


def sample(
    runs: list[Path],
    settings: Settings,
    n: int,
    gold_dir: Path | None = None,
    out: Path | None = None,
    schema_name: str | None = None,
    by: SampleBy = "points",
) -> Sample:
    if n < 1:
        raise UsageError(f"--n {n}: ask for at least one article")
    by_run = [{r.article_id: r for r in read_results(run)} for run in runs]
    target = out or runs[0] / "sample.txt"
    check_writable_file(target, force=True, example="sample.txt")
    schema = load_schema(schema_name or settings.schema_name, settings.schemas_dir)
    ids = sorted(set().union(*by_run))
    folder = gold_dir or settings.gold
    reviewed = _reviewed(folder, schema)
    disagreement = _disagreement(by_run, ids, schema, load_aliases(settings.aliases))
    calibration = load_calibration(settings.calibration)
    doubts = [_doubt(aid, by_run, disagreement[aid], calibration) for aid in ids if aid not in reviewed]
    if by == "doubt" and not any(d.unsure for d in doubts):
        raise UsageError(
            "--by doubt: no record of these runs has a confidence (runs made before confidences, or answers "
            "without token log-probabilities); extract again with logprobs = true, or sample by points"
        )
    chosen = rank(doubts, n, by)
    result = Sample(runs, chosen, len(doubts), sorted(reviewed & set(ids)), target, folder)
    if chosen:  # an empty list would overwrite the last one, which may still be being annotated
        atomic_write(target, list_text(result))
        result.written = True
    return result


def _reviewed(folder: Path, schema: SchemaSpec) -> set[str]:
    """Articles with reviewed gold (drafts are not reviewed: they still need a person)."""
    if not folder.is_dir() or not any(folder.glob("*.json")):
        return set()
    return set(read_gold_folder(folder, schema).gold)


def _disagreement(
    by_run: list[dict[str, ArticleResult]], ids: list[str], schema: SchemaSpec, aliases: Aliases
) -> dict[str, float]:
    """Per article, the mean over run pairs of missed + spurious incidents + differing values, the
    first run of each pair standing in for gold."""
    disagreement = dict.fromkeys(ids, 0.0)
    pairs = list(itertools.combinations(range(len(by_run)), 2))
    for i, j in pairs:
        common = [aid for aid in ids if _ok(by_run[i].get(aid)) and _ok(by_run[j].get(aid))]
        if not common:
            continue
        score = score_run(
            {aid: [x.record for x in by_run[j][aid].incidents] for aid in common},
            {aid: [x.record for x in by_run[i][aid].incidents] for aid in common},
            schema.fields,
            aliases,
            schema.evidence_field,
        )
        for aid in common:
            article = score.articles[aid]
            differing = sum(len(pair.differing) for pair in article.matched)
            disagreement[aid] += (len(article.missed) + len(article.spurious) + differing) / len(pairs)
    return disagreement


def _doubt(
    aid: str, by_run: list[dict[str, ArticleResult]], disagreement: float, calibration: Calibration | None
) -> Doubt:
    found = [run[aid] for run in by_run if aid in run]
    ok = [r for r in found if _ok(r)]
    return Doubt(
        aid,
        round(disagreement, 4),
        _mean([r.values_removed for r in ok]),
        _mean([r.ungrounded for r in ok]),
        failed=len(found) - len(ok),
        unsure=_unsure(ok, calibration),
    )


def _mean(values: list[int]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def _unsure(results: list[ArticleResult], calibration: Calibration | None) -> float:
    wrong = [w for w in (expected_wrong(r, calibration) for r in results) if w is not None]
    return round(sum(wrong) / len(wrong), 4) if wrong else 0.0


def _ok(result: ArticleResult | None) -> bool:
    return result is not None and result.status == "ok"


def list_text(found: Sample) -> str:
    """The list file: one article id per line, most doubtful first; ``#`` comments say why."""
    runs = " ".join(str(r) for r in found.runs)
    lines = [
        f"# llmx sample {runs}: the next {len(found.chosen)} article(s) to annotate, most doubtful first",
        f"# open them with: llmx annotate {found.runs[0]} --list {found.path}",
    ]
    for d in found.chosen:
        lines.append(
            f"{d.article_id}  # {d.points:g} points: {d.disagreement:g} disagreement between runs, "
            f"{d.removed:g} values removed, {d.ungrounded:g} ungrounded"
            + (f", {d.unsure:g} values likely wrong" if d.unsure else "")
            + (f", failed in {d.failed} run(s)" if d.failed else "")
        )
    return "\n".join(lines) + "\n"
