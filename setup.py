"""One build step beyond pyproject.toml: the starter project ``llmx init`` writes carries the
repository's own prompts and schemas (``llmx/inputs/project_template/shared.toml`` lists them).
They are copied into the built package here, so the repository's files stay their one source of
truth; in a checkout, llmx reads them from the repository itself (llmx/inputs/starter.py)."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
TEMPLATE = Path("llmx") / "inputs" / "project_template"


class BuildWithStarterFiles(build_py):
    def run(self) -> None:
        super().run()
        listed = tomllib.loads((HERE / TEMPLATE / "shared.toml").read_text(encoding="utf-8"))
        for relative in sorted({path for paths in listed.values() for path in paths}):
            target = Path(self.build_lib) / TEMPLATE / "shared" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(HERE / relative, target)


setup(cmdclass={"build_py": BuildWithStarterFiles})
