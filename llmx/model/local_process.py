"""Is a process id still the llama-server llmx started? A state file can outlive its server (a
reboot, a crash) and its pid be given to another program: nothing is signalled on trust."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SERVER_NAME = "llama-server"
DEFAULT_PORT = 8631  # where `llmx local up` listens on 127.0.0.1 unless told (or taken)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def command_line(pid: int) -> str | None:
    """The process's command line (Linux /proc, else ``ps``), or None when it cannot be read."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        pass
    try:
        shown = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return shown.stdout.strip() or None


def is_llama_server(pid: int) -> bool:
    """True only when ``pid`` is alive and its program is llama-server."""
    if pid <= 1 or not pid_alive(pid):
        return False
    line = command_line(pid)
    if not line:
        return False
    program = line.split(" ", 1)[0]
    return Path(program).name == SERVER_NAME
