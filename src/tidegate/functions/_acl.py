"""POSIX ACL entries naming the function workers' group: read access without changing owners or modes.

Linux keeps a file's ACL in the extended attribute ``system.posix_acl_access`` (a directory's inherited one
in ``system.posix_acl_default``): a version word, then entries of (tag u16, permissions u16, id u32).
This module adds or widens one ``group:GID`` entry and recomputes the mask, leaving the other entries (and
so the owner's, the owning group's and everyone else's access) as they were.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from collections.abc import Iterable
from pathlib import Path

from tidegate.errors import FunctionError

_ACCESS = "system.posix_acl_access"
_DEFAULT = "system.posix_acl_default"
_VERSION = 2
_UNDEFINED = 0xFFFFFFFF
_USER_OBJ, _USER, _GROUP_OBJ, _GROUP, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_ENTRY = struct.Struct("<HHI")

READ, EXECUTE = 4, 1
#: Entries one tree grant looks at, at most (a code folder or an installed requirement set holds far fewer).
MAX_TREE_ENTRIES = 50_000

_Entries = dict[tuple[int, int], int]  # (tag, id) -> permissions


class AclError(FunctionError):
    """An ACL entry could not be read or written (a file system without ACLs, a read-only mount...)."""


def _parse(raw: bytes) -> _Entries:
    if len(raw) < 4 or (len(raw) - 4) % _ENTRY.size or struct.unpack_from("<I", raw)[0] != _VERSION:
        raise AclError("unexpected ACL format")
    return {(tag, ident): perm for tag, perm, ident in _ENTRY.iter_unpack(raw[4:])}


def _from_mode(mode: int) -> _Entries:
    return {
        (_USER_OBJ, _UNDEFINED): (mode >> 6) & 7,
        (_GROUP_OBJ, _UNDEFINED): (mode >> 3) & 7,
        (_OTHER, _UNDEFINED): mode & 7,
    }


def _encode(entries: _Entries) -> bytes:
    named = [p for (tag, _), p in entries.items() if tag in (_USER, _GROUP, _GROUP_OBJ)]
    if any(tag in (_USER, _GROUP) for tag, _ in entries):
        mask = 0
        for perm in named:
            mask |= perm
        entries[(_MASK, _UNDEFINED)] = mask
    body = b"".join(_ENTRY.pack(tag, perm, ident) for (tag, ident), perm in sorted(entries.items()))
    return struct.pack("<I", _VERSION) + body


def _read(path: str, name: str, mode: int) -> _Entries:
    try:
        return _parse(os.getxattr(path, name, follow_symlinks=False))
    except OSError as exc:
        if exc.errno != errno.ENODATA:
            raise
    return _from_mode(mode)


def _update(path: str, name: str, mode: int, gid: int, perms: int) -> None:
    entries = _read(path, name, mode)
    key = (_GROUP, gid)
    have = entries.get(key, 0)
    mask = entries.get((_MASK, _UNDEFINED), 7 if key in entries else 0)
    if have | perms == have and mask & perms == perms:
        return  # already granted (and not masked away)
    entries[key] = have | perms
    os.setxattr(path, name, _encode(entries), follow_symlinks=False)


def grant(path: Path | str, gid: int, perms: int, *, default: bool = False) -> None:
    """Give group ``gid`` ``perms`` (``READ | EXECUTE`` ...) on ``path``; ``default`` also for new entries.

    Raises:
        AclError: the file system refused (the message names the path and why).
    """
    text = str(path)
    try:
        st = os.lstat(text)
        if stat.S_ISLNK(st.st_mode):
            return  # a link's own permissions are never checked; its target is granted on its own
        _update(text, _ACCESS, st.st_mode, gid, perms)
        if default and stat.S_ISDIR(st.st_mode):
            _update(text, _DEFAULT, st.st_mode, gid, perms)
    except OSError as exc:
        raise AclError(f"cannot give the function workers access to {text}: {exc.strerror or exc}") from None


def grant_traverse(path: Path, gid: int) -> None:
    """Let group ``gid`` pass through every folder above ``path`` (``x``, not ``r``: it cannot list them).

    Folders anyone may pass through already are left alone.
    """
    for parent in reversed(Path(os.path.abspath(path)).parents):
        st = os.stat(parent)
        if not st.st_mode & stat.S_IXOTH:
            grant(parent, gid, EXECUTE)


def grant_tree(root: Path, gid: int, *, skip: Iterable[Path] = (), default: bool = False) -> int:
    """Let group ``gid`` read ``root`` and everything in it (folders ``r-x``, files ``r``, ``x`` as the owner's).

    Symbolic links are not followed; folders in ``skip`` (and what they hold) are left alone. ``default``
    also makes new entries of every folder inherit the grant. Returns how many entries were looked at.

    Raises:
        AclError: an entry could not be granted, or the tree holds more than ``MAX_TREE_ENTRIES``.
    """
    skipped = {os.path.abspath(p) for p in skip}
    count = 0
    for top, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(top, d) not in skipped]
        grant(top, gid, READ | EXECUTE, default=default)
        for name in files:
            path = os.path.join(top, name)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                grant(path, gid, READ | (EXECUTE if st.st_mode & stat.S_IXUSR else 0))
        count += 1 + len(files)
        if count > MAX_TREE_ENTRIES:
            raise AclError(f"{root} holds more than {MAX_TREE_ENTRIES} entries: give the function user access to it")
    return count
