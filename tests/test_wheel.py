"""The wheel installs anywhere, and the README's first steps run as written with it.

``python -m build`` makes the sdist, then the wheel from the sdist (so the sdist is proved to
carry everything); here with ``--no-isolation``, because the isolated build would fetch
setuptools from the index and this test runs offline. The wheel goes into a fresh venv outside
the repository; its dependencies come from this interpreter's site-packages through a .pth of
symlinks that leaves out llmx's own (so nothing of the checkout can be imported there), and
pip installs the wheel with PIP_NO_INDEX set. Then the README's "Your own project" blocks run
as written in an empty folder, with the stub server (``llmx.testing.stub_server``) standing in
for the provider: ``OPENAI_BASE_URL`` points at it, the ``sk-...`` key goes to it. ~30-60 s;
``-m 'not wheel'`` skips it, CI runs it.
"""

from __future__ import annotations

import json
import os
import re
import site
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmx.inputs.starter import shared_files
from llmx.testing.stub_server import StubServer
from tests.helpers import ROOT

pytestmark = pytest.mark.wheel

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
WHEEL = f"{PROJECT['name'].replace('-', '_')}-{PROJECT['version']}-py3-none-any.whl"
SDIST = f"{PROJECT['name'].replace('-', '_')}-{PROJECT['version']}.tar.gz"
OWN = ("llmx", "__editable__")  # this checkout's own entries in site-packages, kept out of the venv


@dataclass
class Installed:
    work: Path
    dist: Path
    venv: Path
    env: dict[str, str]


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{command} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def dependencies_farm(work: Path) -> list[Path]:
    """One folder per site-packages of this interpreter, of symlinks to everything in it but llmx's own."""
    farms = []
    sources = [*site.getsitepackages(), site.getusersitepackages()]
    for number, source in enumerate(dict.fromkeys(Path(s) for s in sources if Path(s).is_dir())):
        farm = work / f"deps{number}"
        farm.mkdir()
        for entry in source.iterdir():
            if not entry.name.lower().startswith(OWN) and entry.suffix != ".pth":
                (farm / entry.name).symlink_to(entry)
        farms.append(farm)
    return farms


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    dist = work / "dist"
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, ROOT], cwd=work)
    venv = work / "venv"
    run([sys.executable, "-m", "venv", venv], cwd=work)
    purelib = run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work)
    farms = dependencies_farm(work)
    (Path(purelib.strip()) / "llmx-test-dependencies.pth").write_text("".join(f"{farm}\n" for farm in farms))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OPENAI_", "AZURE_", "LLMX_", "PYTHON", "VIRTUAL_ENV", "PIP_")) and key != "CI"
    }
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", PIP_NO_INDEX="1")
    return Installed(work, dist, venv, env)


def test_the_wheel_and_the_sdist_carry_every_file_llmx_needs_at_run_time(installed: Installed) -> None:
    with zipfile.ZipFile(installed.dist / WHEEL) as wheel:
        names = set(wheel.namelist())
        assert "llmx/viewer/templates/viewer.html.jinja" in names
        assert "llmx/inputs/project_template/incident/llmx.toml" in names
        assert "llmx/inputs/project_template/common/gitignore" in names
        for starter, files in shared_files().items():
            assert f"llmx/inputs/project_template/{starter}/llmx.toml" in names
            for relative in files:  # the build's copies are the repository's files, byte for byte
                assert wheel.read(f"llmx/inputs/project_template/shared/{relative}") == (ROOT / relative).read_bytes()
    with tarfile.open(installed.dist / SDIST) as sdist:
        top = SDIST.removesuffix(".tar.gz")
        members = {name.removeprefix(f"{top}/") for name in sdist.getnames()}
    assert {"setup.py", "MANIFEST.in", "llmx/viewer/templates/viewer.html.jinja"} <= members
    assert {path for paths in shared_files().values() for path in paths} <= members


def readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Your own project\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, re.S)


def bash(block: str, cwd: Path, env: dict[str, str]) -> str:
    return run(["bash", "-euo", "pipefail", "-c", block], cwd, env)


def test_the_readme_first_steps_run_as_written_with_the_installed_wheel(installed: Installed) -> None:
    install, first_steps, own_articles = readme_blocks()
    # `pip install build` is what the dev extra already installed here (offline: nothing to fetch)
    build, *rest = [line for line in install.strip().splitlines() if not line.startswith("pip install build")]
    assert build.split("#")[0].strip() == "python -m build"  # done by the fixture, offline (see the docstring)
    env = installed.env
    bash("\n".join(rest), installed.work, env)  # pip install dist/…whl[html]
    where = run(
        ["python", "-c", "import llmx, llmx.inputs.starter as s; print(llmx.__file__, s.PACKAGED.is_dir())"],
        installed.work,
        env,
    )
    assert where.startswith(str(installed.venv)) and where.split()[1] == "True", where  # the wheel, not the checkout
    assert PROJECT["version"] in run(["llmx", "--version"], installed.work, env)

    project = installed.work / "empty"
    project.mkdir()
    with StubServer() as server:
        env = {**env, "OPENAI_BASE_URL": server.base_url}
        printed = bash(first_steps, project, env)  # init, extract, score, view
        assert "incidents  P" in printed and (project / "runs/first/view.html").is_file(), printed
        assert len(server.requests) == 2 and server.headers[0]["authorization"] == "Bearer sk-..."

        # the user's own corpus, page and gold, as the README describes them
        (project / "news.csv").write_text(
            "id,body,published\n"
            'n1,"A drone struck a fuel depot in Hodeidah on Monday, killing two workers.",2024-06-11\n'
            'n2,"Rockets were fired at a base near Erbil on Sunday, officials said.",2024-06-10\n'
        )
        (project / "saved_pages").mkdir()
        (project / "saved_pages" / "p1.html").write_text(
            "<html><head><title>Strike</title></head><body><nav>Home | World</nav><article><h1>Strike</h1>"
            "<p>A drone struck a fuel depot in Hodeidah on Monday, killing two workers, officials said.</p>"
            "<p>It was the third attack on the port this month, and repairs will take weeks.</p>"
            "</article></body></html>"
        )
        gold = {
            "version": 1,
            "article_id": "n1",
            "schema": "incident",
            "incidents": [{"location": "Hodeidah", "killed": 2, "weapon": "drone"}],
        }
        (project / "gold" / "n1.json").write_text(json.dumps(gold))
        printed = bash(own_articles, project, env)
    assert (project / "incidents.parquet").is_file() and (project / "runs/pages/articles.jsonl").is_file(), printed
