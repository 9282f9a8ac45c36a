"""Keeping the server's files private: umask 077 for what it creates, a tightening pass for what exists.

The data folder holds the root key, the SQLite store (with every message and execution), the push-signing
key and deployed functions; nothing there is for other users of the machine. The server sets its umask to
``0o077`` at start (new folders 0700, new files 0600, whatever umask it was started with) and removes the
group and other permission bits of the data folder and everything in it (and of a SQLite store kept
elsewhere), logging each path it tightened.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

__all__ = ["PRIVATE_UMASK", "make_private", "sqlite_files"]

PRIVATE_UMASK = 0o077
#: Upper bound on the entries one pass looks at (a data folder holds far fewer).
MAX_ENTRIES = 100_000
#: Paths logged one by one; beyond that, a count.
_LOGGED = 20

log = logging.getLogger("tidegate.server")


def sqlite_files(url: str) -> list[Path]:
    """The files of a ``sqlite:///`` store (database, WAL, shared memory, journal); none for other URLs."""
    if not url.lower().startswith("sqlite://"):
        return []
    path = url[len("sqlite://") :]
    path = path[1:] if path.startswith("/") else path  # as open_store reads it: sqlite:////abs, sqlite:///rel
    if not path or path == ":memory:":
        return []
    db = Path(path)
    return [db, *(db.with_name(db.name + suffix) for suffix in ("-wal", "-shm", "-journal"))]


def _entries(data_dir: Path) -> Iterable[str]:
    yield str(data_dir)
    count = 1
    for top, dirs, files in os.walk(data_dir):  # symbolic links are not followed
        for name in (*dirs, *files):
            count += 1
            if count > MAX_ENTRIES:
                log.warning("%s holds more than %d entries; the rest was not checked", data_dir, MAX_ENTRIES)
                return
            yield os.path.join(top, name)


def _has_acl(path: str) -> bool:
    try:
        os.getxattr(path, "system.posix_acl_access", follow_symlinks=False)
    except OSError:
        return False
    return True


def make_private(data_dir: Path, extra: Iterable[Path] = (), shared: Iterable[Path] = ()) -> list[tuple[str, int, int]]:
    """Remove group/other permissions from ``data_dir``, everything in it and ``extra`` files.

    ``shared``: folders the function workers reach through ACL entries (docs/functions.md, "Isolation and
    limits"); they and what they hold, when they carry an ACL, lose only the permissions of others, since
    their group bits are the mask of those entries.

    Returns ``(path, old mode, new mode)`` of every path changed. Symbolic links are left alone; a path
    that cannot be changed (another owner) is logged and skipped.
    """
    changed: list[tuple[str, int, int]] = []
    shared_paths = {os.path.abspath(p) for p in shared}
    for path in (*_entries(data_dir), *(str(p) for p in extra)):
        absolute = os.path.abspath(path)
        keep = (
            absolute in shared_paths
            or any(absolute.startswith(s + os.sep) for s in shared_paths if s != os.path.abspath(data_dir))
        ) and _has_acl(absolute)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        mode = stat.S_IMODE(st.st_mode)
        wanted = mode & (0o770 if keep else 0o700)
        if stat.S_ISLNK(st.st_mode) or mode == wanted:
            continue
        try:
            os.chmod(path, wanted)
        except OSError as exc:
            log.warning("cannot make %s private (mode %04o): %s", path, mode, exc)
            continue
        changed.append((path, mode, wanted))
    for path, old, new in changed[:_LOGGED]:
        log.warning("made %s private: mode %04o -> %04o", path, old, new)
    if len(changed) > _LOGGED:
        log.warning("made %d more paths private", len(changed) - _LOGGED)
    return changed
