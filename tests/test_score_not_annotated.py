"""A gold field left out of an incident is "not annotated" (not scored); a field annotated as null
is a claim that the article gives no value. ``llmx score`` shows them apart in its details and in
``--json`` (issue 33): never both as ``None``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_cli

ARTICLE = "000_e376b6ba81a78c64"


def _leave_out(project: Path) -> tuple[int, str, str]:
    """Leave a field out of a gold incident of ARTICLE, and null another: (index, left out, nulled)."""
    path = project / "gold" / f"{ARTICLE}.json"
    gold = json.loads(path.read_text())
    incident = gold["incidents"][0]
    incident.pop("attacker")
    incident["injured"] = None
    path.write_text(json.dumps(gold, indent=2))
    return 0, "attacker", "injured"


def test_details_show_not_annotated_apart_from_null(seed_run: Path, project: Path) -> None:
    _leave_out(project)
    result = run_cli("score", str(seed_run), "--details")
    assert result.exit_code == 0, result.output
    detail = result.output.split(ARTICLE + "  F1", 1)[1].split("\n\n", 1)[0]
    assert "attacker: not annotated" in detail
    assert "injured: null" in detail
    assert ": None" not in result.output


def test_json_names_the_fields_gold_leaves_out(seed_run: Path, project: Path) -> None:
    index, left_out, nulled = _leave_out(project)
    result = run_cli("score", str(seed_run), "--json")
    article = json.loads(result.output)["articles"][ARTICLE]
    assert left_out in article["gold_not_annotated"][str(index)]
    pairs = [pair for pair in article["pairs"] if pair["gold"] == index]
    if pairs:  # matched: the pair says it too, and the left-out field is never "differing"
        assert left_out in pairs[0]["not_annotated"] and left_out not in pairs[0]["differing"]
    assert nulled not in article["gold_not_annotated"][str(index)]
