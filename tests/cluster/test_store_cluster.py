"""The store's cluster operations on both backends: signature nonces, node rows, releasing a node's leases."""

from __future__ import annotations

import threading

from tests.store.helpers import make_flow, start, step
from tests.stores import OpenUrl
from tidegate.store import JobWrite, NodeRecord, Released, Store


def _node(node_id: str, started_ms: int = 1000) -> NodeRecord:
    return NodeRecord(id=node_id, address=f"http://{node_id}:8787", version="1", host="h", pid=1, started_ms=started_ms)


def test_a_nonce_is_used_once_until_it_expires(store: Store) -> None:
    assert store.use_nonce("ak", "n1", expires_ms=store.clock() + 60_000)
    assert not store.use_nonce("ak", "n1", expires_ms=store.clock() + 60_000)  # a replay
    assert store.use_nonce("other", "n1", expires_ms=store.clock() + 60_000)  # nonces are per key
    assert store.use_nonce("ak", "old", expires_ms=store.clock() - 1)  # expired at once …
    assert store.use_nonce("ak", "old", expires_ms=store.clock() + 60_000)  # … so it may be used again
    assert not store.use_nonce("ak", "old", expires_ms=store.clock() + 60_000)


def test_one_of_many_concurrent_uses_of_a_nonce_wins(store: Store, open_url: OpenUrl) -> None:
    stores = [store, open_url()]
    results: list[bool] = []
    lock = threading.Lock()

    def use(i: int) -> None:
        ok = stores[i % 2].use_nonce("ak", "race", expires_ms=store.clock() + 60_000)
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=use, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == [False] * 7 + [True]


def test_expired_nonces_are_removed_in_bounded_batches(store: Store) -> None:
    now = store.clock()
    for i in range(7):
        assert store.use_nonce("ak", f"gone{i}", expires_ms=now - 10)
    assert store.use_nonce("ak", "live", expires_ms=now + 60_000)
    assert store.remove_expired_nonces(now, limit=5) == 5
    assert store.remove_expired_nonces(now, limit=5) == 2
    assert store.remove_expired_nonces(now, limit=5) == 0
    assert not store.use_nonce("ak", "live", expires_ms=now + 60_000)  # the live one stays


def test_nodes_register_beat_stop_and_go(store: Store) -> None:
    assert store.register_node(_node("a", 1000), now_ms=1000) == Released()
    assert store.register_node(_node("b", 1500), now_ms=1500) == Released()
    assert store.node_heartbeat("a", 2000) and not store.node_heartbeat("nobody", 2000)
    store.node_stopped("b", 2100)
    a, b = store.list_nodes()
    assert (a.id, a.last_seen_ms, a.stopped_ms, a.address) == ("a", 2000, None, "http://a:8787")
    assert (b.id, b.last_seen_ms, b.stopped_ms) == ("b", 2100, 2100)
    assert store.remove_nodes(seen_before_ms=2050) == 1  # a, last seen at 2000
    assert [n.id for n in store.list_nodes()] == ["b"]
    store.register_node(_node("b", 3000), now_ms=3000)  # b starts again: its row is current again
    (b,) = store.list_nodes()
    assert (b.started_ms, b.last_seen_ms, b.stopped_ms, b.released_ms) == (3000, 3000, None, None)


def _leased_work(store: Store, owner: str, now: int) -> tuple[int, int]:
    """Two executions (leased by ``owner`` through claim_work) and three jobs, two leased by ``owner``."""
    make_flow(store)
    e = start(store, "e1")
    other = start(store, "e2")
    store.commit([step(e, jobs=[JobWrite(kind="fn", payload={"n": i}, available_ms=0) for i in range(3)])])
    assert len(store.claim_jobs(owner, ["fn"], 2, lease_ms=15_000, now_ms=now)) == 2
    assert len(store.claim_jobs("someone-else", ["fn"], 1, lease_ms=15_000, now_ms=now)) == 1
    works = store.claim_work(owner, 10, lease_ms=5_000, now_ms=now)
    assert [w.execution.id for w in works] == [e.id, other.id]  # their Start events are due
    return e.id, other.id


def test_a_restarted_node_gets_back_the_leases_its_previous_run_held(store: Store) -> None:
    now = store.clock()
    store.register_node(_node("n1"), now_ms=now)
    _leased_work(store, "n1", now)
    assert store.claim_jobs("n2", ["fn"], 10, 15_000, now_ms=now + 1) == []  # all leased
    released = store.register_node(_node("n1", now + 10), now_ms=now + 10)  # the same node, started again
    assert released == Released(executions=2, jobs=2)
    again = store.claim_jobs("n1", ["fn"], 10, 15_000, now_ms=now + 20)
    assert sorted(j.payload["n"] for j in again) == [0, 1]  # at once, long before the 15 s lease ends
    assert [w.execution.name for w in store.claim_work("n1", 10, 5_000, now_ms=now + 20)] == ["e1", "e2"]


def test_a_dead_node_is_released_once_and_only_while_its_heartbeat_is_unchanged(store: Store) -> None:
    now = store.clock()
    store.register_node(_node("dead"), now_ms=now)
    _leased_work(store, "dead", now)
    assert store.release_dead_node("dead", last_seen_ms=now - 1, now_ms=now + 4000) is None  # it beat since
    assert store.release_dead_node("dead", last_seen_ms=now, now_ms=now + 4000) == Released(executions=2, jobs=2)
    assert store.release_dead_node("dead", last_seen_ms=now, now_ms=now + 4100) is None  # released already
    (row,) = store.list_nodes()
    assert row.released_ms == now + 4000
    taken = store.claim_jobs("alive", ["fn"], 10, 15_000, now_ms=now + 4200)
    assert len(taken) == 2 and {j.attempts for j in taken} == {2}
    assert len(store.claim_work("alive", 10, 5_000, now_ms=now + 4200)) == 2
    assert store.node_heartbeat("dead", now + 5000)  # it was only stalled: beating clears the release
    assert store.list_nodes()[0].released_ms is None


def test_a_stopped_node_is_never_released(store: Store) -> None:
    now = store.clock()
    store.register_node(_node("s"), now_ms=now)
    store.node_stopped("s", now + 5)
    assert store.release_dead_node("s", last_seen_ms=now + 5, now_ms=now + 10_000) is None
