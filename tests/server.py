"""A real ``tidegate server`` subprocess for tests: start, wait for /healthz, SIGKILL, restart.

Usage::

    srv = ServerProcess(tmp_path / "data", env=TEST_KEYS)
    srv.start()
    ...  # talk to srv.url
    srv.kill()     # SIGKILL, as a crash
    srv.start()    # same data dir, same port
    srv.stop()     # SIGTERM, graceful
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from tests.waiting import wait_until

REPO = Path(__file__).resolve().parent.parent

#: Fixed root key for tests (the values the captures in tests/data/captures were signed with).
TEST_KEYS = {
    "TIDEGATE_ACCESS_KEY_ID": "testAccessKeyId",
    "TIDEGATE_ACCESS_KEY_SECRET": "testAccessKeySecret",
}


def free_port() -> int:
    """Return a TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerError(RuntimeError):
    """The server did not come up (its log is in the message)."""


class ServerProcess:
    """One ``tidegate server`` process on a data folder; restartable on the same port.

    Args:
        data_dir: the ``--data`` folder (created).
        env: extra environment variables (e.g. :data:`TEST_KEYS`).
        port: the port; a free one by default.
        args: extra command-line arguments (``--functions DIR``, ``--store URL``…).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        args: Sequence[str] = (),
    ) -> None:
        self.data_dir = data_dir
        self.env = dict(env or {})
        self.port = port or free_port()
        self.args = list(args)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"

    @property
    def endpoint(self) -> str:
        """``127.0.0.1:PORT`` (the SDKs' endpoint form)."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.endpoint}"

    def log(self) -> str:
        """The server's combined output so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the process and wait until ``/healthz`` answers 200.

        Raises:
            ServerError: the process exited or did not answer within ``timeout_s``.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        cmd = [
            sys.executable,
            "-c",
            "from tidegate.cli import main; main()",
            "server",
            "--port",
            str(self.port),
            "--data",
            str(self.data_dir),
            *self.args,
        ]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        proc = self.proc

        def answering() -> bool:
            if proc.poll() is not None:
                raise ServerError(f"server exited with {proc.returncode}:\n{self.log()}")
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_until(answering, timeout=timeout_s, interval=0.05, message="/healthz to answer")
        except AssertionError:
            self.kill()
            raise ServerError(f"server did not answer /healthz within {timeout_s}s:\n{self.log()}") from None

    def kill(self) -> None:
        """SIGKILL the process (a crash) and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM the process, wait for it to exit and return its exit code (SIGKILL after timeout)."""
        if self.proc is None:
            return 0
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                return proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
                raise
        return proc.returncode

    def restart(self) -> None:
        """SIGKILL and start again on the same data folder and port."""
        self.kill()
        self.start()


def raw_request(port: int, request: bytes) -> bytes:
    """Send ``request`` as written (e.g. an absolute-form target no client library sends) and return the reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data
