"""NodeKeeper on a real store: heartbeats, a silent node's leases released, the node id of a data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.store.helpers import make_flow, start, step
from tests.stores import OpenUrl
from tests.waiting import wait_until
from tidegate.errors import ConfigurationError
from tidegate.runtime.nodes import NODE_ID_FILE, NodeKeeper, NodeState, claim_node_id, node_state
from tidegate.store import JobWrite, Store


def test_a_node_id_is_made_once_kept_in_the_data_folder_and_locked(tmp_path: Path) -> None:
    first = claim_node_id(tmp_path)
    assert (tmp_path / NODE_ID_FILE).read_text().strip() == first.id
    with pytest.raises(ConfigurationError, match="another tidegate server runs with the data folder") as refused:
        claim_node_id(tmp_path)
    assert first.id in str(refused.value)
    first.close()
    again = claim_node_id(tmp_path)  # the same folder after the first process let it go: the same node
    assert again.id == first.id
    again.close()


def test_a_garbled_node_id_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / NODE_ID_FILE).write_text("not a node id!\n")
    with pytest.raises(ConfigurationError, match=r"does not hold a node id.*remove it"):
        claim_node_id(tmp_path)


def test_nodes_see_each_other_and_a_silent_one_is_released(store: Store, open_url: OpenUrl) -> None:
    other = open_url()
    alive = NodeKeeper(store, "alive", address="http://a", dead_after_ms=300)
    silent = NodeKeeper(other, "silent", address="http://s", dead_after_ms=300)
    alive.register()
    silent.register()
    make_flow(store)
    e = start(store, "e1")
    store.commit([step(e, jobs=[JobWrite(kind="fn", payload={}, available_ms=0)])])
    now = store.clock()
    assert len(other.claim_jobs("silent", ["fn"], 1, lease_ms=15_000, now_ms=now)) == 1
    alive.beat()
    assert alive.watch() == 0  # first sight of silent's heartbeat
    assert {n.id: node_state(n, store.clock()) for n in store.list_nodes()} == {
        "alive": NodeState.LIVE,
        "silent": NodeState.LIVE,
    }
    silent.beat()  # a beat restarts the count
    wait_until(lambda: alive.watch() == 1, timeout=10, interval=0.05, message="the silent node to be released")
    (job,) = store.claim_jobs("alive", ["fn"], 1, lease_ms=15_000, now_ms=store.clock())
    assert job.attempts == 2  # taken over long before silent's 15 s lease ended
    rows = {n.id: n for n in store.list_nodes()}
    assert rows["silent"].released_ms is not None and node_state(rows["silent"], store.clock()) == NodeState.DEAD
    silent.beat()  # it was only stalled: it is live again, and watched again
    assert store.list_nodes()[1].released_ms is None


def test_a_stopped_keeper_marks_its_node_stopped_and_housekeeping_removes_expired_nonces(store: Store) -> None:
    keeper = NodeKeeper(store, "k", address="http://k")
    keeper.start()
    wait_until(lambda: store.list_nodes()[0].last_seen_ms > store.list_nodes()[0].started_ms, timeout=10)
    keeper.stop()
    (row,) = store.list_nodes()
    assert row.stopped_ms is not None and node_state(row, store.clock()) == NodeState.STOPPED
    assert store.use_nonce("ak", "old", expires_ms=store.clock() - 1)
    keeper.housekeeping()
    assert store.remove_expired_nonces(store.clock(), 10) == 0
