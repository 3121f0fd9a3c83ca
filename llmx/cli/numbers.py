"""A float option that is a number: ``nan`` and ``inf`` are refused where they are typed.

click's ``float`` takes ``nan`` and ``inf`` as Python does, and a range check lets ``nan``
through (every comparison with it is false): ``score --min-f1 nan`` would be a gate that never
fails, ``events --threshold nan`` a fusion that never merges, both exit 0.
"""

from __future__ import annotations

import math
from typing import Any

import click


class FiniteFloat(click.FloatRange):
    """``click.FloatRange`` (no bounds: any number) that refuses ``nan`` and ``±inf``."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if isinstance(number, float) and not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number
