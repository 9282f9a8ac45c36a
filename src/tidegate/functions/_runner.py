"""``FunctionRunner``: a pool of long-lived worker processes that run user handlers.

Callers block in ``invoke`` (or await ``invoke_async``); each call takes an idle worker (preferring one
that already loaded the function's code), spawning one when fewer than ``workers`` exist, and otherwise
queues until a worker is free. A worker that times out or dies is killed and dropped; the next call that
needs a worker spawns a replacement.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import tidegate
from tidegate import metrics
from tidegate.functions._acl import READ, AclError, grant, grant_traverse, grant_tree
from tidegate.functions._isolation import Isolation, Scratch
from tidegate.functions._model import (
    FUNCTION_TIMEOUT,
    UNKNOWN,
    FunctionSpec,
    HttpRequest,
    HttpResult,
    InvocationContext,
    InvocationResult,
    RunnerClosed,
    WrongFunctionKind,
    context_to_wire,
    invocation_env,
)
from tidegate.functions._process import WorkerDied, WorkerProcess, WorkerTimeout
from tidegate.functions._protocol import encode

# Variables a worker inherits from the server; everything else (database URLs, the server's own keys)
# stays out of reach of function code. ``env`` adds to these.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SYSTEMROOT", "VIRTUAL_ENV")
_Reply = tuple[dict[str, Any], bytes]

log = logging.getLogger("tidegate.functions")


class _SpawnFailed(Exception):
    def __init__(self, message: str, logs: str) -> None:
        super().__init__(message)
        self.message = message
        self.logs = logs


def default_workers() -> int:
    """The runner's default number of workers: 2 per CPU, at least 2."""
    return max(2, (os.cpu_count() or 1) * 2)


class FunctionRunner:
    """Runs handlers in worker processes; thread-safe.

    Args:
        workers: The most worker processes alive at once (= the most concurrent invocations).
        env: Variables added to every worker's environment (e.g. endpoints the SDK shim reads).
        python: The interpreter workers run with; it must be able to import ``tidegate``.
        sitecustomize_dir: A folder put first on the workers' ``PYTHONPATH`` (its ``sitecustomize``
            module then runs at worker start).
        log_limit: Captured output kept per invocation, in bytes (the tail is kept).
        close_grace_s: How long ``close`` lets workers exit on their own before killing them.
        start_timeout_s: How long a new worker may take to start (not counted in function timeouts).
        isolation: How workers are kept from the server (docs/functions.md, "Isolation and limits");
            default: ``process`` (the server's uid, with limits).
        private: Folders function workers must never be given access to (the server's data folder); a
            code folder holding one, or inside one but outside ``readable``, is refused.
        readable: Folders inside ``private`` that functions read (installed requirements): with a uid of
            their own, the workers' group is given read access to them now, and to what is added later.
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        env: Mapping[str, str] | None = None,
        python: str = sys.executable,
        sitecustomize_dir: Path | None = None,
        log_limit: int = 64 * 1024,
        close_grace_s: float = 1.0,
        start_timeout_s: float = 30.0,
        isolation: Isolation | None = None,
        private: Sequence[Path] = (),
        readable: Sequence[Path] = (),
    ) -> None:
        self._max = workers if workers is not None else default_workers()
        if self._max < 1:
            raise ValueError("workers must be at least 1")
        self._python = python
        self._env = self._worker_env(env or {}, sitecustomize_dir)
        self.isolation = isolation or Isolation()
        self._private = [Path(os.path.realpath(p)) for p in private]
        self._readable = [Path(os.path.realpath(p)) for p in readable]
        self._granted: set[str] = set()
        if self.isolation.separate:
            roots = [Path(p) for p in (*sys.path, *self._env["PYTHONPATH"].split(os.pathsep)) if p]
            self.isolation.grant_interpreter(python, [p for p in roots if p.exists()])
            for folder in self._readable:
                folder.mkdir(parents=True, exist_ok=True)
                grant_traverse(folder, self.isolation.gid)
                grant_tree(folder, self.isolation.gid, default=True)
        self._scratch = Scratch(self.isolation)
        self._free_slots = list(range(self._max - 1, -1, -1))
        self._used_slots: set[int] = set()
        self._log_limit = log_limit
        self._grace = close_grace_s
        self._start_timeout = start_timeout_s
        self._cond = threading.Condition()
        self._idle: list[WorkerProcess] = []
        self._busy: set[WorkerProcess] = set()
        self._spawning = 0
        self._closed = False
        self._executor: ThreadPoolExecutor | None = None

    @staticmethod
    def _worker_env(extra: Mapping[str, str], sitecustomize_dir: Path | None) -> dict[str, str]:
        env = {k: os.environ[k] for k in _INHERITED if k in os.environ}
        env.update(extra)
        # The worker must import tidegate even when it is not installed in the interpreter's site-packages.
        paths = [str(Path(tidegate.__file__).resolve().parent.parent)]
        if sitecustomize_dir is not None:
            paths.insert(0, str(Path(sitecustomize_dir).resolve()))
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(paths)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        # One malloc arena: each further one reserves 64 MiB of address space, which counts against the
        # function's memory limit (docs/functions.md, "Isolation and limits").
        env.setdefault("MALLOC_ARENA_MAX", "1")
        return env

    # --- public API ------------------------------------------------------------------------------

    def invoke(self, spec: FunctionSpec, event: bytes, ctx: InvocationContext) -> InvocationResult:
        """Run an event handler ``handler(event, context)`` with ``event`` as bytes; blocks.

        Raises:
            RunnerClosed: ``close`` was called.
            WrongFunctionKind: ``spec.kind`` is not ``event``.
        """
        if spec.kind != "event":
            raise WrongFunctionKind(f"{spec.service}/{spec.name} is an {spec.kind} function")
        started = time.perf_counter()
        try:
            reply, payload = self._call(spec, ctx, {"kind": "event"}, bytes(event))
        except BaseException:
            _counted(spec, False, started)
            raise
        _counted(spec, bool(reply["ok"]), started)
        self._log_failure(spec, ctx, reply)
        if not reply["ok"]:
            payload = b""
        return InvocationResult(
            ok=reply["ok"],
            payload=payload,
            error_type=reply.get("error_type"),
            error_message=reply.get("error_message"),
            stack=reply.get("stack", []),
            duration_ms=reply.get("duration_ms", 0.0),
            logs=reply.get("logs", ""),
            log_bytes=reply.get("log_bytes", 0),
        )

    def invoke_http(
        self, spec: FunctionSpec, request: HttpRequest | Mapping[str, Any], ctx: InvocationContext
    ) -> HttpResult:
        """Run a WSGI handler for one HTTP request; blocks.

        ``request`` is an :class:`HttpRequest` or a mapping of its field names.

        Raises:
            RunnerClosed: ``close`` was called.
            WrongFunctionKind: ``spec.kind`` is not ``http``.
        """
        if spec.kind != "http":
            raise WrongFunctionKind(f"{spec.service}/{spec.name} is an {spec.kind} function")
        req = request if isinstance(request, HttpRequest) else HttpRequest(**request)
        started = time.perf_counter()
        try:
            reply, payload = self._call(spec, ctx, {"kind": "http", "http": req.to_wire()}, bytes(req.body))
        except BaseException:
            _counted(spec, False, started)
            raise
        _counted(spec, bool(reply["ok"]), started)
        self._log_failure(spec, ctx, reply)
        common: dict[str, Any] = {
            "duration_ms": reply.get("duration_ms", 0.0),
            "logs": reply.get("logs", ""),
            "log_bytes": reply.get("log_bytes", 0),
        }
        if reply["ok"]:
            headers = [(str(k), str(v)) for k, v in reply["headers"]]
            return HttpResult(status=reply["status"], headers=headers, body=payload, **common)
        stack = reply.get("stack", [])
        error = {
            "errorMessage": reply["error_message"],
            "errorType": reply["error_type"],
            "stackTrace": stack,
        }
        return HttpResult(
            status=502,
            headers=[("Content-Type", "application/json"), ("X-Fc-Error-Type", "UnhandledInvocationError")],
            body=json.dumps(error).encode(),
            ok=False,
            error_type=reply["error_type"],
            error_message=reply["error_message"],
            stack=stack,
            **common,
        )

    async def invoke_async(self, spec: FunctionSpec, event: bytes, ctx: InvocationContext) -> InvocationResult:
        """``invoke`` for event loops: runs on the runner's own threads, never on the loop."""
        call = functools.partial(self.invoke, spec, event, ctx)
        return await asyncio.get_running_loop().run_in_executor(self._pool(), call)

    async def invoke_http_async(
        self, spec: FunctionSpec, request: HttpRequest | Mapping[str, Any], ctx: InvocationContext
    ) -> HttpResult:
        """``invoke_http`` for event loops."""
        call = functools.partial(self.invoke_http, spec, request, ctx)
        return await asyncio.get_running_loop().run_in_executor(self._pool(), call)

    def worker_pids(self) -> list[int]:
        """The process ids of the live workers (idle and busy)."""
        with self._cond:
            return sorted(w.pid for w in [*self._idle, *self._busy])

    def close(self) -> None:
        """Stop every worker (in-flight invocations fail with ``FC.Unknown``) and reap them."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            idle, busy = list(self._idle), list(self._busy)
            self._idle.clear()
            self._cond.notify_all()
        # Busy workers are killed outright; the threads waiting on them see EOF and release their pipes.
        for worker in busy:
            worker.stop()
        for worker in idle:
            worker.close_input()
        deadline = time.monotonic() + self._grace
        for worker in idle:
            worker.finish(deadline)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._scratch.remove()

    def __enter__(self) -> FunctionRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- internals -------------------------------------------------------------------------------

    def _pool(self) -> ThreadPoolExecutor:
        with self._cond:
            if self._closed:
                raise RunnerClosed()
            if self._executor is None:
                # As many threads as workers: further async calls queue in the executor, not on a lock.
                self._executor = ThreadPoolExecutor(self._max, thread_name_prefix="tidegate-fn")
            return self._executor

    def _log_failure(self, spec: FunctionSpec, ctx: InvocationContext, reply: dict[str, Any]) -> None:
        """One line per failed invocation: request id, function, error (the stack and output go elsewhere)."""
        if reply["ok"] or self._closed:  # invocations cut short by close() are not the function's failure
            return
        error = one_line(str(reply.get("error_type") or UNKNOWN), 128)
        message = one_line(str(reply.get("error_message") or ""), 300)
        log.warning(
            "function %s/%s failed (request %s): %s: %s", spec.service, spec.name, ctx.request_id, error, message
        )

    def _call(self, spec: FunctionSpec, ctx: InvocationContext, extra: dict[str, Any], body: bytes) -> _Reply:
        header: dict[str, Any] = {
            "code_dir": str(spec.code_dir),
            "handler": spec.handler,
            "initializer": spec.initializer,
            "env": invocation_env(spec, ctx),
            "ctx": context_to_wire(spec, ctx),
            **extra,
        }
        frame = encode(header, body)
        key = header["code_dir"]
        refused = self._prepare_code(spec.code_dir)
        if refused:
            return _failure(UNKNOWN, f"function {spec.service}/{spec.name} cannot run: {refused}")
        attempt = 0
        while attempt < 2:  # a second try only when the first worker died before it read the request
            try:
                worker = self._acquire(key, spec.memory_mb)
            except _SpawnFailed as exc:
                return _failure(UNKNOWN, exc.message, logs=exc.logs)
            attempt += 1
            started = time.monotonic()
            try:
                reply = worker.call(frame, started + spec.timeout_s)
            except WorkerTimeout:
                self._discard(worker)
                message = f"function {spec.service}/{spec.name} timed out after {spec.timeout_s:g} s"
                elapsed_ms = (time.monotonic() - started) * 1000.0
                return _failure(FUNCTION_TIMEOUT, message, elapsed_ms, *_output(worker))
            except WorkerDied as exc:
                self._discard(worker)
                if not exc.sent and not self._closed:
                    continue  # it died while idle: the handler never ran, so a fresh worker may run it
                elapsed_ms = (time.monotonic() - started) * 1000.0
                if worker.proc.returncode == -signal.SIGXCPU:
                    message = f"function {spec.service}/{spec.name} used more CPU time than its timeout allows"
                    return _failure(FUNCTION_TIMEOUT, message, elapsed_ms, *_output(worker))
                reason = "the function runner was closed" if self._closed else worker.death()
                message = f"function {spec.service}/{spec.name} did not complete: {reason}"
                return _failure(UNKNOWN, message, elapsed_ms, *_output(worker))
            if reply[0].pop("recycle", False):
                self._discard(worker)  # out of memory: its heap may be in any state
                reply[0]["error_message"] = f"function {spec.service}/{spec.name}: {reply[0]['error_message']}"
                return reply
            worker.warm.add(key)
            self._release(worker)
            return reply
        return _failure(UNKNOWN, "function workers keep dying before they receive a request")

    def _acquire(self, key: str, memory_mb: int) -> WorkerProcess:
        stale: WorkerProcess | None = None
        with self._cond:
            while True:
                if self._closed:
                    raise RunnerClosed()
                worker = self._pick(key, memory_mb)
                if worker is not None:
                    self._busy.add(worker)
                    return worker
                if len(self._busy) + len(self._idle) + self._spawning < self._max:
                    self._spawning += 1
                    break
                if self._idle:  # all started, one idle but for another memory size: it makes room
                    stale = self._idle.pop(0)  # the least recently used
                    self._spawning += 1
                    break
                self._cond.wait()
        if stale is not None:
            stale.kill()
            self._free_slot(stale.slot)
        try:
            worker = self._spawn(memory_mb)
        except _SpawnFailed:
            with self._cond:
                self._spawning -= 1
                self._cond.notify()
            raise
        with self._cond:
            self._spawning -= 1
            if self._closed:
                worker.kill()
                raise RunnerClosed()
            self._busy.add(worker)
            return worker

    def share(self, folder: Path) -> None:
        """With a uid per worker, let the workers read ``folder`` and what it holds (installed requirements).

        Raises:
            AclError: the file system refused the ACL entries.
        """
        if self.isolation.separate:
            grant_tree(folder, self.isolation.gid)

    def _prepare_code(self, code_dir: Path) -> str:
        """Refuse a code folder overlapping the private ones; with a uid per worker, let the workers read it.

        Returns why the folder cannot be used, or ``""``.
        """
        key = str(code_dir)
        if key in self._granted:
            return ""
        real = Path(os.path.realpath(code_dir))
        for private in self._private:
            if real == private or private in real.parents:
                if not any(r == real or r in real.parents for r in self._readable):
                    return f"its code folder {code_dir} is inside the server's data folder"
            elif real in private.parents:
                return f"its code folder {code_dir} holds the server's data folder"
        if self.isolation.separate and real.is_dir():
            try:
                self._grant_code(real)
            except (AclError, OSError) as exc:
                return f"the function workers cannot be given access to {code_dir}: {exc}"
        with self._cond:
            self._granted.add(key)
        return ""

    def _grant_code(self, real: Path) -> None:
        gid = self.isolation.gid
        targets = [real]
        for entry in os.scandir(real):  # a requirements view links the code folder's entries
            if entry.is_symlink():
                target = Path(os.path.realpath(entry.path))
                if not any(p == target or p in target.parents or target in p.parents for p in self._private):
                    targets.append(target)
        for target in targets:
            grant_traverse(target, gid)
            if target.is_dir():
                grant_tree(target, gid, skip=self._private)
            elif target.is_file():
                grant(target, gid, READ)

    def _spawn(self, memory_mb: int) -> WorkerProcess:
        with self._cond:
            slot = self._free_slots.pop()
            first_use = slot not in self._used_slots
            self._used_slots.add(slot)
        try:
            worker = WorkerProcess(
                self._python,
                self._env,
                self._log_limit,
                slot=slot,
                isolation=self.isolation,
                scratch=self._scratch,
                first_use=first_use,
                memory_mb=memory_mb,
            )
        except OSError as exc:
            self._free_slot(slot)
            raise _SpawnFailed(f"cannot start a function worker with {self._python}: {exc}", "") from None
        try:
            worker.wait_ready(self._start_timeout)
        except (WorkerTimeout, WorkerDied):
            worker.kill()
            self._free_slot(worker.slot)
            message = f"cannot start a function worker: {worker.death()}"
            raise _SpawnFailed(message, worker.last_output()) from None
        return worker

    def _pick(self, key: str, memory_mb: int) -> WorkerProcess | None:
        # Most recently used last: reuse warm workers first so their module caches stay useful. A worker
        # serves one memory size (its address-space limit is set for good when it starts).
        fitting = [i for i, w in enumerate(self._idle) if w.memory_mb == memory_mb]
        for i in reversed(fitting):
            if key in self._idle[i].warm:
                return self._idle.pop(i)
        return self._idle.pop(fitting[-1]) if fitting else None

    def _release(self, worker: WorkerProcess) -> None:
        with self._cond:
            self._busy.discard(worker)
            if self._closed:
                worker.kill()
                return
            self._idle.append(worker)
            self._cond.notify()

    def _free_slot(self, slot: int) -> None:
        with self._cond:
            if slot not in self._free_slots:
                self._free_slots.append(slot)

    def _discard(self, worker: WorkerProcess) -> None:
        worker.kill()
        self._free_slot(worker.slot)
        with self._cond:
            self._busy.discard(worker)
            self._cond.notify()


def one_line(text: str, width: int) -> str:
    """``text`` shortened to ``width`` characters with line breaks and control characters escaped."""
    if len(text) > width:
        text = text[: width - 1] + "…"
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _output(worker: WorkerProcess) -> tuple[str, int]:
    return worker.last_output(), worker.last_output_size()


def _failure(
    error_type: str, message: str, duration_ms: float = 0.0, logs: str = "", log_bytes: int | None = None
) -> _Reply:
    reply = {
        "ok": False,
        "error_type": error_type,
        "error_message": message,
        "stack": [],
        "duration_ms": duration_ms,
        "logs": logs,
        "log_bytes": len(logs.encode("utf-8", "replace")) if log_bytes is None else log_bytes,
    }
    return reply, b""


def _counted(spec: FunctionSpec, ok: bool, started: float) -> None:
    """Count one invocation of ``spec`` (docs/operations.md, Metrics): its outcome and its wall time."""
    if not metrics.enabled():
        return
    name = metrics.function_label(f"{spec.service}/{spec.name}")
    metrics.function_invocations.labels(name, "ok" if ok else "error").inc()
    metrics.function_duration.labels(name).observe(time.perf_counter() - started)
