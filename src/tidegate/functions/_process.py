"""One worker process as the runner sees it: spawn, call with a deadline, kill, describe its death."""

from __future__ import annotations

import array
import fcntl
import os
import signal
import subprocess
import tempfile
import termios
import threading
import time
from collections.abc import Mapping
from typing import Any

from tidegate.functions._isolation import Isolation, Scratch, kill_descendants
from tidegate.functions._model import LOG_TAIL_BYTES, log_tail
from tidegate.functions._protocol import FrameReader, FrameTimeout, write_all


class WorkerTimeout(Exception):
    """The worker did not answer before the deadline."""


class WorkerDied(Exception):
    """The worker's pipe closed; ``sent`` tells whether the request had been written."""

    def __init__(self, sent: bool) -> None:
        super().__init__("worker died")
        self.sent = sent


class WorkerProcess:
    """A spawned ``tidegate.functions.worker`` with its two pipes and its output capture file.

    ``slot`` numbers the worker among the runner's (its uid in ``user`` isolation); ``scratch`` gives it a
    fresh private folder, its ``HOME`` and ``TMPDIR``; ``memory_mb`` is the memory of the functions it
    serves (its address-space limit, set by the worker at start).
    """

    def __init__(
        self,
        python: str,
        env: Mapping[str, str],
        log_limit: int,
        *,
        slot: int = 0,
        isolation: Isolation | None = None,
        scratch: Scratch | None = None,
        first_use: bool = False,
        memory_mb: int = 128,
    ) -> None:
        self.warm: set[str] = set()
        self.slot = slot
        self.memory_mb = memory_mb  # it serves functions of this memory size only (its address-space limit)
        self._python = python
        self._isolation = isolation or Isolation()
        ident = self._isolation.identity(slot)
        env = dict(env)
        if first_use:
            self._isolation.sweep(python, slot)  # what an earlier server (killed) left running under this uid
        if scratch is not None:
            home = str(scratch.fresh(slot))
            env.update(HOME=home, TMPDIR=home, TMP=home, TEMP=home)
        if ident is not None:
            env.setdefault("USER", str(ident[0]))
            env.setdefault("LOGNAME", str(ident[0]))
        mode = str(self._isolation.mode)
        # The capture file is the worker's stdout and stderr. O_APPEND makes writes land at the end
        # after the worker truncates it, and lets us read the tail of a worker that died.
        self._capture = tempfile.TemporaryFile(buffering=0)
        cap_fd = self._capture.fileno()
        fcntl.fcntl(cap_fd, fcntl.F_SETFL, fcntl.fcntl(cap_fd, fcntl.F_GETFL) | os.O_APPEND)
        req_r, self._req_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        argv = [python, "-m", "tidegate.functions.worker", str(req_r), str(resp_w), str(log_limit)]
        argv += [mode, str(memory_mb)]
        drop: dict[str, Any] = {}
        if ident is not None:
            drop = {"user": ident[0], "group": ident[1], "extra_groups": [], "umask": 0o077}
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=cap_fd,
                stderr=cap_fd,
                pass_fds=(req_r, resp_w),
                env=env,
                cwd=os.sep,
                # Own process group: a timeout kills the handler's children too, and a Ctrl-C aimed at
                # the server does not interrupt invocations before the runner closes them.
                start_new_session=True,
                **drop,
            )
        except BaseException:
            for fd in (self._req_w, self._resp_r):
                os.close(fd)
            self._capture.close()
            raise
        finally:
            os.close(req_r)
            os.close(resp_w)
        self.pid = self.proc.pid
        self._reader = FrameReader(self._resp_r)
        self._closed = False
        self._lock = threading.Lock()
        self._death = ""
        self._last_output = ""
        self._last_size = 0

    def wait_ready(self, timeout_s: float) -> None:
        """Wait for the worker's start-up frame, so start-up time never counts against a function's timeout.

        Raises:
            WorkerTimeout: It did not start in time.
            WorkerDied: It exited while starting.
        """
        try:
            header, _ = self._reader.read(time.monotonic() + timeout_s)
        except FrameTimeout:
            raise WorkerTimeout() from None
        except (EOFError, OSError):
            raise WorkerDied(sent=False) from None
        if not header.get("ready"):
            raise WorkerDied(sent=False)

    def call(self, frame: bytes, deadline: float) -> tuple[dict[str, Any], bytes]:
        """Send one request frame and wait for the reply until ``deadline`` (monotonic).

        Raises:
            WorkerTimeout: No reply in time (the worker is still running: kill it).
            WorkerDied: The pipe closed before or after the request was sent.
        """
        if self.proc.poll() is not None:
            raise WorkerDied(sent=False)  # died while idle (killed from outside, OOM killer, ...)
        try:
            write_all(self._req_w, frame)
        except (BrokenPipeError, OSError):
            raise WorkerDied(sent=False) from None
        try:
            return self._reader.read(deadline)
        except FrameTimeout:
            raise WorkerTimeout() from None
        except (EOFError, OSError):
            raise WorkerDied(sent=not self._unread(len(frame))) from None

    def _unread(self, size: int) -> bool:
        """Whether the whole request still sits in the pipe: the worker died before reading any of it."""
        count = array.array("i", [0])
        try:
            fcntl.ioctl(self._req_w, termios.FIONREAD, count, True)
        except OSError:
            return False
        return count[0] >= size

    def kill(self) -> None:
        """Kill the worker and its process group, reap it and release its resources."""
        with self._lock:  # the caller and ``close`` may both kill a busy worker
            self._kill_group()
            if not self._capture.closed:
                self._death = self._describe()
                self._last_output, self._last_size = self._tail()
                self._capture.close()
            self._release()

    def close_input(self) -> None:
        """Close the request pipe of an idle worker: it exits when it reads EOF."""
        with self._lock:
            if not self._closed:
                os.close(self._req_w)
                self._closed = True

    def stop(self) -> None:
        """Kill and reap the process of a busy worker, leaving its pipes to the thread using them."""
        with self._lock:
            self._kill_group()

    def _kill_group(self) -> None:
        """SIGKILL the worker and what it started, then reap it (hold ``_lock``).

        With a uid of its own, every process of that uid goes (children that called ``setsid`` too);
        otherwise the worker's process group is stopped, the processes below the worker (it is their
        subreaper) are killed, then the group.
        """
        if self.proc.poll() is None:
            if not self._isolation.separate:
                _signal_group(self.pid, signal.SIGSTOP)
                kill_descendants(self.pid)
            _signal_group(self.pid, signal.SIGKILL)
        self.proc.wait()
        self._isolation.sweep(self._python, self.slot)

    def finish(self, deadline: float) -> None:
        """Wait (until ``deadline``, monotonic) for an exiting worker, then kill it and release it."""
        try:
            self.proc.wait(timeout=max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def death(self) -> str:
        """How the process ended (valid after ``kill``)."""
        return self._death or self._describe()

    def last_output(self) -> str:
        """The last 4 KiB of what the process wrote since its last invocation began (valid after ``kill``)."""
        return self._last_output

    def last_output_size(self) -> int:
        """How many bytes the process wrote since its last invocation began (valid after ``kill``)."""
        return self._last_size

    def _describe(self) -> str:
        code = self.proc.returncode
        if code is None:
            how = "is unresponsive"
        elif code < 0:
            try:
                how = f"was killed by signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        return f"function worker (pid {self.pid}) {how}"

    def _tail(self) -> tuple[str, int]:
        if self._capture.closed:
            return "", 0
        fd = self._capture.fileno()
        size = os.fstat(fd).st_size
        start = max(0, size - LOG_TAIL_BYTES - 3)  # 3 more: the tail starts at a character's first byte
        return log_tail(os.pread(fd, size - start, start).decode("utf-8", "replace")), size

    def _release(self) -> None:
        if not self._closed:
            os.close(self._req_w)
            self._closed = True
        if self._resp_r >= 0:
            os.close(self._resp_r)
            self._resp_r = -1


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
