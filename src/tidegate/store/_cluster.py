"""Store operations of the cluster: RPC signature nonces shared by every server, and the nodes table.

A node is a server process sharing the store. It registers at start (giving back the leases a killed
previous run of the same node id still holds), beats about once a second, and a node that stops beating
has its execution and job leases released by another node (:meth:`release_dead_node`), so its work moves
on without waiting for the leases to expire.
"""

from __future__ import annotations

from functools import cached_property

from tidegate.store._sqlbase import SqlBase
from tidegate.store.database import Tx, load_queries
from tidegate.store.notify import JOBS, WORK
from tidegate.store.records import NodeRecord, Released


class ClusterMixin(SqlBase):
    """Nonces and nodes."""

    @cached_property
    def _cluster_sql(self) -> dict[str, str]:
        return load_queries(self.db.dialect, "cluster")

    # --- nonces ------------------------------------------------------------------------------------

    def use_nonce(self, key_id: str, nonce: str, expires_ms: int) -> bool:
        """Record a signature nonce until ``expires_ms``; False when it is in use (see :meth:`Store.use_nonce`)."""
        params = {"key_id": key_id, "nonce": nonce, "expires_ms": expires_ms, "now": self.clock()}
        with self.db.write() as tx:
            return bool(tx.raw(self._cluster_sql["insert_nonce"], params))

    def remove_expired_nonces(self, now_ms: int, limit: int) -> int:
        """Remove up to ``limit`` expired nonces."""
        with self.db.write() as tx:
            return tx.raw_count(self._cluster_sql["delete_expired_nonces"], {"now": now_ms, "limit": limit})

    # --- nodes -------------------------------------------------------------------------------------

    def register_node(self, node: NodeRecord, now_ms: int) -> Released:
        """Record the node and give back the leases its id holds from a previous run."""
        q = self._cluster_sql
        params = {
            "id": node.id,
            "address": node.address,
            "version": node.version,
            "host": node.host,
            "pid": node.pid,
            "started_ms": node.started_ms,
            "now": now_ms,
        }
        with self.db.write() as tx:
            tx.raw_count(q["upsert_node"], params)
            return self._release_owner(tx, node.id, now_ms)

    def node_heartbeat(self, node_id: str, now_ms: int) -> bool:
        """Note the node alive (one UPDATE); False when its row is gone."""
        with self.db.write() as tx:
            return tx.raw_count(self._cluster_sql["node_heartbeat"], {"id": node_id, "now": now_ms}) > 0

    def node_stopped(self, node_id: str, now_ms: int) -> None:
        """Note the node stopped cleanly."""
        with self.db.write() as tx:
            tx.raw_count(self._cluster_sql["node_stopped"], {"id": node_id, "now": now_ms})

    def list_nodes(self) -> list[NodeRecord]:
        """Every node, oldest start first."""
        with self.db.read() as tx:
            rows = tx.raw(self._cluster_sql["list_nodes"])
        return [NodeRecord.from_row(r) for r in rows]

    def release_dead_node(self, node_id: str, last_seen_ms: int, now_ms: int) -> Released | None:
        """Release a dead node's leases unless it beat since ``last_seen_ms`` (or was released already)."""
        q = self._cluster_sql
        with self.db.write() as tx:
            marked = tx.raw_count(q["mark_node_released"], {"id": node_id, "last_seen_ms": last_seen_ms, "now": now_ms})
            if marked == 0:
                return None
            return self._release_owner(tx, node_id, now_ms)

    def remove_nodes(self, seen_before_ms: int) -> int:
        """Remove nodes last seen before ``seen_before_ms``."""
        with self.db.write() as tx:
            return tx.raw_count(self._cluster_sql["delete_old_nodes"], {"before": seen_before_ms})

    def _release_owner(self, tx: Tx, owner: str, now_ms: int) -> Released:
        q = self._cluster_sql
        executions = tx.raw_count(q["release_owner_executions"], {"owner": owner, "now": now_ms})
        jobs = tx.raw_count(q["release_owner_jobs"], {"owner": owner})
        if executions:
            tx.notify(WORK)
        if jobs:
            tx.notify(JOBS)
        return Released(executions=executions, jobs=jobs)
