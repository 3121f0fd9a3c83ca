"""The project's calibration (``calibration.json`` beside its config, the ``calibration``
setting): written by ``llmx calibrate``, read by extraction and scoring, so a run with no gold
still gets probabilities. A project without one has raw confidences, and says so."""

from __future__ import annotations

import json
from pathlib import Path

from llmx.core.calibration import Calibration
from llmx.errors import ConfigError
from llmx.runs.files import atomic_write, read_text


def load_calibration(path: Path) -> Calibration | None:
    """The calibration at ``path``; None when there is no such file."""
    if not path.is_file():
        return None
    try:
        return Calibration.from_dict(json.loads(read_text(path, "the calibration")))
    except (ValueError, TypeError, KeyError) as error:
        raise ConfigError(
            f"{path}: not a calibration llmx can read ({error}); write it again with `llmx calibrate RUN`, "
            "or delete it (confidences are then raw)",
            "calibration",
        ) from error


def save_calibration(calibration: Calibration, path: Path) -> None:
    atomic_write(path, json.dumps(calibration.to_dict(), indent=1) + "\n")
