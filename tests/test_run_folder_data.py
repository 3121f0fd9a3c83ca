"""A run folder is data (people send them, CI compares against a committed one): opening it with
``score``, ``view`` or ``compare`` never imports code it points to. Only the project's schemas
(by name, with the sha256 the run recorded) or a file named on the command line are imported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import llmx
from llmx.errors import SchemaError
from tests.helpers import run_cli

EVIL = "from pathlib import Path\nPath('{marker}').write_text('ran')\n"


def rewrite_provenance(run: Path, **changes: str) -> None:
    lines = [json.loads(line) for line in (run / "extractions.jsonl").read_text().splitlines()]
    for line in lines:
        line["provenance"].update(changes)
    (run / "extractions.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def plant(where: Path, marker: Path) -> None:
    where.parent.mkdir(parents=True, exist_ok=True)
    where.write_text(EVIL.format(marker=marker) + (Path("schemas/incident.py").read_text()))


@pytest.mark.parametrize("named", ["../evil", "evil.py", "/tmp/llmx-evil", "sub/evil", "..", "incident.py"])
def test_a_schema_a_run_names_outside_schemas_is_never_imported(seed_run: Path, named: str) -> None:
    marker = seed_run.parent.parent / "imported"
    for where in (Path("evil.py"), Path("sub/evil.py"), Path("schemas/../evil.py")):
        plant(where, marker)
    rewrite_provenance(seed_run, schema=named)
    shutil.copytree(seed_run, "runs/r2")
    for args in (["score", "runs/r1"], ["view", "runs/r1"], ["compare", "runs/r2", "runs/r1"]):
        result = run_cli(*args)
        assert result.exit_code == 2, result.output
        assert "not a schema name of this project" in result.output and "--schema" in result.output
        assert "Traceback" not in result.output
    with pytest.raises(SchemaError, match="not a schema name"):
        llmx.score(seed_run, project=llmx.load_project("."))
    assert not marker.exists()


def test_a_schema_edited_since_the_run_is_a_clear_error_and_schema_overrides(seed_run: Path) -> None:
    schema = Path("schemas/incident.py")
    schema.write_text(schema.read_text() + "\n# edited after the run\n")
    result = run_cli("score", "runs/r1")
    line = result.output.strip()
    assert result.exit_code == 2 and len(line.splitlines()) == 1, result.output
    assert "was extracted with schema 'incident' sha256" in line and "schemas/incident.py is now" in line
    assert "--schema incident" in line
    assert run_cli("score", "runs/r1", "--schema", "incident").exit_code == 0
    assert run_cli("view", "runs/r1", "--schema", "incident").exit_code == 0


def test_a_schema_file_named_on_the_command_line_is_used(seed_run: Path, tmp_path: Path) -> None:
    mine = tmp_path / "elsewhere" / "incident.py"
    mine.parent.mkdir()
    shutil.copy("schemas/incident.py", mine)
    rewrite_provenance(seed_run, schema="gone")
    assert "has no gone.py" in run_cli("score", "runs/r1").output
    result = run_cli("score", "runs/r1", "--schema", str(mine))
    assert result.exit_code == 0, result.output
    scored = llmx.score(seed_run, project=llmx.load_project("."), schema=mine)
    assert scored.schema.path == mine
