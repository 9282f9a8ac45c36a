"""What the ASGI app needs from the server: the store, the keys and the identity of this endpoint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import anyio

from tidegate.auth.keys import KeyRing
from tidegate.auth.tasktoken import TaskTokenSigner
from tidegate.clock import now_ms
from tidegate.egress import EgressPolicy
from tidegate.names import DEFAULT_ACCOUNT_ID, DEFAULT_REGION
from tidegate.ram import Authorizer, RamService
from tidegate.runtime.service import WorkflowService
from tidegate.store import Store


@dataclass(slots=True, kw_only=True)
class AppContext:
    """The server's shared objects.

    Attributes:
        store: the open store.
        keyring: the root key and the keys derived from it (temporary credentials, task tokens).
        region: the region this server answers for (``HostId`` and ARNs).
        account_id: the account id (defaults to the root key's).
        clock: epoch milliseconds; tests may pin it.
        long_poll_slots: how many DescribeExecution long-polls may wait at once (each holds a thread).
        authorizer: who a key acts as and what it may do (every protocol asks it).
        ram: the RAM users, groups, policies and roles (the RAM API's service).
        egress: what a subscription's HTTP endpoint may name (``--egress-allow``, ``--egress-deny``).
        node_id: this server's node id among the servers sharing the store ("" outside a server).
    """

    store: Store
    keyring: KeyRing
    region: str = DEFAULT_REGION
    account_id: str = ""
    clock: Callable[[], int] = now_ms
    long_poll_slots: int = 200
    egress: EgressPolicy = field(default_factory=EgressPolicy)
    node_id: str = ""
    service: WorkflowService = field(init=False)
    authorizer: Authorizer = field(init=False)
    ram: RamService = field(init=False)
    _long_polls: anyio.CapacityLimiter | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.account_id:
            self.account_id = self.keyring.root.account_id or DEFAULT_ACCOUNT_ID
        self.authorizer = Authorizer(
            self.store, self.keyring, region=self.region, account_id=self.account_id, clock=self.clock
        )
        self.service = WorkflowService(self.store, self.signer, self.clock, authorizer=self.authorizer)
        self.keyring.user_keys = self.authorizer.user_key  # RAM users' AccessKeys resolve through the store
        self.ram = RamService(self.store, self.keyring, account_id=self.account_id, clock=self.clock)

    def long_poll_limiter(self) -> anyio.CapacityLimiter:
        """The thread pool of long-polls, shared by every protocol (call it on the event loop).

        Long-polls get their own pool so that 60-second waits never starve ordinary requests of worker
        threads; it is created lazily because a limiter belongs to the running event loop.
        """
        if self._long_polls is None:
            self._long_polls = anyio.CapacityLimiter(self.long_poll_slots)
        return self._long_polls

    @property
    def signer(self) -> TaskTokenSigner:
        """The task-token signer shared with the runtime."""
        return self.keyring.task_tokens

    @property
    def host_id(self) -> str:
        """The ``HostId`` of error bodies: the public endpoint name of the region."""
        return f"{self.region}.fnf.aliyuncs.com"
