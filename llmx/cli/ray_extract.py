"""``llmx extract``'s options for large runs (``--engine ray``, ``--cassette-store``); the work is
in :mod:`llmx.app.run.ray.engine`, run by the one lifecycle every engine shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


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


def engine_choice(options: dict[str, Any]) -> tuple[str, Any]:
    """The engine and the Ray engine's options (taken out of ``options``: they are no settings)."""
    engine, address, workers = options.pop("engine"), options.pop("ray_address"), options.pop("ray_workers")
    if engine != "ray":
        return engine, None
    from llmx.app.run.extraction_job import RayOptions

    return engine, RayOptions(address=address, workers=workers)
