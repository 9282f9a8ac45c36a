"""``FunctionHost``: the server's functions — registry, one shared runner, and how specs are resolved.

One :class:`~tidegate.functions.FunctionRunner` serves both the task steps of the runtime and the HTTP
triggers. Its workers start with tidegate's ``sitecustomize`` shim on ``PYTHONPATH`` and
``TIDEGATE_ENDPOINT`` set to this server, so the official SDKs inside a function (aliyunsdkcore's FnF
requests, the MNS SDKs, the Tea FnF client) reach this server although the function's code names no
endpoint. Each invocation gets the credentials of its service's role (:class:`ServiceCredentials`): a
fresh STS session of the role, or none when the service has no role, as in Function Compute.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from tidegate.deploy.errors import InvalidFunction
from tidegate.deploy.packages import Stager
from tidegate.deploy.registry import FunctionRecord, FunctionRegistry, ServiceRecord
from tidegate.errors import TidegateError
from tidegate.functions import Credentials, FunctionRunner, FunctionSpec, InvocationContext, Isolation
from tidegate.integrations.fc import CredentialSource, FunctionIntegration, directory_resolver, no_credentials
from tidegate.integrations.roles import TaskRoles
from tidegate.ram.service_roles import FC_SERVICE, RoleNotUsable, service_role
from tidegate.ram.sts import StsService
from tidegate.shim import SHIM_DIR
from tidegate.store import Store

__all__ = ["FUNCTION_CREDENTIALS_TTL_S", "FunctionHost", "ServiceCredentials"]

#: Lifetime (seconds) of a function's credentials, at most its role's longest session.
FUNCTION_CREDENTIALS_TTL_S = 3600


class ServiceCredentials:
    """A :data:`~tidegate.integrations.fc.CredentialSource`: sessions of each service's role (thread-safe).

    A service whose record names a role gets, per invocation, an STS session of that role assumed as
    ``fc.aliyuncs.com`` (the role's trust policy must name it), called after the request id and valid for
    :data:`FUNCTION_CREDENTIALS_TTL_S` (capped by the role's longest session). A service without a role
    gets empty credentials. Each service's role is read from the registry at most once a second.
    """

    ttl_s = 1.0

    def __init__(self, registry: FunctionRegistry, sts: StsService, session_s: int = FUNCTION_CREDENTIALS_TTL_S):
        self.registry = registry
        self.sts = sts
        self.session_s = session_s
        self._lock = threading.Lock()
        self._roles: dict[str, tuple[str, float]] = {}

    def forget(self, service: str) -> None:
        """Read ``service``'s role again next time."""
        with self._lock:
            self._roles.pop(service, None)

    def role_of(self, service: str) -> str:
        """The role ARN of ``service`` ("" for none)."""
        now = time.monotonic()
        cached = self._roles.get(service)
        if cached is not None and cached[1] > now:
            return cached[0]
        record = self.registry.get_service(service)
        role = record.role if record is not None else ""
        with self._lock:
            if len(self._roles) >= 10_000:
                self._roles.clear()
            self._roles[service] = (role, now + self.ttl_s)
        return role

    def __call__(self, service: str, request_id: str) -> Credentials:
        role = self.role_of(service)
        if not role:
            return Credentials()
        service_role(self.sts.authorizer, role, FC_SERVICE, what="role")
        try:
            assumed = self.sts.assume_role_as_service(role, request_id, self.session_s, service=FC_SERVICE)
        except TidegateError as exc:  # deleted or changed since the check above
            raise RoleNotUsable(exc.message) from None
        key = assumed.key
        return Credentials(key.id, key.secret, key.security_token or "")


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
        sts: Assumes the services' roles (:class:`ServiceCredentials`); None: functions get no credentials.
        functions_dir: Local functions (``DIR/SERVICE/FUNCTION.py``) tried after the registry.
        workers: The most function worker processes (default: the runner's).
        allow_direct_requirements: pip may fetch requirements named by URL or path (default: only by name,
            from the configured package index).
        isolation: How the workers are kept from the server (default: ``process``). The data folder is
            theirs to read only in ``DATA/functions`` (installed requirements and the functions' views).
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
        sts: StsService | None = None,
        functions_dir: Path | None = None,
        workers: int | None = None,
        allow_direct_requirements: bool = False,
        isolation: Isolation | None = None,
    ) -> None:
        self.registry = FunctionRegistry(store.database)
        self.endpoint = endpoint.rstrip("/")
        self.public_url = (public_url or endpoint).rstrip("/")
        self.region = region
        self.account_id = account_id
        self.sts = sts
        self.credentials: CredentialSource = (
            ServiceCredentials(self.registry, sts) if sts is not None else no_credentials
        )
        self._local = directory_resolver(Path(functions_dir)) if functions_dir is not None else None
        data = Path(data_dir).resolve()
        self.runner = FunctionRunner(
            workers=workers,
            sitecustomize_dir=SHIM_DIR,
            env={"TIDEGATE_ENDPOINT": self.endpoint},
            isolation=isolation,
            private=[data],
            readable=[data / "functions"],
        )
        self.stager = Stager(data / "functions", installed=self.runner.share, allow_direct=allow_direct_requirements)

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

    def integration(self, roles: TaskRoles | None = None) -> FunctionIntegration:
        """The task integration for ``acs:fc:::services/S[.Q]/functions/F`` on this host's runner.

        ``roles``: task steps act as their flow's execution role (``fc:InvokeFunction``).
        """
        return FunctionIntegration(
            self.runner,
            self.resolve,
            region=self.region,
            account_id=self.account_id,
            credentials=self.credentials,
            roles=roles,
        )

    def context(self, service: str, request_id: str, qualifier: str = "LATEST") -> InvocationContext:
        """An invocation context with the credentials of ``service``'s role.

        Raises:
            RoleNotUsable: the service's role cannot be assumed.
        """
        return InvocationContext(
            request_id=request_id,
            region=self.region,
            account_id=self.account_id,
            credentials=self.credentials(service, request_id),
            qualifier=qualifier,
        )

    def put_service(self, record: ServiceRecord) -> tuple[ServiceRecord, str]:
        """Store a service record; its role applies at once here (within a second on other servers).

        Raises:
            InvalidFunction: the role is not a role of this account that trusts ``fc.aliyuncs.com``, or
                this host assumes no roles.
        """
        if record.role:
            if self.sts is None:
                raise InvalidFunction("this function host assumes no roles: a service role cannot be set")
            try:
                service_role(self.sts.authorizer, record.role, FC_SERVICE, what="role")
            except RoleNotUsable as exc:
                raise InvalidFunction(exc.message) from None
        result = self.registry.put_service(record)
        self._forget(record.name)
        return result

    def delete_service(self, name: str) -> bool:
        """Delete a service record (its functions stay, without a role); return whether it existed."""
        deleted = self.registry.delete_service(name)
        self._forget(name)
        return deleted

    def _forget(self, service: str) -> None:
        if isinstance(self.credentials, ServiceCredentials):
            self.credentials.forget(service)

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
