"""The built wheel in a fresh virtual environment, and the container commands run with it (no container).

One wheel is built (``pip wheel``) and installed with the ``[postgres]`` extra into a new venv, as the
Dockerfile does. Then the image's ENTRYPOINT + CMD and the compose nodes' commands run outside a container
with that venv's ``tidegate``, only the port and the folders changed: the image's HEALTHCHECK command must
fail before the server is up and pass once it is, and the two compose nodes, given the environment compose
would give them, must serve one store with one key, region and account.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO
from tests.packaging import specs
from tests.server import free_port
from tests.stores import PG_URL, drop_schema, require_pg
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

IMAGE_PORT = "8787"
PASS_FLOW = "version: v1\ntype: flow\nsteps:\n  - type: pass\n    name: p\n"


@dataclass(frozen=True)
class Installed:
    """A fresh venv holding the wheel with the [postgres] extra."""

    wheel: Path
    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "tidegate"), *args], capture_output=True, text=True, timeout=120, env=_env(self)
        )


def _env(installed: Installed, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a process of the image: its venv first on PATH, no TIDEGATE_* from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDEGATE_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{installed.bin}:{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(dist), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("tidegate-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--constraint",
            str(REPO / "requirements.lock"),
            f"{wheel}[postgres]",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    return Installed(wheel, venv)


class Node:
    """A server process started from an argument list, with its output in a file."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        self.log_path = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, env=dict(env))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise
        return self.proc.returncode


def _replace(args: Sequence[str], values: Mapping[str, str]) -> list[str]:
    return [values.get(a, a) for a in args]


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_healthy(node: Node, url: str) -> None:
    def up() -> bool | None:
        assert node.proc.poll() is None, f"the server exited with {node.proc.returncode}:\n{node.log()}"
        return True if _healthy(url) else None

    wait_until(up, timeout=60, message="the image command serving /healthz")


def _basic(key_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key_id}:{secret}".encode()).decode()}


def test_the_wheel_gives_a_working_command_with_the_postgres_extra(installed: Installed) -> None:
    version = installed.wheel.name.split("-")[1]
    result = installed.run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"tidegate, version {version}", result
    helped = installed.run("server", "--help")
    assert helped.returncode == 0, helped.stderr
    for option in ("--host", "--port", "--data", "--store", "--deploy"):
        assert option in helped.stdout
    probe = subprocess.run(
        [str(installed.bin / "python"), "-c", "import psycopg, tidegate; print(tidegate.__file__)"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(installed),
        cwd=installed.venv,
    )
    assert probe.returncode == 0, probe.stderr
    assert Path(probe.stdout.strip()).is_relative_to(installed.venv)  # the wheel's copy, not the checkout


def test_the_image_command_serves_and_passes_its_healthcheck(installed: Installed, tmp_path: Path) -> None:
    final = specs.final_stage(specs.dockerfile())
    port = str(free_port())
    data = tmp_path / "data"
    command = specs.one(final, "ENTRYPOINT").exec_form() + specs.one(final, "CMD").exec_form()
    argv = _replace(command, {"tidegate": str(installed.bin / "tidegate"), IMAGE_PORT: port, "/data": str(data)})
    check = specs.healthcheck_command(specs.one(final, "HEALTHCHECK"))
    check = [c.replace(f":{IMAGE_PORT}/", f":{port}/") for c in check]

    def healthcheck() -> int:
        return subprocess.run(check, env=_env(installed), capture_output=True, timeout=30).returncode

    assert healthcheck() != 0  # nothing listens yet: the check must be able to fail
    node = Node(argv, _env(installed), tmp_path / "server.log")
    try:
        wait_until(lambda: node.proc.poll() is None and healthcheck() == 0, timeout=60, message="the node healthy")
        url = f"http://127.0.0.1:{port}"
        console = httpx.get(f"{url}/console/", timeout=10)  # the console's files are in the wheel
        assert console.status_code == 200 and "<html" in console.text.lower()
    finally:
        assert node.stop() == 0, node.log()
    assert healthcheck() != 0
    assert "created the root AccessKey" in node.log()
    assert (data / "root-key.json").stat().st_mode & 0o777 == 0o600
    assert (data / "tidegate.db").is_file()


@pytest.fixture
def pg_schema() -> Iterator[str]:
    require_pg()
    schema = f"tg_pack_{uuid.uuid4().hex[:10]}"
    try:
        yield schema
    finally:
        drop_schema(schema)


@pytest.mark.postgres
def test_the_compose_nodes_share_one_store_and_identity(installed: Installed, tmp_path: Path, pg_schema: str) -> None:
    given = {
        "TIDEGATE_ACCESS_KEY_ID": "LTAIpackagingTest0001",
        "TIDEGATE_ACCESS_KEY_SECRET": "packagingTestSecret0000000001",
        "TIDEGATE_REGION": "cn-shanghai",
        "TIDEGATE_ACCOUNT_ID": "1111222233334444",
        "POSTGRES_PASSWORD": "not-used-by-the-test-database",
    }
    services = specs.tidegate_services(specs.compose())
    nodes: list[Node] = []
    urls: list[str] = []
    try:
        for name, service in sorted(services.items()):
            port = str(free_port())
            store = service["command"][service["command"].index("--store") + 1]
            values = {IMAGE_PORT: port, "/data": str(tmp_path / name), store: f"{PG_URL}?schema={pg_schema}"}
            argv = [str(installed.bin / "tidegate"), *_replace(service["command"], values)]
            env = {k: specs.interpolate(v, given) for k, v in service["environment"].items()}
            node = Node(argv, _env(installed, env), tmp_path / f"{name}.log")
            nodes.append(node)
            urls.append(f"http://127.0.0.1:{port}")
            _wait_healthy(node, urls[-1])
        auth = _basic(given["TIDEGATE_ACCESS_KEY_ID"], given["TIDEGATE_ACCESS_KEY_SECRET"])
        for url in urls:
            identity = httpx.get(f"{url}/api/v1/identity", headers=auth, timeout=10)
            assert identity.status_code == 200, identity.text
            assert identity.json()["region"] == "cn-shanghai"
            assert identity.json()["account_id"] == "1111222233334444"
        # A flow created on one node runs when started on the other, and is read back on the first.
        first, second = urls
        created = httpx.post(f"{first}/api/v1/flows", json={"name": "p", "definition": PASS_FLOW}, headers=auth)
        assert created.status_code == 201, created.text
        started = httpx.post(f"{second}/api/v1/flows/p/executions", json={"name": "e1"}, headers=auth)
        assert started.status_code == 201, started.text
        ended = httpx.get(f"{first}/api/v1/flows/p/executions/e1", params={"wait": 30}, headers=auth, timeout=40)
        assert ended.status_code == 200 and ended.json()["status"] == "Succeeded", ended.text
        # No node made a key of its own: the shared one came from the environment.
        for node in nodes:
            assert "created the root AccessKey" not in node.log()
    finally:
        codes = [node.stop() for node in nodes]
    assert codes == [0] * len(nodes), [node.log() for node in nodes]


@pytest.mark.postgres
def test_a_node_with_another_root_key_is_refused_at_start(installed: Installed, tmp_path: Path, pg_schema: str) -> None:
    """A node whose root key is not the one the store's nodes share refuses to start (exit 2, one line).

    docs/deployment.md states this ("A node with a different key"); the two change together.
    """
    store = f"{PG_URL}?schema={pg_schema}"
    shared = {
        "TIDEGATE_ACCESS_KEY_ID": "LTAIpackagingTest0002",
        "TIDEGATE_ACCESS_KEY_SECRET": "packagingTestSecret0000000002",
    }
    other = {"TIDEGATE_ACCESS_KEY_ID": "LTAIpackagingTest0003", "TIDEGATE_ACCESS_KEY_SECRET": "anotherSecret03"}
    port = str(free_port())
    argv = [str(installed.bin / "tidegate"), "server", "--port", port, "--store", store]
    keyed = Node([*argv, "--data", str(tmp_path / "keyed")], _env(installed, shared), tmp_path / "keyed.log")
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(keyed, url)
        auth = _basic(shared["TIDEGATE_ACCESS_KEY_ID"], shared["TIDEGATE_ACCESS_KEY_SECRET"])
        assert httpx.get(f"{url}/api/v1/flows", headers=auth).status_code == 200
        no_key: dict[str, str] = {}
        cases = (
            ("own-key", no_key, "this server has no root key yet"),
            ("other-key", other, f"this server has root key {other['TIDEGATE_ACCESS_KEY_ID']}"),
        )
        for name, env, says in cases:
            cmd = [*argv[:3], str(free_port()), *argv[4:], "--data", str(tmp_path / name)]
            refused = subprocess.run(cmd, env=_env(installed, env), capture_output=True, text=True, timeout=120)
            assert refused.returncode == 2, (name, refused)
            lines = refused.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("Error: this store belongs to"), (name, refused.stderr)
            assert shared["TIDEGATE_ACCESS_KEY_ID"] in lines[0] and says in lines[0], lines[0]
            assert not (tmp_path / name).exists()  # refused before its data folder (and a key) was created
    finally:
        keyed.stop()
