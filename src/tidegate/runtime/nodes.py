"""The servers sharing a store (nodes): a node id kept in the data folder, heartbeats, and dead nodes' leases.

Each ``tidegate server`` is a node. Its id (:func:`claim_node_id`) is created once in its data folder
(``DATA/node-id``) and is its lease-owner id, so a node restarted on the same data folder knows its own
leases: on registering (:meth:`NodeKeeper.start`) it gives back what a killed previous run still held, and
that work runs again at once instead of after the leases expire. While the process runs it holds a lock on
the file, so two servers never run with one data folder (one node id).

The keeper's thread beats (one UPDATE of the node's row about every :data:`HEARTBEAT_MS`) and watches the
other nodes' rows. A node whose heartbeat has not changed for :data:`DEAD_AFTER_MS` of *this* node's time
is dead: its execution and job leases are released at once (one transaction, whichever node sees it first;
a node that beats meanwhile is left alone), so other nodes take its work over within a few seconds rather
than when its leases (up to 15 s) expire. Watching for a change rather than comparing clocks keeps the
rule right when the nodes' clocks differ.

The same thread does the cluster's housekeeping: expired RPC nonces are removed in bounded batches, and the
rows of nodes gone for :data:`NODE_RETENTION_MS` are deleted.
"""

from __future__ import annotations

import enum
import errno
import fcntl
import logging
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tidegate import __version__
from tidegate.errors import ConfigurationError
from tidegate.store import NodeRecord, Store

__all__ = [
    "DEAD_AFTER_MS",
    "HEARTBEAT_MS",
    "NODE_ID_FILE",
    "NODE_RETENTION_MS",
    "NodeId",
    "NodeKeeper",
    "NodeState",
    "claim_node_id",
    "node_state",
]

log = logging.getLogger("tidegate.nodes")

#: The file in a data folder that holds the node's id.
NODE_ID_FILE = "node-id"
#: How often a node writes its heartbeat.
HEARTBEAT_MS = 1_000
#: How long another node's heartbeat may stay unchanged before the node counts as dead.
DEAD_AFTER_MS = 3_000
#: How often the keeper looks at the other nodes (a dead node is noticed within this of DEAD_AFTER_MS).
WATCH_MS = 250
#: How long the row of a node that stopped or died stays (shown as such) before it is removed.
NODE_RETENTION_MS = 3_600_000
#: How often expired nonces and old node rows are removed, and how many nonces one statement removes.
HOUSEKEEPING_MS = 30_000
NONCE_BATCH = 1_000
_MAX_NONCE_BATCHES = 20  # per round: bounded work; the rest goes next round

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class NodeState(enum.StrEnum):
    """A node as a reader sees it: ``live`` (beating), ``dead`` (no heartbeat, or released) or ``stopped``."""

    LIVE = "live"
    DEAD = "dead"
    STOPPED = "stopped"


def node_state(node: NodeRecord, now_ms: int) -> NodeState:
    """What ``node`` is at ``now_ms`` by the reader's clock."""
    if node.stopped_ms is not None:
        return NodeState.STOPPED
    if node.released_ms is not None or now_ms - node.last_seen_ms > DEAD_AFTER_MS:
        return NodeState.DEAD
    return NodeState.LIVE


@dataclass
class NodeId:
    """A node id claimed from a data folder; the folder stays locked to this process until :meth:`close`."""

    id: str
    path: Path
    _lock: IO[str] | None

    def close(self) -> None:
        """Let another process use the data folder."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def _new_id() -> str:
    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())[:40].strip(".-") or "node"
    return f"{host}-{secrets.token_hex(4)}"


def claim_node_id(data_dir: Path) -> NodeId:
    """Read (or create) the node id of ``data_dir`` and lock the folder to this process.

    Raises:
        ConfigurationError: another running server uses the data folder, or the file is not a node id.
    """
    path = data_dir / NODE_ID_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    handle = os.fdopen(fd, "r+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            text = handle.read(200).strip()
            raise ConfigurationError(
                f"another tidegate server runs with the data folder {data_dir} (node {text or '?'}): every "
                "server needs a data folder of its own (--data)"
            ) from None
        text = handle.read(200).strip()
        if not text:
            text = _new_id()
            handle.seek(0)
            handle.truncate()
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        elif not _ID_RE.match(text):
            raise ConfigurationError(
                f"{path} does not hold a node id ({text[:40]!r}): remove it and a new id is made on start"
            )
    except BaseException:
        handle.close()
        raise
    return NodeId(text, path, handle)


class NodeKeeper:
    """Registers this node, beats, releases dead nodes' leases and keeps the cluster tables tidy.

    Args:
        store: the shared store.
        node: this node's id (its runtime's lease owner), or the :class:`NodeId` claimed from its data folder
            (released by :meth:`stop`).
        address: the URL this node answers on (shown to operators).
        clock: epoch ms (default: the store's clock).
        heartbeat_ms / dead_after_ms: see :data:`HEARTBEAT_MS` and :data:`DEAD_AFTER_MS`.
    """

    def __init__(
        self,
        store: Store,
        node: NodeId | str,
        *,
        address: str,
        clock: Callable[[], int] | None = None,
        heartbeat_ms: int = HEARTBEAT_MS,
        dead_after_ms: int = DEAD_AFTER_MS,
    ) -> None:
        self.store = store
        self.node = node if isinstance(node, NodeId) else None
        self.node_id = node.id if isinstance(node, NodeId) else node
        self.address = address
        self.clock = clock or store.clock
        self.heartbeat_ms = heartbeat_ms
        self.dead_after_ms = dead_after_ms
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tidegate-nodes", daemon=True)
        # Other nodes' heartbeats as last seen: id -> (last_seen_ms, monotonic time it was first seen).
        self._seen: dict[str, tuple[int, float]] = {}

    def record(self, now_ms: int) -> NodeRecord:
        """This node's row as registered at ``now_ms``."""
        return NodeRecord(
            id=self.node_id,
            address=self.address,
            version=__version__,
            host=socket.gethostname()[:255],
            pid=os.getpid(),
            started_ms=now_ms,
            last_seen_ms=now_ms,
        )

    def register(self) -> None:
        """Record this node; give back the leases a previous run of it still holds (it was killed)."""
        now = self.clock()
        released = self.store.register_node(self.record(now), now)
        if released.executions or released.jobs:
            log.warning(
                "node %s: a previous run of this node held %d execution lease(s) and %d job lease(s); "
                "released, their work runs again now",
                *(self.node_id, released.executions, released.jobs),
            )

    def start(self) -> None:
        """Register (before the runtime claims anything), then beat and watch in a thread."""
        self.register()
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, note in the store that this node stopped cleanly, and let the data folder go."""
        if self._thread.is_alive():
            self._stopping.set()
            self._thread.join(timeout=10)
            try:
                self.store.node_stopped(self.node_id, self.clock())
            except Exception as exc:
                log.warning("node %s: could not record the stop (%s)", self.node_id, exc)
        if self.node is not None:
            self.node.close()

    def _loop(self) -> None:
        next_beat = 0.0
        next_housekeeping = time.monotonic() + HOUSEKEEPING_MS / 1000
        failures = 0
        while not self._stopping.wait(WATCH_MS / 1000):
            try:
                mono = time.monotonic()
                if mono >= next_beat:
                    next_beat = mono + self.heartbeat_ms / 1000
                    self.beat()
                self.watch()
                if mono >= next_housekeeping:
                    next_housekeeping = mono + HOUSEKEEPING_MS / 1000
                    self.housekeeping()
                failures = 0
            except Exception as exc:  # the store may be briefly unreachable: one line per failure, no spin
                failures += 1
                log.warning("node %s: heartbeat round failed (%s)", self.node_id, exc, exc_info=failures == 1)
                self._stopping.wait(min(5.0, 0.5 * failures))

    def beat(self) -> None:
        """Write the heartbeat (register again if the row was removed meanwhile)."""
        if not self.store.node_heartbeat(self.node_id, self.clock()):
            log.warning("node %s: its row was gone (removed as dead); registering again", self.node_id)
            self.register()

    def watch(self) -> int:
        """Release the leases of every node whose heartbeat stayed unchanged too long; return how many nodes."""
        mono = time.monotonic()
        released = 0
        present = set()
        for node in self.store.list_nodes():
            present.add(node.id)
            if node.id == self.node_id:
                continue
            if node.stopped_ms is not None or node.released_ms is not None:
                self._seen.pop(node.id, None)
                continue
            seen = self._seen.get(node.id)
            if seen is None or seen[0] != node.last_seen_ms:
                self._seen[node.id] = (node.last_seen_ms, mono)
                continue
            silent_ms = (mono - seen[1]) * 1000
            if silent_ms < self.dead_after_ms:
                continue
            result = self.store.release_dead_node(node.id, node.last_seen_ms, self.clock())
            self._seen.pop(node.id, None)
            if result is not None:
                released += 1
                log.warning(
                    "node %s (%s) sent no heartbeat for %.1f s: released its %d execution lease(s) and %d job lease(s)",
                    *(node.id, node.address, silent_ms / 1000, result.executions, result.jobs),
                )
        for gone in set(self._seen) - present:
            del self._seen[gone]
        return released

    def housekeeping(self) -> None:
        """Remove expired nonces (bounded batches) and the rows of nodes gone for the retention time."""
        now = self.clock()
        for _ in range(_MAX_NONCE_BATCHES):
            if self.store.remove_expired_nonces(now, NONCE_BATCH) < NONCE_BATCH:
                break
        self.store.remove_nodes(now - NODE_RETENTION_MS)
