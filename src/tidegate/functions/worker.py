"""The worker process: ``python -m tidegate.functions.worker READ_FD WRITE_FD``.

It reads invocation frames from ``READ_FD`` and answers on ``WRITE_FD`` (see ``_protocol``), one
invocation at a time, for as long as the runner keeps the pipe open. Its stdout and stderr (file
descriptors 1 and 2) are a temporary file opened in append mode by the runner: the worker empties it
before each invocation and reads it back afterwards, so everything a handler prints, including output
of its child processes, is captured per invocation and can never corrupt the protocol pipes.
"""

from __future__ import annotations

import io
import logging
import os
import select
import sys
import threading
import time
from typing import Any

from tidegate.functions._fccontext import FCContext
from tidegate.functions._isolation import IsolationMode, become_subreaper, limit_cpu, worker_limits
from tidegate.functions._loader import Loader, LoadFailure, format_stack
from tidegate.functions._model import OUT_OF_MEMORY, UNKNOWN
from tidegate.functions._protocol import FrameReader, encode, write_all
from tidegate.functions._wsgi import InvalidResponse, build_environ, run_app
from tidegate.jsontext import compact

_CAPTURE_FD = 1


def _watch_parent(read_fd: int) -> None:
    """Exit as soon as the runner's end of the request pipe closes, even mid-invocation.

    A runner killed with SIGKILL cannot stop its workers; this keeps a stuck handler from outliving it.
    """
    poller = select.poll()
    poller.register(read_fd, 0)  # POLLHUP and POLLERR are always reported
    while True:
        for _fd, events in poller.poll():
            if events & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                os._exit(0)


def serialise(value: object) -> bytes:
    """A handler's return value as bytes (bytes as is, str as UTF-8, None as empty, else JSON)."""
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    return compact(value).encode()


class _Runtime:
    def __init__(self, log_limit: int) -> None:
        self._loader = Loader()
        self._base_env = dict(os.environ)
        self._overlay: set[str] = set()
        self._log_limit = log_limit

    def handle(self, header: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
        self._apply_env(header["env"])
        context = FCContext(header["ctx"])
        limit_cpu(context.function.timeout)
        code_dir: str = header["code_dir"]
        reply: dict[str, Any] = {"ok": True}
        payload = b""
        os.ftruncate(_CAPTURE_FD, 0)
        started = time.perf_counter()
        try:
            self._loader.activate(code_dir)
            if header.get("initializer"):
                # As in FC, the initializer runs (once) before the handler is even looked up.
                self._loader.initialize(code_dir, header["initializer"], context)
            func = self._loader.handler(code_dir, header["handler"])
            if header["kind"] == "http":
                environ = build_environ(header["http"], body, context)
                status, headers, payload = run_app(func, environ)
                reply["status"], reply["headers"] = status, headers
            else:
                payload = serialise(func(body, context))
        except LoadFailure as exc:
            reply = _failure(exc.error_type, exc.message, exc.stack)
        except InvalidResponse as exc:
            reply = _failure(exc.error_type, str(exc), format_stack(exc))
        except MemoryError as exc:
            reply = _out_of_memory(context.function.memory, exc)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt are function errors too
            reply = _failure(type(exc).__name__, str(exc), format_stack(exc))
        reply["duration_ms"] = (time.perf_counter() - started) * 1000.0
        reply["logs"], reply["log_bytes"] = self._collect_logs()
        self._loader.adopt_new_modules()
        return reply, payload

    def _apply_env(self, overlay: dict[str, str]) -> None:
        environ = os.environ
        for key in self._overlay.difference(overlay):
            if key in self._base_env:
                environ[key] = self._base_env[key]
            else:
                environ.pop(key, None)
        for key, value in overlay.items():
            if environ.get(key) != value:
                environ[key] = value
        self._overlay = set(overlay)

    def _collect_logs(self) -> tuple[str, int]:
        """The tail of this invocation's output (at most ``log_limit`` bytes) and its whole size in bytes."""
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass  # a handler may have closed or replaced a stream; its output is its own business
        size = os.fstat(_CAPTURE_FD).st_size
        if size == 0:
            return "", 0
        start = max(0, size - self._log_limit)
        text = os.pread(_CAPTURE_FD, size - start, start).decode("utf-8", "replace")
        if start:
            # FC keeps the tail of the log too; say how much was dropped.
            text = f"[... {start} bytes of earlier output dropped]\n{text}"
        return text, size


def _failure(error_type: str, message: str, stack: list[str]) -> dict[str, Any]:
    return {"ok": False, "error_type": error_type, "error_message": message, "stack": stack}


def _out_of_memory(memory_mb: object, exc: BaseException | None) -> dict[str, Any]:
    """The reply of an invocation that ran out of memory: the runner replaces the worker afterwards."""
    stack = format_stack(exc) if exc is not None else []
    message = f"the function ran out of memory (memory: {memory_mb} MB)"
    return {**_failure(OUT_OF_MEMORY, message, stack), "recycle": True}


def main(argv: list[str]) -> int:
    """Serve invocations until the runner closes the request pipe."""
    read_fd, write_fd = int(argv[1]), int(argv[2])
    log_limit = int(argv[3]) if len(argv) > 3 else 65536
    mode = IsolationMode(argv[4]) if len(argv) > 4 else IsolationMode.PROCESS
    worker_limits(mode == IsolationMode.USER, int(argv[5]) if len(argv) > 5 else 128)
    if mode != IsolationMode.USER:
        become_subreaper()  # what a handler leaves behind stays below this process, to be killed with it
    # Processes a handler starts must not hold the protocol pipes (a dead worker must read as EOF).
    os.set_inheritable(read_fd, False)
    os.set_inheritable(write_fd, False)
    sys.dont_write_bytecode = True
    # Line buffering: what a handler printed before crashing or hanging is still in the capture file.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(line_buffering=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(levelname)s] %(message)s")
    threading.Thread(target=_watch_parent, args=(read_fd,), daemon=True, name="parent-watch").start()
    runtime = _Runtime(log_limit)
    reader = FrameReader(read_fd)
    write_all(write_fd, encode({"ready": True, "pid": os.getpid()}))
    while True:
        try:
            header, body = reader.read()
        except EOFError:
            return 0
        try:
            reply, payload = runtime.handle(header, body)
        except MemoryError:
            reply, payload = _out_of_memory(header.get("ctx", {}).get("function", {}).get("memory"), None), b""
        except Exception as exc:  # a runtime bug: report it, keep serving
            reply, payload = _failure(UNKNOWN, f"worker error: {type(exc).__name__}: {exc}", []), b""
        write_all(write_fd, encode(reply, payload))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
