"""``FunctionHost``: the server's functions — registry, one shared runner, and how specs are resolved.

One :class:`~tidegate.functions.FunctionRunner` serves both the task steps of the runtime and the HTTP
triggers. Its workers start with tidegate's ``sitecustomize`` shim on ``PYTHONPATH`` and
``TIDEGATE_ENDPOINT`` set to this server, so the official SDKs inside a function (aliyunsdkcore's FnF
requests, the MNS SDKs, the Tea FnF client) reach this server although the function's code names no
endpoint. Each invocation gets fresh temporary credentials from ``credentials()``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from tidegate.deploy.packages import Stager
from tidegate.deploy.registry import FunctionRecord, FunctionRegistry
from tidegate.errors import TidegateError
from tidegate.functions import Credentials, FunctionRunner, FunctionSpec, InvocationContext
from tidegate.integrations.fc import FunctionIntegration, directory_resolver
from tidegate.shim import SHIM_DIR
from tidegate.store import Store

__all__ = ["FunctionHost"]

log = logging.getLogger("tidegate.functions")


class FunctionHost:
    """Deployed functions of one server process.

    Args:
        store: The server's store (the registry lives in it).
        data_dir: The server's data folder; requirements go to ``DATA/functions``.
        endpoint: This server's URL as functions reach it (``TIDEGATE_ENDPOINT`` of the workers).
        public_url: The base URL HTTP triggers are announced with (push subscriptions use it).
        region: The region functions see in ``context.region``.
        account_id: The account id of ``context.account_id``.
        credentials: Issues the temporary keys of one invocation.
        functions_dir: Local functions (``DIR/SERVICE/FUNCTION.py``) tried after the registry.
        workers: The most function worker processes (default: the runner's).
        allow_direct_requirements: pip may fetch requirements named by URL or path (default: only by name,
            from the configured package index).
    """

    def __init__(
        self,
        store: Store,
        data_dir: Path,
        *,
        endpoint: str,
        public_url: str | None = None,
        region: str,
        account_id: str,
        credentials: Callable[[], Credentials] = Credentials,
        functions_dir: Path | None = None,
        workers: int | None = None,
        allow_direct_requirements: bool = False,
    ) -> None:
        self.registry = FunctionRegistry(store.database)
        self.stager = Stager(Path(data_dir).resolve() / "functions", allow_direct=allow_direct_requirements)
        self.endpoint = endpoint.rstrip("/")
        self.public_url = (public_url or endpoint).rstrip("/")
        self.region = region
        self.account_id = account_id
        self.credentials = credentials
        self._local = directory_resolver(Path(functions_dir)) if functions_dir is not None else None
        self.runner = FunctionRunner(
            workers=workers, sitecustomize_dir=SHIM_DIR, env={"TIDEGATE_ENDPOINT": self.endpoint}
        )

    def close(self) -> None:
        """Stop the function workers."""
        self.runner.close()

    # --- resolution --------------------------------------------------------------------------------

    def spec_of(self, record: FunctionRecord) -> FunctionSpec:
        """The runner spec of a deployed function (its requirements' view built if needed).

        Raises:
            RequirementsFailed: the requirements could not be installed.
        """
        if not record.requirements:
            return record.spec()
        view = self.stager.cached_view(record.service, record.name, Path(record.code_dir), record.requirements)
        return record.spec(view)

    def resolve(self, service: str, qualifier: str, function: str) -> FunctionSpec | None:
        """A :data:`~tidegate.integrations.fc.SpecResolver`: the registry first, then ``--functions DIR``."""
        record = self.registry.get(service, function)
        if record is not None:
            try:
                return self.spec_of(record)
            except TidegateError:
                # The task then fails with FC.FunctionNotFound; the reason belongs in the server log.
                log.exception("function %s/%s cannot be prepared", service, function)
                return None
        return self._local(service, qualifier, function) if self._local is not None else None

    def integration(self) -> FunctionIntegration:
        """The task integration for ``acs:fc:::services/S[.Q]/functions/F`` on this host's runner."""
        return FunctionIntegration(
            self.runner, self.resolve, region=self.region, account_id=self.account_id, credentials=self.credentials
        )

    def context(self, qualifier: str = "LATEST", request_id: str | None = None) -> InvocationContext:
        """A fresh invocation context with new temporary credentials."""
        ctx = InvocationContext(
            region=self.region, account_id=self.account_id, credentials=self.credentials(), qualifier=qualifier
        )
        return ctx if request_id is None else replace(ctx, request_id=request_id)

    # --- deployment ----------------------------------------------------------------------------------

    def deploy(self, record: FunctionRecord) -> tuple[FunctionRecord, str]:
        """Validate, install requirements, and store a function.

        Returns:
            The stored record and ``created``, ``updated`` or ``unchanged``.

        Raises:
            InvalidFunction: the definition is not valid.
            RequirementsFailed: pip failed (nothing is stored then).
        """
        record = record.validate()
        if record.requirements:
            # Installed before the record is stored: a function is never visible without its packages.
            self.stager.view(record.service, record.name, Path(record.code_dir), record.requirements)
        return self.registry.put(record)
