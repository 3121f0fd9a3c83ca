"""``llmx cassettes``: move cassettes between the readable folder (fixtures in git) and the
SQLite store (large runs), and prune what no given run replays (the work is in
:mod:`llmx.cassettes.stores`)."""

from __future__ import annotations

from pathlib import Path

import click

from llmx.cli.console import err, out

cassettes_option = click.option(
    "--cassettes", type=click.Path(path_type=Path), help="Cassette folder (default: cassettes in [tool.llmx])."
)


def _folder(cassettes: Path | None) -> Path:
    from llmx.inputs.config import load_settings

    return load_settings(overrides={"cassettes": cassettes}).cassettes


@click.group(name="cassettes")
def cassettes_group() -> None:
    """Pack, unpack and prune cassettes (folder: a file per request; sqlite: one file for large runs)."""


@cassettes_group.command()
@cassettes_option
@click.option("--remove", is_flag=True, help="Delete each JSON file once it is in the SQLite store.")
def pack(cassettes: Path | None, remove: bool) -> None:
    """Copy the folder's JSON cassettes into its SQLite store (CASSETTES/cassettes.sqlite3).
    Then run with --cassette-store sqlite (or cassette_store = "sqlite")."""
    from llmx.cassettes.sqlite_store import FILE_NAME
    from llmx.cassettes.stores import copy_cassettes, open_store

    root = _folder(cassettes)
    target = open_store("sqlite", root)
    moved = copy_cassettes(open_store("folder", root), target, remove=remove)
    target.close()
    removed = f", {moved.removed:,} files removed" if remove else ""
    out.print(
        f"packed {moved.copied:,} cassette(s) into {root / FILE_NAME} ({moved.skipped:,} already there{removed})",
        highlight=False,
    )


@cassettes_group.command()
@click.argument("runs", nargs=-1, type=click.Path(path_type=Path))
@cassettes_option
@click.option(
    "--to", "target", type=click.Path(path_type=Path), help="Write the files here (default: the same folder)."
)
def unpack(runs: tuple[Path, ...], cassettes: Path | None, target: Path | None) -> None:
    """Write the SQLite store's cassettes as readable JSON files in the folder: all of them, or,
    given RUN folders, only those the runs replay (to commit as fixtures)."""
    from llmx.cassettes.stores import copy_cassettes, open_store, replayed_by

    root = _folder(cassettes)
    only = replayed_by(runs) if runs else None
    moved = copy_cassettes(open_store("sqlite", root), open_store("folder", target or root), only=only)
    missing = (len(only) - moved.copied - moved.skipped) if only is not None else 0
    note = f"; {missing:,} the runs name are not in the store" if missing else ""
    out.print(f"unpacked {moved.copied:,} cassette(s) into {target or root} ({moved.skipped:,} already there{note})")


@cassettes_group.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@cassettes_option
@click.option("--store", "kind", type=click.Choice(["folder", "sqlite"]), help="Which store (default: cassette_store).")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def prune(runs: tuple[Path, ...], cassettes: Path | None, kind: str | None, dry_run: bool) -> None:
    """Delete every cassette that none of the RUN folders replays (their provenance lists the
    requests each article made), so committed fixtures stay small."""
    from llmx.cassettes.stores import open_store, replayed_by
    from llmx.cassettes.stores import prune as prune_store
    from llmx.inputs.config import load_settings

    settings = load_settings(overrides={"cassettes": cassettes, "cassette_store": kind})
    keep = replayed_by(runs)
    if not keep:
        from llmx.errors import UsageError

        raise UsageError(
            f"{', '.join(map(str, runs))}: these runs name no cassette; nothing would be kept, so nothing is pruned"
        )
    store = open_store(settings.cassette_store, settings.cassettes)
    doomed = prune_store(store, keep, dry_run)
    store.close()
    verb = "would delete" if dry_run else "deleted"
    err.print(f"{verb} {len(doomed):,} cassette(s) no given run replays; kept those of {len(runs)} run(s)")
