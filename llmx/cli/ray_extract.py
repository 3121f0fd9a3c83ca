"""``llmx extract``'s options for large runs (``--engine ray``, ``--cassette-store``), and the
Ray run with a progress bar that counts rows as Ray reads them (the work is in
:mod:`llmx.app.ray_engine`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from llmx.errors import UsageError


def engine_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option(
                "--cassette-store",
                type=click.Choice(["folder", "sqlite"]),
                help="folder: a readable JSON file per request (fixtures); sqlite: one file, for large runs.",
            ),
            click.option(
                "--engine",
                type=click.Choice(["plain", "ray"]),
                default="plain",
                help="plain: this process; ray: Ray Data workers (pip install 'llmx-incidents[ray]'), for large "
                "corpora and clusters.",
            ),
            click.option(
                "--ray-address",
                envvar="RAY_ADDRESS",
                help="With --engine ray: the cluster to join, e.g. ray://head:10001 (default: start a local Ray).",
            ),
            click.option(
                "--ray-workers",
                type=click.IntRange(1, 1024),
                default=2,
                show_default=True,
                help="With --engine ray: extraction workers, each with --concurrency articles at once.",
            ),
        ]
    ):
        command = option(command)
    return command


def ray_options(use_batch: bool, options: dict[str, Any]) -> Any:
    """The Ray engine's options (taken out of ``options``: they are no settings), or None for the
    plain engine."""
    engine, address, workers = options.pop("engine"), options.pop("ray_address"), options.pop("ray_workers")
    if engine != "ray":
        return None
    if use_batch:
        raise UsageError("--engine ray and --batch are two ways to run a large corpus: pick one")
    from llmx.app.ray_engine import RayOptions

    return RayOptions(address=address, workers=workers)


def extract_on_ray(job: Any, label: str, options: Any) -> Any:
    from llmx.app.ray_engine import extract_with_ray
    from llmx.cli.console import progress_bar

    bar = progress_bar()
    counted = bar.add_task(f"extracting ({label})", total=None)
    try:
        return extract_with_ray(
            job, options, on_start=lambda writer: bar.start(), on_result=lambda r: bar.advance(counted)
        )
    finally:
        bar.stop()
