"""What ``tidegate server`` does for functions and deploy files: build the host, deploy ``--deploy DIR``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from tidegate.auth.keys import KeyRing
from tidegate.deploy.apply import Deployer, Step
from tidegate.deploy.host import FUNCTION_CREDENTIALS_TTL_S, FunctionHost
from tidegate.deploy.spec import load_deploy_file
from tidegate.errors import TidegateError
from tidegate.functions import Isolation
from tidegate.ram.sts import StsService
from tidegate.store import Store
from tidegate.urls import local_url, public_url

__all__ = ["FUNCTION_CREDENTIALS_TTL_S", "build_function_host", "deploy_directory", "deploy_on_start"]

log = logging.getLogger("tidegate.deploy")


def build_function_host(
    store: Store,
    sts: StsService,
    data_dir: Path,
    *,
    host: str,
    port: int,
    region: str,
    account_id: str,
    env: Mapping[str, str],
    functions_dir: Path | None = None,
    allow_direct_requirements: bool = False,
    isolation: Isolation | None = None,
) -> FunctionHost:
    """The server's :class:`FunctionHost`: workers reach this server at ``http://HOST:PORT``.

    ``TIDEGATE_PUBLIC_URL`` (as for push certificates) is the base of announced trigger URLs. Functions
    get the credentials of their service's role, assumed through ``sts``. ``allow_direct_requirements``: pip
    may fetch requirements named by URL or path, not only by name.
    """
    url = local_url(host, port)
    return FunctionHost(
        store,
        data_dir,
        endpoint=url,
        public_url=public_url(env, host, port),
        region=region,
        account_id=account_id,
        sts=sts,
        functions_dir=functions_dir,
        allow_direct_requirements=allow_direct_requirements,
        isolation=isolation,
    )


def deploy_files(target: Path) -> list[Path]:
    """The deploy files of ``target``: the file itself, or ``DIR/deploy.yaml`` (if any) then ``DIR/*/deploy.yaml``."""
    if not target.is_dir():
        return [target]
    files = sorted(target.glob("*/deploy.yaml"))
    if (target / "deploy.yaml").is_file():
        files.insert(0, target / "deploy.yaml")
    return files


def deploy_directory(folder: Path, deployer: Deployer) -> list[Step]:  # a deploy file works too
    """Deploy every file of :func:`deploy_files` in order.

    Raises:
        DeployFileError: a file is not valid (files before it stay deployed).
        DeployError: the server refused a step.
    """
    steps: list[Step] = []
    for path in deploy_files(folder):
        steps.extend(deployer.deploy(load_deploy_file(path)))
    return steps


def deploy_on_start(
    folder: Path, endpoint: str, keyring: KeyRing, echo: Callable[[str], None], timeout_s: float = 60.0
) -> threading.Thread:
    """Deploy ``folder`` in a background thread once the server at ``endpoint`` answers ``/healthz``.

    It goes through the public APIs with the root key, exactly as ``tidegate deploy`` would.
    """

    def run() -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{endpoint}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)  # polling a condition (the port answering) within a deadline
        root = keyring.root

        def report(step: Step) -> None:
            echo(f"deploy {step}")

        try:
            with Deployer(endpoint, root.id, root.secret, report=report) as deployer:
                deploy_directory(folder, deployer)
            echo(f"deployed {folder}")
        except (TidegateError, httpx.HTTPError) as exc:
            log.error("deploying %s failed: %s", folder, exc)

    thread = threading.Thread(target=run, name="tidegate-deploy", daemon=True)
    thread.start()
    return thread
