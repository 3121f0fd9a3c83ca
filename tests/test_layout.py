"""The tree is the architecture: folders import down a ladder, never up, and no module grows
past what one reader can hold. These are facts about the source, checked on every run."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGE = ROOT / "llmx"
# Top to bottom: a folder may import the ones below it, never one above. testing/ (fakes and
# stub servers) sits on top: nothing in llmx imports it.
LADDER = ["testing", "cli", "app", "viewer", "batch", "extraction", "cassettes", "inputs", "model", "runs", "core"]
TOP_LEVEL = {"__init__.py", "__main__.py", "errors.py"}
MAX_LINES = 300


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every llmx module this file imports, at any depth (function-level imports included)."""
    return _imports_in(path.read_text(), _module_name(path), path.name == "__init__.py")


def _imports_in(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """The llmx modules ``source`` (the text of ``module``) imports; a relative import
    (``from ..app import api``) is resolved against the module's package, as Python does."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
                names = [f"{target}.{a.name}" for a in node.names] if node.module is None else [target]
            elif node.module:
                target = node.module
                names = [f"{target}.{a.name}" for a in node.names] if target == "llmx" else [target]
            else:
                continue
            found += [(node.lineno, name) for name in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] == "llmx"]


def _dynamic_imports(source: str) -> list[int]:
    """Lines that import an llmx module by name at run time (``importlib.import_module``,
    ``__import__``), which the ladder cannot see: a literal outside llmx is fine, anything else is not."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name not in ("import_module", "__import__"):
            continue
        first = node.args[0] if node.args else None
        literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
        if not literal or str(first.value).split(".")[0] == "llmx":  # type: ignore[union-attr]
            lines.append(node.lineno)
    return lines


def _folder(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LADDER else None


def test_every_folder_is_on_the_ladder() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(LADDER)


def test_the_top_level_holds_only_the_package_face_and_errors() -> None:
    assert {p.name for p in PACKAGE.glob("*.py")} == TOP_LEVEL


def test_no_folder_imports_a_folder_above_it() -> None:
    upward = []
    for path in _modules():
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) < 2:
            continue
        here = rel.parts[0]
        for line, module in _imports(path):
            there = _folder(module)
            if there and there != here and LADDER.index(there) < LADDER.index(here):
                upward.append(f"{rel}:{line} ({here}) imports {module} ({there})")
    assert upward == []


def test_no_import_circle_between_modules() -> None:
    graph: dict[str, set[str]] = {}
    for path in _modules():
        name = _module_name(path)
        graph[name] = {m for _, m in _imports(path) if m != name}
    known = set(graph)
    for name in graph:  # `from llmx.x import y` names a module when y is one, else x
        graph[name] = {m if m in known else m.rsplit(".", 1)[0] for m in graph[name]} & known
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (circle := visit(nxt)):
                return circle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            circle = visit(node)
            assert circle is None, " → ".join(circle)


def test_relative_imports_are_resolved_so_they_cannot_climb_the_ladder_unseen() -> None:
    source = "from ..app import api\nfrom . import console\nfrom .safe_text import markup\nimport os\n"
    assert _imports_in(source, "llmx.cli.main") == [
        (1, "llmx.app"),  # as `from llmx.app import api` reads: the package
        (2, "llmx.cli.console"),
        (3, "llmx.cli.safe_text"),
    ]
    assert _imports_in("from .. import errors\n", "llmx.core.dates") == [(1, "llmx.errors")]
    assert _imports_in("from .rules import x\n", "llmx.core", is_package=True) == [(1, "llmx.core.rules")]


def test_importlib_on_an_llmx_module_is_flagged() -> None:
    flagged = "import importlib\nm = importlib.import_module('llmx.app.api')\nn = __import__(name)\n"
    assert _dynamic_imports(flagged) == [2, 3]
    assert _dynamic_imports("import importlib\nimportlib.import_module('rich.progress')\n") == []


def test_no_module_on_the_ladder_imports_llmx_by_name_at_run_time() -> None:
    """The package face (llmx/__init__.py) imports its public names lazily; every one of them is
    also imported under TYPE_CHECKING there, where the ladder sees it. Below it, none may."""
    found = []
    for path in _modules():
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) >= 2:
            found += [f"{rel}:{line}" for line in _dynamic_imports(path.read_text())]
    assert found == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_only_the_ray_engine_imports_ray() -> None:
    """Ray is an extra: the plain engine, and every folder below app/, must run without it."""
    importers = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(name == "ray" or name.startswith("ray.") for name in names):
                importers.append(str(path.relative_to(PACKAGE)))
    assert importers and all(p.startswith("app/run/ray/") for p in importers), importers
