"""A real tidegate server in the test's own process: a real socket, a temporary SQLite store, the runtime.

:func:`serve_app` serves any :class:`~tidegate.api.AppContext` (the caller keeps the context: its store,
its clock); :class:`TidegateServer` is the whole server of ``tidegate server`` (API, message service,
runtime, function host, push deliveries) on a fresh data folder with a new root key, plus the helpers a
test wants: deploy a file, start and wait for executions, configured clients (official SDKs when they are
installed, and the worker SDK).
"""

from __future__ import annotations

import importlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import uvicorn

from tidegate.api.context import AppContext
from tidegate.app import create_app
from tidegate.auth.keys import KeyRing, generate_access_key
from tidegate.cli.server import start_runtime
from tidegate.clock import now_ms
from tidegate.deploy.apply import Deployer, Step
from tidegate.deploy.host import FunctionHost
from tidegate.deploy.serve import build_function_host, deploy_directory
from tidegate.jsontext import compact
from tidegate.mq.push import PushWorker, start_push_worker
from tidegate.names import DEFAULT_ACCOUNT_ID, DEFAULT_REGION
from tidegate.ram.sts import StsService
from tidegate.runtime import Runtime
from tidegate.sdk import ClientConfig, Credentials, Handler, Worker
from tidegate.store import ExecutionRecord, Store, open_store

__all__ = ["MovableClock", "TidegateServer", "serve_app"]

#: How long :func:`serve_app` waits for the server to listen, and for it to stop.
START_TIMEOUT_S = 15.0


class MovableClock:
    """Wall-clock epoch milliseconds plus an offset the test changes (``AppContext(clock=…)``)."""

    def __init__(self, offset_ms: int = 0) -> None:
        self.offset_ms = offset_ms

    def __call__(self) -> int:
        return now_ms() + self.offset_ms


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # the kernel picks a free port: no race with other tests
    sock.listen(128)
    return sock


@contextmanager
def _serving(app: Any, sock: socket.socket) -> Iterator[None]:
    config = uvicorn.Config(app, log_level="warning", lifespan="off", server_header=False, timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported to the test below, not lost in the thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="tidegate-testing-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        started = threading.Event()
        while not (server.started or failure or not thread.is_alive()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not listen within {START_TIMEOUT_S} s")
            started.wait(0.01)  # polling uvicorn's flag (it has no event) within the deadline
        if not server.started:
            raise RuntimeError(f"the server did not start: {failure[0] if failure else 'its thread ended'}")
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT_S)
        sock.close()


@contextmanager
def serve_app(ctx: AppContext, functions: FunctionHost | None = None) -> Iterator[str]:
    """Serve ``create_app(ctx, functions)`` on 127.0.0.1 in a background thread; yield ``127.0.0.1:PORT``."""
    sock = _listen()
    port = sock.getsockname()[1]
    with _serving(create_app(ctx, functions), sock):
        yield f"127.0.0.1:{port}"


class TidegateServer:
    """A whole tidegate server in this process, on a fresh data folder; :meth:`close` stops it.

    Use it as a context manager, or through the pytest fixture ``tidegate_server``
    (:mod:`tidegate.testing.plugin`)::

        with TidegateServer(tmp_path) as server:
            server.deploy("deploy.yaml")
            server.worker("fnf-demo", handle)
            server.start_execution("my-flow", "run-1", {"key": "value"})
            assert server.wait_execution("my-flow", "run-1").status == "Succeeded"

    Attributes:
        endpoint: ``http://127.0.0.1:PORT``, for both protocols (FnF RPC and MNS) and the REST API.
        host: ``127.0.0.1:PORT`` (what an SDK's per-request endpoint takes).
        access_key_id, access_key_secret: the root key (a new one per server).
        account_id, region: the server's identity.
        store, ctx, runtime: the server's parts, for tests that look inside.

    Args:
        missing_sdk: called with the message when a client's official SDK is not installed, instead of
            raising ModuleNotFoundError (the pytest fixture passes ``pytest.skip``).
    """

    def __init__(
        self,
        data_dir: Path | str,
        *,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        functions_dir: Path | str | None = None,
        missing_sdk: Callable[[str], Any] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.region = region
        self.account_id = account_id
        self.missing_sdk = missing_sdk
        self._root = generate_access_key(account_id)
        self.access_key_id = self._root.id
        self.access_key_secret = self._root.secret
        self.store: Store = open_store(f"sqlite:///{self.data_dir / 'tidegate.db'}")
        self.ctx = AppContext(store=self.store, keyring=KeyRing(self._root), region=region, account_id=account_id)
        self._workers: list[tuple[Worker, threading.Thread]] = []
        self._closers: list[Callable[[], None]] = [self.store.close]
        try:
            self._start(None if functions_dir is None else Path(functions_dir))
        except BaseException:
            self.close()
            raise

    def _start(self, functions_dir: Path | None) -> None:
        sock = _listen()
        port = sock.getsockname()[1]
        self.host = f"127.0.0.1:{port}"
        self.endpoint = f"http://{self.host}"
        functions: FunctionHost = build_function_host(
            self.store,
            StsService(self.ctx.authorizer),
            self.data_dir,
            host="127.0.0.1",
            port=port,
            region=self.region,
            account_id=self.account_id,
            env={},
            functions_dir=functions_dir,
        )
        self._closers.append(functions.close)
        self._closers.append(self.ctx.service.purger.stop)
        self.runtime: Runtime = start_runtime(self.ctx, functions)
        self._closers.append(self.runtime.stop)
        push: PushWorker = start_push_worker(
            self.store,
            self.data_dir,
            host="127.0.0.1",
            port=port,
            region=self.region,
            account_id=self.account_id,
            env={},
        )
        self._closers.append(push.stop)
        serving = _serving(create_app(self.ctx, functions), sock)
        serving.__enter__()

        def stop_serving() -> None:
            serving.__exit__(None, None, None)

        self._closers.append(stop_serving)

    # --- lifecycle ---------------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the workers, the server, the runtime, and close the store (idempotent)."""
        while self._workers:
            worker, thread = self._workers.pop()
            worker.stop()  # gracefully: running tasks finish and report
            thread.join(timeout=START_TIMEOUT_S)
            if thread.is_alive():
                worker.stop(now=True)
                thread.join(timeout=START_TIMEOUT_S)
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> TidegateServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- deploying and executions --------------------------------------------------------------------------

    def deploy(self, path: Path | str) -> list[Step]:
        """Deploy a deploy file (or every ``deploy.yaml`` of a folder) as ``tidegate deploy`` does."""
        with Deployer(self.endpoint, self.access_key_id, self.access_key_secret) as deployer:
            return deploy_directory(Path(path), deployer)

    def start_execution(
        self, flow: str, name: str | None = None, input: dict[str, Any] | None = None
    ) -> ExecutionRecord:
        """Start an execution of ``flow`` (StartExecution; a running one of that name is returned)."""
        record, _ = self.ctx.service.start_execution(flow, name, compact(input or {}))
        return record

    def wait_execution(self, flow: str, name: str, timeout: float = 30.0) -> ExecutionRecord:
        """Wait until the execution ends (DescribeExecution, long-polling); return it.

        The record has ``status`` (``Succeeded``, ``Failed``…), ``output`` (JSON text), ``error`` and
        ``cause``; :meth:`output` reads the output.

        Raises:
            TimeoutError: it is still running after ``timeout`` seconds (the message tells its status).
        """
        deadline = time.monotonic() + timeout
        while True:
            record = self.ctx.service.describe_execution(flow, name, deadline=deadline, wait_s=60)
            if record.ended:
                return record
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{flow}/{name} is still {record.status} after {timeout} s")

    @staticmethod
    def output(record: ExecutionRecord) -> Any:
        """The output of an ended execution as a value (None when it has none)."""
        return None if record.output is None else json.loads(record.output)

    # --- clients ------------------------------------------------------------------------------------------

    def client_config(self) -> ClientConfig:
        """The worker SDK's configuration for this server (endpoint and root key)."""
        return ClientConfig.from_env(
            endpoint=self.endpoint,
            region=self.region,
            credentials=Credentials(self.access_key_id, self.access_key_secret),
        )

    def worker(self, queue: str, handler: Handler, **options: Any) -> Worker:
        """Run a :class:`tidegate.sdk.Worker` on ``queue`` in a thread until this server closes.

        ``options`` are the Worker's (``concurrency``, ``task_format``…); ``wait_seconds`` defaults to 1 so
        that closing does not wait for a long poll.
        """
        options.setdefault("wait_seconds", 1)
        options.setdefault("config", self.client_config())
        worker = Worker(queue, handler, **options)
        thread = threading.Thread(target=worker.run, name=f"tidegate-testing-worker-{queue}", daemon=True)
        thread.start()
        self._workers.append((worker, thread))
        return worker

    def fnf_client(self) -> Any:
        """An ``aliyunsdkcore`` AcsClient whose ``fnf`` requests go to this server.

        Raises:
            ModuleNotFoundError: aliyun-python-sdk-core is not installed (``pip install aliyun-python-sdk-core
                aliyun-python-sdk-fnf``); the pytest fixture skips the test instead.
        """
        try:
            acs_client: Any = importlib.import_module("aliyunsdkcore.client").AcsClient
        except ModuleNotFoundError as exc:
            self._missing(f"fnf_client() needs the official SDK: pip install aliyun-python-sdk-core ({exc})")
        client = acs_client(self.access_key_id, self.access_key_secret, self.region, auto_retry=False)
        client.add_endpoint(self.region, "fnf", self.host)
        return client

    def mns_account(self) -> Any:
        """An ``aliyun-mns`` Account on this server's message service.

        Raises:
            ModuleNotFoundError: aliyun-mns is not installed (``pip install aliyun-mns``).
        """
        try:
            account: Any = importlib.import_module("mns.account").Account
        except ModuleNotFoundError as exc:
            self._missing(f"mns_account() needs the official SDK: pip install aliyun-mns ({exc})")
        return account(self.endpoint, self.access_key_id, self.access_key_secret)

    def _missing(self, message: str) -> NoReturn:
        if self.missing_sdk is not None:
            self.missing_sdk(message)
        raise ModuleNotFoundError(message)
