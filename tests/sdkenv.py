"""Virtual environments holding the official SDKs that the wire-compatibility tests drive.

The official SDKs are test clients, not mocks (architecture.md), and two of them install the same
top-level package ``mns``; so each lives in its own virtual environment under ``<repo>/.venvs/<name>``.
An environment is built once (from PyPI only) and reused while its stamp file matches the pinned
requirement list; a file lock makes concurrent test processes wait for one builder instead of racing.

Use from a test module::

    from tests.sdkenv import mns115_env, run_in_env  # noqa: F401  (the fixture must be imported)

    def test_x(mns115_env: SdkEnv) -> None:
        proc = run_in_env("mns115", "import mns; print(mns.__file__)")
        assert proc.returncode == 0, proc.stderr
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENVS = REPO / ".venvs"

# Pinned requirement lists. The Tea client is pinned to the tea-openapi / darabonba versions the
# captures in tests/data/captures were recorded with (tests/data/captures/README.md): newer tea-openapi
# moved ``Config`` to ``utils_models`` and we want the exact client the captures describe.
ENVS: dict[str, tuple[str, ...]] = {
    "mns115": ("aliyun-mns==1.1.5",),
    "mns130": ("aliyun-mns-sdk==1.3.0",),
    "fnfcore": ("aliyun-python-sdk-core==2.16.1", "aliyun-python-sdk-fnf==1.8.3"),
    # The first source document's worker installs all three into one environment.
    "worker": ("aliyun-mns==1.1.5", "aliyun-python-sdk-core==2.16.1", "aliyun-python-sdk-fnf==1.8.3"),
    "fnftea": (
        "alibabacloud-fnf20190315==2.0.1",
        "alibabacloud-tea-openapi==0.4.6",
        "darabonba-core==1.0.9",
    ),
    # Access control: RAM and STS, the core-based and the Tea-based SDKs.
    "ramcore": ("aliyun-python-sdk-core==2.16.1", "aliyun-python-sdk-ram==3.3.1", "aliyun-python-sdk-sts==3.1.3"),
    "ramtea": (
        "alibabacloud-ram20150501==1.3.0",
        "alibabacloud-sts20150401==1.2.0",
        "alibabacloud-tea-openapi==0.4.6",
        "darabonba-core==1.0.9",
    ),
}

# Generous: a cold build downloads and compiles wheels (pycryptodome etc.).
BUILD_TIMEOUT_S = 900.0


@dataclass(frozen=True, slots=True)
class SdkEnv:
    """A ready virtual environment."""

    name: str
    path: Path

    @property
    def python(self) -> Path:
        """The environment's interpreter."""
        return self.path / "bin" / "python"


class SdkEnvError(RuntimeError):
    """The SDK environment could not be built."""


def env_path(name: str) -> Path:
    """Return where the environment ``name`` lives (it may not exist yet)."""
    if name not in ENVS:
        raise KeyError(f"unknown SDK environment {name!r}; known: {sorted(ENVS)}")
    return VENVS / name


def _stamp_text(name: str) -> str:
    return "\n".join((f"python={sys.version_info.major}.{sys.version_info.minor}", *ENVS[name])) + "\n"


def _is_ready(path: Path, stamp: str) -> bool:
    stamp_file = path / ".stamp"
    return stamp_file.is_file() and stamp_file.read_text() == stamp and (path / "bin" / "python").exists()


def _build(name: str, path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    # The base interpreter, not .venv's: a venv made from a venv still works, but the base one
    # keeps the SDK environments independent of the project's own environment.
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(path)], check=True, timeout=BUILD_TIMEOUT_S)
    py = str(path / "bin" / "python")
    cmd = [py, "-m", "pip", "install", "-q", "--disable-pip-version-check", *ENVS[name]]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    if proc.returncode != 0:
        raise SdkEnvError(f"pip install for {name} failed:\n{proc.stdout}\n{proc.stderr}")


def ensure_env(name: str) -> SdkEnv:
    """Build the environment ``name`` unless a matching one is cached, and return it.

    Args:
        name: one of :data:`ENVS`.

    Returns:
        The ready environment.

    Raises:
        SdkEnvError: pip could not install the pinned SDKs.
    """
    path = env_path(name)
    stamp = _stamp_text(name)
    if _is_ready(path, stamp):
        return SdkEnv(name, path)
    VENVS.mkdir(parents=True, exist_ok=True)
    with open(VENVS / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            # Another process may have finished the build while we waited for the lock.
            if not _is_ready(path, stamp):
                _build(name, path)
                # The stamp is written last: a build killed half-way is rebuilt next time.
                (path / ".stamp").write_text(stamp)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return SdkEnv(name, path)


def run_in_env(
    name: str,
    script: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a Python ``script`` (source text) with the interpreter of SDK environment ``name``.

    Args:
        name: one of :data:`ENVS`; built first when missing.
        script: Python source, run with ``python -c``.
        env: extra environment variables, added to a minimal copy of ours (PATH, HOME, LANG).
        timeout: seconds before the process is killed (``subprocess.TimeoutExpired``).
        cwd: working directory.

    Returns:
        The completed process, text mode, stdout and stderr captured.
    """
    sdk = ensure_env(name)
    # A minimal environment: the project's venv and PYTHONPATH must not leak into the SDK's.
    base_env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    base_env["PYTHONDONTWRITEBYTECODE"] = "1"
    base_env["PYTHONIOENCODING"] = "utf-8"
    if env:
        base_env.update(env)
    return subprocess.run(
        [str(sdk.python), "-c", script],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=base_env,
        cwd=str(cwd) if cwd else None,
    )


# --- pytest session fixtures --------------------------------------------------------------------


def _fixture(name: str) -> Iterator[SdkEnv]:
    yield ensure_env(name)


@pytest.fixture(scope="session")
def mns115_env() -> Iterator[SdkEnv]:
    """The ``aliyun-mns==1.1.5`` environment."""
    yield from _fixture("mns115")


@pytest.fixture(scope="session")
def mns130_env() -> Iterator[SdkEnv]:
    """The ``aliyun-mns-sdk==1.3.0`` environment."""
    yield from _fixture("mns130")


@pytest.fixture(scope="session")
def fnfcore_env() -> Iterator[SdkEnv]:
    """The ``aliyun-python-sdk-core`` + ``aliyun-python-sdk-fnf`` environment."""
    yield from _fixture("fnfcore")


@pytest.fixture(scope="session")
def fnftea_env() -> Iterator[SdkEnv]:
    """The ``alibabacloud-fnf20190315`` (Tea) environment."""
    yield from _fixture("fnftea")


@pytest.fixture(scope="session")
def worker_env() -> Iterator[SdkEnv]:
    """``aliyun-mns`` 1.1.5 + ``aliyun-python-sdk-core`` + ``aliyun-python-sdk-fnf`` in one environment."""
    yield from _fixture("worker")


if __name__ == "__main__":
    # `python -m tests.sdkenv [NAME...]` pre-builds the environments (all by default).
    for _name in sys.argv[1:] or list(ENVS):
        print(_name, ensure_env(_name).path)


@pytest.fixture(scope="session")
def ramcore_env() -> Iterator[SdkEnv]:
    """The ``aliyun-python-sdk-ram`` + ``aliyun-python-sdk-sts`` (core-based) environment."""
    yield from _fixture("ramcore")


@pytest.fixture(scope="session")
def ramtea_env() -> Iterator[SdkEnv]:
    """The ``alibabacloud-ram20150501`` + ``alibabacloud-sts20150401`` (Tea) environment."""
    yield from _fixture("ramtea")
