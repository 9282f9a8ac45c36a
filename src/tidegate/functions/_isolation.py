"""How function workers are kept apart from the server: their identity, their limits, their clean-up.

Two modes (docs/functions.md, "Isolation and limits"):

* ``user`` (the server runs as root): worker *n* runs as its own uid ``UID+n`` and the group ``GID``,
  with no supplementary groups, in a scratch folder of its own. It cannot read the server's ``/proc``
  entries, its files (mode 0600/0700), nor signal it. Files the workers need (the code folders, installed
  requirements, the interpreter) are granted to ``GID`` with ACL entries. When a worker is discarded, every
  process of its uid is killed, which catches children that left its session (``setsid``).
* ``process`` (any other user): workers keep the server's uid. The server closes its own ``/proc`` entries
  (``PR_SET_DUMPABLE`` 0) and keeps its data folder private; a worker is a child subreaper, so processes
  its handler leaves behind stay below it and are killed with it (best effort: see the documentation).

Both modes apply the same limits, set by the worker itself before it runs any handler: an address-space
limit of the function's memory plus ``MEMORY_MARGIN_MB`` (a worker serves functions of one memory size),
CPU seconds per invocation, open files, no core files; ``user`` adds a process count per worker
(``RLIMIT_NPROC`` counts per uid, so it only means something with a uid of its own).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import enum
import fcntl
import math
import os
import pwd
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tidegate.errors import ConfigurationError
from tidegate.functions._acl import EXECUTE, grant, grant_traverse

__all__ = [
    "CPU_MARGIN_S",
    "DEFAULT_FUNCTION_UID",
    "MEMORY_MARGIN_MB",
    "OPEN_FILES",
    "PROCESSES",
    "Isolation",
    "IsolationError",
    "IsolationMode",
    "close_own_proc_entries",
]

#: Address space added to a function's ``memory`` for the interpreter and the worker itself (the
#: worker takes about 40 MB of it before a handler runs; each thread a handler starts reserves 8 MB).
MEMORY_MARGIN_MB = 64
#: CPU seconds an invocation may use on top of its timeout (summed over its threads).
CPU_MARGIN_S = 1
#: Open files per worker process (``RLIMIT_NOFILE``).
OPEN_FILES = 1024
#: Processes and threads per worker (``RLIMIT_NPROC``, ``user`` mode only).
PROCESSES = 128
#: The first uid (and the group) of the workers in ``user`` mode unless ``--function-user`` says otherwise.
DEFAULT_FUNCTION_UID = 64000

#: Lock files of the uid ranges taken by the servers of this machine (one range per running server).
_LOCKS = "tidegate-function-uids"
_held: list[int] = []  # the lock file descriptors this process holds, for its lifetime

_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36


class IsolationMode(enum.StrEnum):
    """``--function-isolation``: ``auto`` is ``user`` when the server runs as root, else ``process``."""

    AUTO = "auto"
    USER = "user"
    PROCESS = "process"


class IsolationError(ConfigurationError):
    """The function workers cannot be isolated as configured."""


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    return bool(libc.prctl(option, value, 0, 0, 0) == 0)


def close_own_proc_entries() -> bool:
    """Make this process non-dumpable: processes of the same uid can no longer read its ``/proc/PID``
    entries (``environ``, ``mem``, ``fd``...) nor attach to it. Returns whether it worked (Linux only)."""
    return _prctl(_PR_SET_DUMPABLE, 0)


def become_subreaper() -> bool:
    """Orphaned descendants of this process are re-parented to it rather than to init (Linux only)."""
    return _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def parse_user(text: str) -> tuple[int, int]:
    """``NAME`` (its uid and primary group) or ``UID[:GID]`` (GID defaults to UID).

    Raises:
        IsolationError: no such user, or not numbers in range.
    """
    if text[:1].isdigit():
        uid_text, _, gid_text = text.partition(":")
        try:
            uid, gid = int(uid_text), int(gid_text or uid_text)
        except ValueError:
            raise IsolationError(f"--function-user {text!r}: give a user name or UID[:GID]") from None
        if not (0 < uid < 2**31 and 0 < gid < 2**31):
            raise IsolationError(f"--function-user {text!r}: uid and gid must be between 1 and 2147483647")
        return uid, gid
    try:
        entry = pwd.getpwnam(text)
    except KeyError:
        hint = "give UID[:GID] to use ids without an account"
        raise IsolationError(f"--function-user {text!r}: no such user ({hint})") from None
    if entry.pw_uid == 0 or entry.pw_gid == 0:
        raise IsolationError(f"--function-user {text!r} is root or in group root: choose an unprivileged user")
    return entry.pw_uid, entry.pw_gid


def _mapped(uid: int, count: int) -> bool:
    """Whether uids ``uid … uid+count-1`` exist in this user namespace (a container may map only some)."""
    try:
        lines = Path("/proc/self/uid_map").read_text().split("\n")
    except OSError:
        return True
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and int(parts[0]) <= uid and uid + count <= int(parts[0]) + int(parts[2]):
            return True
    return False


@dataclass(frozen=True)
class Isolation:
    """The resolved isolation of a runner's workers.

    Attributes:
        mode: ``user`` or ``process`` (never ``auto``).
        uid: The first uid of the workers (``user`` mode); worker slot *n* runs as ``uid + n``.
        gid: The workers' group (``user`` mode): the group the ACL entries name.
    """

    mode: IsolationMode = IsolationMode.PROCESS
    uid: int = 0
    gid: int = 0

    @classmethod
    def resolve(cls, mode: IsolationMode | str, user: str | None, slots: int, *, claim: bool = True) -> Isolation:
        """The isolation ``mode`` means on this machine, for a runner of ``slots`` workers.

        Without ``user``, the first free range from ``DEFAULT_FUNCTION_UID`` on (in steps of ``slots``) is
        taken: several servers on one machine never share a uid. ``claim`` holds the range's lock file
        (in the temporary folder) for this process's lifetime.

        Raises:
            IsolationError: ``user`` mode without root, or a uid range that is taken or not mapped.
        """
        mode = IsolationMode(mode)
        root = hasattr(os, "geteuid") and os.geteuid() == 0
        if mode == IsolationMode.AUTO:
            mode = IsolationMode.USER if root else IsolationMode.PROCESS
        if mode == IsolationMode.PROCESS:
            return cls(IsolationMode.PROCESS)
        if not root:
            raise IsolationError("--function-isolation user needs a server running as root (or use process)")
        if user:
            uid, gid = parse_user(user)
            _check_range(uid, gid, slots, named=not user[:1].isdigit())
            if claim and not _claim(uid):
                raise IsolationError(f"another tidegate server uses uids {uid}-{uid + slots - 1} (--function-user)")
            return cls(IsolationMode.USER, uid, gid)
        uid = DEFAULT_FUNCTION_UID
        while True:
            _check_range(uid, uid, slots, named=False)
            if not claim or _claim(uid):
                return cls(IsolationMode.USER, uid, uid)
            uid += slots

    @property
    def separate(self) -> bool:
        """Whether workers run under uids of their own."""
        return self.mode == IsolationMode.USER

    def identity(self, slot: int) -> tuple[int, int] | None:
        """The (uid, gid) of worker ``slot``, or None when workers keep the server's."""
        return (self.uid + slot, self.gid) if self.separate else None

    def grant_interpreter(self, python: str, roots: list[Path]) -> None:
        """Let the workers reach ``python`` and ``roots`` (traverse on the folders above them).

        Raises:
            AclError: a folder refused the ACL entry.
        """
        if not self.separate:
            return
        for path in {Path(python), Path(os.path.realpath(python)), *roots}:
            grant_traverse(path, self.gid)
            if path.is_dir() and not path.stat().st_mode & 0o001:
                grant(path, self.gid, EXECUTE)

    def sweep(self, python: str, slot: int) -> None:
        """Kill every process of worker ``slot``'s uid (``user`` mode): ``kill(-1, SIGKILL)`` run as that uid."""
        ident = self.identity(slot)
        if ident is None:
            return
        code = "import os\ntry:\n    os.kill(-1, 9)\nexcept ProcessLookupError:\n    pass\n"
        try:
            subprocess.run(
                [python, "-S", "-I", "-c", code],
                user=ident[0],
                group=ident[1],
                extra_groups=[],
                env={},
                cwd=os.sep,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            pass  # the next sweep of this slot (its next worker's end) tries again


def _check_range(uid: int, gid: int, slots: int, *, named: bool) -> None:
    if not _mapped(uid, slots) or not _mapped(gid, 1):
        raise IsolationError(
            f"uids {uid}-{uid + slots - 1} (function workers) are not mapped in this container: "
            "choose others with --function-user UID[:GID]"
        )
    for n in range(slots):
        try:
            owner = pwd.getpwuid(uid + n).pw_name
        except KeyError:
            continue
        if not (n == 0 and named):  # a named --function-user is its own
            raise IsolationError(
                f"uid {uid + n} belongs to the account {owner!r}, but function workers use uids "
                f"{uid}-{uid + slots - 1}: choose a free range with --function-user UID[:GID]"
            )


def _claim(uid: int) -> bool:
    """Take the lock of the range starting at ``uid`` (held until this process ends); False if taken."""
    folder = Path(tempfile.gettempdir()) / _LOCKS
    folder.mkdir(mode=0o700, exist_ok=True)
    st = folder.stat()
    if st.st_uid != os.geteuid() or st.st_mode & 0o077:
        raise IsolationError(f"{folder} must be a folder of the server's own, mode 0700")
    fd = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _held.append(fd)
    return True


class Scratch:
    """A private folder per worker slot: the worker's ``HOME`` and ``TMPDIR``, emptied for each new worker."""

    def __init__(self, isolation: Isolation) -> None:
        self.isolation = isolation
        self.root = Path(tempfile.mkdtemp(prefix="tidegate-fn-"))  # 0700, the server's
        if isolation.separate:
            grant_traverse(self.root, isolation.gid)
            grant(self.root, isolation.gid, EXECUTE)

    def fresh(self, slot: int) -> Path:
        """Slot ``slot``'s folder, emptied (its previous worker's processes must be gone)."""
        path = self.root / str(slot)
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(mode=0o700)
        ident = self.isolation.identity(slot)
        if ident is not None:
            os.chown(path, *ident)
        return path

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def kill_descendants(pid: int, passes: int = 20) -> None:
    """SIGKILL every process below ``pid`` (``process`` mode; ``pid`` itself is left alive).

    The worker is a child subreaper, so orphans stay below it while it lives; each pass kills what it
    found, until a pass finds nothing. A handler forking faster than the passes can outrun this.
    """
    for _ in range(passes):
        found = _descendants(pid)
        if not found:
            return
        for child in found:
            try:
                os.kill(child, signal.SIGKILL)
            except OSError:
                pass


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def address_space(memory_mb: int) -> int:
    """The address-space limit (bytes) of a worker for functions of ``memory_mb``."""
    return (memory_mb + MEMORY_MARGIN_MB) * 1024 * 1024


def worker_limits(separate: bool, memory_mb: int) -> None:
    """Called by the worker itself at start, before any handler: its limits, hard as well as soft (an
    unprivileged process can lower a hard limit, never raise it again)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    wanted = [(resource.RLIMIT_NOFILE, OPEN_FILES), (resource.RLIMIT_AS, address_space(memory_mb))]
    if separate:
        wanted.append((resource.RLIMIT_NPROC, PROCESSES))
    for which, value in wanted:
        hard = resource.getrlimit(which)[1]
        if hard != resource.RLIM_INFINITY:
            value = min(hard, value)
        resource.setrlimit(which, (value, value))


def limit_cpu(timeout_s: float) -> None:
    """Called by the worker before each invocation: SIGXCPU once the invocation used more CPU time (summed
    over its threads) than its timeout and ``CPU_MARGIN_S``. A soft limit: the wall-clock timeout is the
    one a handler cannot lift."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + timeout_s) + CPU_MARGIN_S
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
