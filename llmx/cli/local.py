"""``llmx local``: a local llama.cpp server with a small real model, no key needed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from llmx.cli.console import err, out
from llmx.model.local_process import DEFAULT_PORT

if TYPE_CHECKING:
    from types import ModuleType


def _local() -> ModuleType:
    """The local server's module, imported when a command runs: `llmx --help` stays fast."""
    from llmx.model import local_server

    return local_server


@click.group(name="local")
def local_group() -> None:
    """A local llama.cpp server with a small real model (Qwen2.5-Coder-1.5B, no key needed)."""


def _say(step: str) -> None:
    err.print(f"[dim]local:[/] {step}")


@local_group.command()
def install() -> None:
    """Build llama-server and fetch + verify the model into the cache (idempotent)."""
    with err.status("installing"):
        binary, model = _local().install_server(_say), _local().install_model(_say)
    out.print(f"server: {binary}\nmodel:  {model} (sha256 verified)")


@local_group.command()
@click.option("--port", type=int, help=f"Port on 127.0.0.1 (default {DEFAULT_PORT}, or a free one).")
@click.option("--threads", type=int, help="CPU threads for generation (default: all cores).")
@click.option("--slots", type=click.IntRange(1, 16), default=1, show_default=True, help="Requests served at once.")
@click.option(
    "--cache-prompt/--no-cache-prompt",
    default=False,
    show_default=True,
    help="Keep llama.cpp's prompt cache: faster, but temperature-0 answers stop being repeatable.",
)
def up(port: int | None, threads: int | None, slots: int, cache_prompt: bool) -> None:
    """Install if needed, start the server on 127.0.0.1, wait until healthy, print --base-url."""
    state = _local().up(_say, port=port, threads=threads, slots=slots, cache_prompt=cache_prompt)
    out.print(f"llama-server is up (pid {state.pid}). Use: [bold]--base-url {state.base_url}[/] or --local")


@local_group.command()
def down() -> None:
    """Stop the local server (only if the pid it recorded is still llama-server)."""
    outcome = _local().down()
    shown = "stopped" if outcome == "stopped" else "no local server was running" + outcome.removeprefix("not running")
    out.print(shown, highlight=False, soft_wrap=True)


@local_group.command()
def status() -> None:
    """Say whether the local server is running, and where."""
    state = _local().status()
    installed = _local().server_binary().is_file() and _local().model_path().is_file()
    if state:
        out.print(f"running: pid {state.pid}, {state.base_url}, model {state.model}")
    else:
        out.print(f"not running ({'installed' if installed else 'not installed'}); start it with `llmx local up`")
