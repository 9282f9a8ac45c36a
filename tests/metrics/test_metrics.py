"""The metrics' parts on their own: bounded labels, the store's gauges on both backends, the start-event bound."""

from __future__ import annotations

import re

import httpx
from prometheus_client.core import Metric

from tests.conftest import REPO
from tests.inprocess import TEST_AUTH
from tests.metrics.helpers import FAMILIES, delta, labels_of, parse
from tidegate import metrics
from tidegate.api import mns
from tidegate.api.front import MNS_OPERATIONS
from tidegate.clock import now_ms
from tidegate.mq import QueueService
from tidegate.mq.wire_requests import QueueAttributes
from tidegate.runtime.observe import StoreGauges, TransitionMetrics
from tidegate.status import ExecutionStatus
from tidegate.store import HistoryWrite, Store, TransitionWrite


def _scrape(client: httpx.Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    reply = client.get("/metrics", auth=TEST_AUTH)
    assert reply.status_code == 200, reply.text
    return parse(reply.text)[1]


def test_an_unknown_rpc_action_is_labelled_other(app_client: httpx.Client) -> None:
    before = _scrape(app_client)
    bogus = app_client.post("/", data={"Action": "NoSuchAction", "Version": "2019-03-15"})
    unsigned = app_client.post("/", data={"Action": "ListFlows", "Version": "2019-03-15"})
    assert bogus.status_code == 400 and unsigned.status_code >= 400
    after = _scrape(app_client)
    other = {"protocol": "rpc", "action": "other", "status": str(bogus.status_code)}
    assert delta(before, after, "tidegate_http_requests_total", **other) == 1
    known = {"protocol": "rpc", "action": "ListFlows", "status": str(unsigned.status_code)}
    assert delta(before, after, "tidegate_http_requests_total", **known) == 1
    assert not [ls for ls in labels_of(after, "tidegate_http_requests_total") if ls["action"] == "NoSuchAction"]


def test_an_mns_request_outside_the_protocol_is_labelled_other(app_client: httpx.Client) -> None:
    before = _scrape(app_client)
    reply = app_client.post("/queues/q")  # the resource exists, but not for POST
    assert reply.status_code == 405
    after = _scrape(app_client)
    assert delta(before, after, "tidegate_http_requests_total", protocol="mns", action="other", status="405") == 1


def test_every_mns_operation_has_its_name() -> None:
    handlers = {h.__name__ for _, by_method in mns._ROUTE_TABLE for h in by_method.values()}
    assert handlers == set(MNS_OPERATIONS)


def test_a_bounded_label_turns_later_values_into_other() -> None:
    label = metrics.BoundedLabel(2)
    assert [label(v) for v in ("a", "b", "c", "a", "d", "b")] == ["a", "b", "other", "a", "other", "b"]


def _values(families: list[Metric]) -> dict[tuple[str, tuple[str, ...]], float]:
    return {(s.name, tuple(s.labels.values())): s.value for f in families for s in f.samples}


def test_the_store_gauges(store: Store) -> None:
    queues = QueueService(store.database)
    queues.create_queue("busy", QueueAttributes(visibility_timeout=600))
    queues.create_queue("idle", QueueAttributes())
    queues.send_message("busy", "one")
    queues.send_message("busy", "two")
    queues.send_message("busy", "later", delay_s=600)
    assert len(queues.receive("busy", 1, 0)) == 1
    # The gauges' clock runs a minute ahead: the oldest message is at least that old.
    fresh = StoreGauges(store, lambda: now_ms() + 60_000, ttl_s=0)
    got = _values(list(fresh.collect()))
    assert got[("tidegate_queue_messages", ("busy", "visible"))] == 1
    assert got[("tidegate_queue_messages", ("busy", "inflight"))] == 1
    assert got[("tidegate_queue_messages", ("busy", "delayed"))] == 1
    assert [got[("tidegate_queue_messages", ("idle", s))] for s in ("visible", "inflight", "delayed")] == [0, 0, 0]
    assert got[("tidegate_queue_oldest_message_age_seconds", ("busy",))] >= 60
    assert got[("tidegate_queue_oldest_message_age_seconds", ("idle",))] == 0
    assert got[("tidegate_tasks_waiting_callback", ())] == 0

    cached = StoreGauges(store, now_ms, ttl_s=3600)
    first = _values(list(cached.collect()))
    queues.send_message("idle", "new")
    assert _values(list(cached.collect())) == first  # read once per ttl, whatever the scrapes
    assert _values(list(fresh.collect()))[("tidegate_queue_messages", ("idle", "visible"))] == 1


def _write(execution_id: int, *events: tuple[str, int, int, int]) -> TransitionWrite:
    return TransitionWrite(
        execution_id=execution_id,
        expected_version=0,
        state={"flow_name": "bounded"},
        status=ExecutionStatus.RUNNING,
        events=[
            HistoryWrite(event_id=eid, schedule_event_id=sched, type=kind, time_ms=t) for kind, eid, sched, t in events
        ],
    )


def test_start_events_are_remembered_up_to_the_bound() -> None:
    observer = TransitionMetrics(limit=3)
    observer([_write(7, *(("StepEntered", eid, 0, 1000 * eid) for eid in range(1, 6)))])
    assert observer.pending() == 3  # the two oldest were forgotten
    count = _count()
    observer([_write(7, ("StepExited", 6, 1, 9000))])  # its StepEntered was forgotten: not observed
    assert _count() == count
    observer([_write(7, ("StepExited", 7, 5, 9000))])  # entered at 5 s, exited at 9 s
    assert _count() == count + 1 and observer.pending() == 2
    observer([_write(8, ("StepExited", 1, 4, 9000))])  # another execution's event 4: not this one's
    assert _count() == count + 1


def _count() -> float:
    """The observations of ``tidegate_step_duration_seconds{flow="bounded"}`` so far."""
    for family in metrics.step_duration.collect():
        for s in family.samples:
            if s.name.endswith("_count") and s.labels == {"flow": "bounded"}:
                return s.value
    return 0.0


def test_the_operations_page_lists_every_family() -> None:
    doc = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Metrics") : doc.index("## Retention")]
    listed = set(re.findall(r"^\| `(tidegate_\w+)` \|", section, re.M))
    # The parser names a counter without its _total; the page names the series a query uses.
    assert {name.removesuffix("_total") for name in listed} == FAMILIES
    assert all(name.endswith("_total") for name in listed if f"`{name}` | counter" in section)
