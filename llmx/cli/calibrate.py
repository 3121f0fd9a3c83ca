"""``llmx calibrate RUN``: fit the project's confidence calibration on a scored run. Parsing and
printing only; the work is in :mod:`llmx.app.evaluation.calibration`."""

from __future__ import annotations

from pathlib import Path

import click

from llmx.cli.score import gold_option, schema_option
from llmx.core.calibration import METHODS


@click.command()
@click.argument("run", type=click.Path(path_type=Path))
@gold_option
@schema_option
@click.option(
    "--method",
    type=click.Choice(METHODS),
    default="platt",
    show_default=True,
    help="platt: logistic regression per field on the raw score, null or not, settled by a check or not; "
    "isotonic: a monotone step function of the raw score per field.",
)
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Write here (default: the calibration setting).")
def calibrate(run: Path, gold_dir: Path | None, schema_name: str | None, method: str, out: Path | None) -> None:
    """Fit how sure llmx is against gold: the confidences of RUN's values that gold scores
    become probabilities of being right, per field, saved in calibration.json and used by every
    later extract and score. Fit on articles you will not judge it on."""
    from llmx.app.evaluation.calibration import calibrate_run
    from llmx.app.evaluation.score import score_run_folder
    from llmx.cli.console import out as console
    from llmx.inputs.config import load_settings

    settings = load_settings(require_project=True)
    scored = score_run_folder(run, settings, gold_dir, schema_name)
    calibration, count, path = calibrate_run(run, scored.score, scored.results, settings, method, out)  # type: ignore[arg-type]
    own = [name for name in calibration.models if name != "*"]
    console.print(
        f"saved {path}: {method} on {count} scored values of {len(calibration.fitted_on['articles'])} articles; "
        f"fields with their own fit: {', '.join(own) or 'none (one fit for all)'}",
        highlight=False,
        soft_wrap=True,
    )
