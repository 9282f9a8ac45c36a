"""``tidegate backup PATH``: a consistent copy of a SQLite store, taken while the server runs.

The copy is SQLite's online backup of one read transaction (in WAL mode readers never block the server's
writes), so it holds every transaction committed before the backup began and nothing of a later one. It
is written to a temporary file next to PATH (mode 0600), checked, synced and renamed into place, so PATH
is either the previous file or the complete new copy, never a part of one. PostgreSQL is refused: its
tool is ``pg_dump``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import urllib.parse
from pathlib import Path

import click

from tidegate.cli._app import main
from tidegate.cli._client import CliError, UsageFailure
from tidegate.cli.private import sqlite_files
from tidegate.cli.server import store_url_for

__all__ = ["backup_command", "backup_sqlite"]


class BackupFailed(CliError):
    """The copy could not be made or did not check out (PATH is left as it was)."""


def sqlite_path(url: str) -> Path:
    """The database file of a ``sqlite:///`` URL; UsageFailure for any other store."""
    if url.lower().startswith(("postgresql:", "postgres:")):
        raise UsageFailure(
            "tidegate backup copies SQLite stores; back up a PostgreSQL store with pg_dump "
            "(see the Backups section of docs/operations.md)"
        )
    files = sqlite_files(url.partition("?")[0])
    if not files:
        raise UsageFailure(f"not a SQLite store file URL: {url[:80]!r} (use sqlite:///path/to/tidegate.db)")
    return files[0]


def backup_sqlite(source: Path, target: Path, *, force: bool = False) -> int:
    """Copy the SQLite database ``source`` to ``target`` atomically (mode 0600); return its size in bytes.

    Raises BackupFailed when the source is missing or not a database, or the copy fails its check, and
    UsageFailure when ``target`` exists (unless ``force``) or is a folder.
    """
    if not source.is_file():
        raise BackupFailed(f"no store at {source}")
    if target.is_dir():
        raise UsageFailure(f"{target} is a folder; give the backup file's path")
    if target.exists() and not force:
        raise UsageFailure(f"{target} exists; use --force to replace it")
    if target.resolve() == source.resolve():
        raise UsageFailure("the backup cannot replace the store itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # private from the first byte
    os.close(fd)
    try:
        _copy(source, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)
    return target.stat().st_size


def _copy(source: Path, tmp: Path) -> None:
    # mode=rw: a missing file is an error rather than a new empty database; no migrations run on either.
    uri = f"file:{urllib.parse.quote(str(source.resolve()))}?mode=rw"
    try:
        src = sqlite3.connect(uri, uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise BackupFailed(f"cannot open the store {source}: {exc}") from None
    try:
        dst = sqlite3.connect(tmp, isolation_level=None)
        try:
            src.execute("PRAGMA busy_timeout=30000")
            src.backup(dst)  # one step: one read transaction, a consistent snapshot
            # One self-contained file: the server sets WAL again when it opens the restored copy.
            dst.execute("PRAGMA journal_mode=DELETE")
            check = dst.execute("PRAGMA quick_check").fetchall()
            if check != [("ok",)]:
                raise BackupFailed(f"the copy of {source} failed its check: {str(check)[:200]}")
            if dst.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_migrations'").fetchone() != (1,):
                raise BackupFailed(f"{source} is not a tidegate store")
        except sqlite3.Error as exc:
            raise BackupFailed(f"backing up {source} failed: {exc}") from None
        finally:
            dst.close()
    finally:
        src.close()


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@main.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--data",
    "data_dir",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="The server's data folder: its store DATA/tidegate.db [default: .tidegate].",
)
@click.option("--store", "store_url", default=None, help="The store URL (sqlite:///…) the server was given.")
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
def backup_command(path: Path, data_dir: Path | None, store_url: str | None, force: bool) -> None:
    """Copy the SQLite store to PATH while the server runs (consistent, atomic, mode 0600).

    Restore: stop the server, copy PATH to the store's file (DATA/tidegate.db), start the server.
    PostgreSQL stores are backed up with pg_dump instead.
    """
    if store_url is not None and data_dir is not None:
        raise UsageFailure("give --store or --data, not both")
    source = sqlite_path(store_url or store_url_for(data_dir or Path(".tidegate")))
    size = backup_sqlite(source, path, force=force)
    click.echo(f"tidegate: backed up {source} to {path} ({size} bytes)")
