"""Agreement between two annotations of the same incidents: Krippendorff's alpha per field. Pure.

Alpha is computed by the ``krippendorff`` package (Castro's implementation of Krippendorff's
coincidence-matrix formula), at the nominal level: llmx scores every field as "the same value
or not" (dates by prefix, places by alias, counts within a tolerance), so agreement is measured
the same way. Each matched pair of incidents is a unit with one value per annotator. A value
the field's match rule calls equal to the other side's is coded as that side's value, so
"Islamic Resistance of Iraq" and "Islamic Resistance in Iraq" agree exactly when scoring says
they do. ``null`` ("not reported") is a value like any other: one annotator saying "3 killed"
and the other "not reported" is a disagreement. A field one side did not annotate is missing
data, as alpha defines it (the unit is then not pairable for that field).
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MISSING = object()  # a field an annotator left out (not annotated), not a value


@dataclass(frozen=True)
class FieldAgreement:
    name: str
    units: int  # matched incidents where both sides annotated the field
    agreed: int  # of those, how many have the same value
    alpha: float | None  # None: undefined (no unit, or every value the same: no variation to agree on)

    @property
    def percent(self) -> float | None:
        return self.agreed / self.units if self.units else None


def nominal_alpha(rows: Sequence[Sequence[Hashable | None]]) -> float | None:
    """Krippendorff's alpha, nominal, for ``rows[coder][unit]`` (``None``: the coder gave no value).

    None when alpha is undefined: fewer than two pairable values, or only one distinct value among
    them (expected disagreement 0)."""
    import krippendorff  # imported on first use: only `llmx gold agree` and the annotate page need it

    width = max((len(row) for row in rows), default=0)
    if not rows or width == 0:
        return None
    pairable = [[row[u] for row in rows if u < len(row) and row[u] is not None] for u in range(width)]
    values = [v for unit in pairable if len(unit) >= 2 for v in unit]
    if len(set(values)) < 2:
        return None
    codes = {value: code for code, value in enumerate(sorted(set(values), key=repr))}
    data = np.full((len(rows), width), np.nan)
    for c, row in enumerate(rows):
        for u, value in enumerate(row):
            if value is not None and value in codes:
                data[c, u] = codes[value]
    alpha = float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    return None if math.isnan(alpha) else alpha


def field_agreement(name: str, units: Sequence[tuple[Any, Any, bool]]) -> FieldAgreement:
    """Alpha for one field over ``(value in A, value in B, equal under the field's rule)`` per
    matched pair; :data:`MISSING` for a side that did not annotate the field."""
    row_a: list[Hashable | None] = []
    row_b: list[Hashable | None] = []
    both = agreed = 0
    for a, b, same in units:
        key_a = None if a is MISSING else _key(a)
        key_b = None if b is MISSING else (key_a if same and key_a is not None else _key(b))
        row_a.append(key_a)
        row_b.append(key_b)
        if key_a is not None and key_b is not None:
            both += 1
            agreed += key_a == key_b
    return FieldAgreement(name, both, agreed, nominal_alpha([row_a, row_b]))


def _key(value: Any) -> str:
    """A category: the JSON text of the value (so null, 0 and "0" stay three categories)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
