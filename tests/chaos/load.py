"""A mixed load on a real server that is SIGKILLed at random instants, and the ledger the checks read.

Clients are threads of the test process speaking raw signed HTTP (``tests.hostile.harness``):

* starters start planned executions of three flows: ``cb`` (a task step sends its token to the queue
  ``chaos-cb`` and waits for a callback), ``fn`` (two function tasks) and ``wt`` (a wait step);
* callback workers long-poll ``chaos-cb``, report ``ReportTaskSucceeded`` with the token and delete the
  message;
* a producer sends plain messages to ``chaos-q`` and a consumer receives and deletes them.

Every client retries across the crash until it gets a definitive answer. The :class:`Ledger` records what
the server acknowledged (starts, SendMessage 201s, task reports answered 200, every reception with its
visibility window) so the test can check nothing acknowledged was lost and nothing happened twice.
"""

from __future__ import annotations

import functools
import itertools
import json
import queue
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.hostile.harness import Hostile, q
from tidegate.mq.wire_xml import Element, parse_xml

VISIBILITY_S = 4  # short, so a message whose receiver died with the server comes back soon
WAIT_S = 1  # the wait step of flow ``wt``
RETRY_S = 90.0
STALE_DELETE = (
    "MessageNotExist",
    "ReceiptHandleError",
)  # how long a client keeps retrying one operation across kills and restarts

CB_FLOW = """version: v1
type: flow
steps:
  - type: task
    name: callback
    resourceArn: acs:mns:::/queues/chaos-cb/messages
    pattern: waitForCallback
    inputMappings:
      - target: task_token
        source: $context.task.token
      - target: key
        source: $input.key
    serviceParams:
      MessageBody: $
    outputMappings:
      - target: key
        source: $local.key
      - target: done
        source: $local.done
"""

FN_FLOW = """version: v1
type: flow
steps:
  - type: task
    name: first
    resourceArn: acs:fc:::services/chaos/functions/double
    outputMappings:
      - target: n
        source: $local.n
  - type: task
    name: second
    resourceArn: acs:fc:::services/chaos/functions/double
    outputMappings:
      - target: n
        source: $local.n
"""

WT_FLOW = f"""version: v1
type: flow
steps:
  - type: wait
    name: pause
    duration: {WAIT_S}
  - type: pass
    name: after
    outputMappings:
      - target: n
        source: $input.n
"""

DOUBLE = """
import json

def handler(event, context):
    return {"n": json.loads(event)["n"] * 2}
"""

FLOWS = {"cb": CB_FLOW, "fn": FN_FLOW, "wt": WT_FLOW}


def write_functions(root: Path) -> Path:
    (root / "chaos").mkdir(parents=True, exist_ok=True)
    (root / "chaos" / "double.py").write_text(DOUBLE)
    return root


@dataclass(frozen=True)
class Planned:
    """One execution to start and the output it must end with."""

    flow: str
    name: str
    input: dict[str, Any]
    expected: dict[str, Any]


def plan(count: int, seed: int) -> list[Planned]:
    """``count`` executions, half callback, a quarter function, a quarter wait, in a seeded order."""
    out = []
    for i in range(count):
        kind = ("cb", "cb", "fn", "wt")[i % 4]
        if kind == "cb":
            out.append(Planned("cb", f"cb{i}", {"key": f"k{i}"}, {"key": f"k{i}", "done": True}))
        elif kind == "fn":
            out.append(Planned("fn", f"fn{i}", {"n": i}, {"n": 4 * i}))
        else:
            out.append(Planned("wt", f"wt{i}", {"n": i}, {"n": i}))
    random.Random(seed).shuffle(out)
    return out


@dataclass(frozen=True)
class Reception:
    """One message handed out: by whom, and the server's visibility window for it."""

    queue: str
    message_id: str
    receiver: str
    dequeued_ms: int  # NextVisibleTime - VisibilityTimeout: when the server handed it out
    next_visible_ms: int


@dataclass
class Ledger:
    """What the server acknowledged, for the final checks (thread-safe appends)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    started: set[str] = field(default_factory=set)
    sent: set[str] = field(default_factory=set)  # bodies of SendMessage answered 201
    consumed: set[str] = field(default_factory=set)
    reports_ok: Counter[str] = field(default_factory=Counter)  # token -> reports answered 200
    already_completed: int = 0  # reports answered TaskAlreadyCompleted (a lost reply retried)
    receptions: list[Reception] = field(default_factory=list)
    stale_deletes: int = 0  # deletes answered MessageNotExist / ReceiptHandleError
    retries: int = 0  # client requests that failed on the connection and were sent again
    errors: list[str] = field(default_factory=list)  # unexpected answers

    def started_count(self) -> int:
        with self.lock:
            return len(self.started)

    def progress(self) -> int:
        with self.lock:
            return len(self.started) + len(self.sent) + sum(self.reports_ok.values())


def _fields(el: Element) -> dict[str, str]:
    return {c.tag: c.text for c in el.children if not c.children}


class Load:
    """The client threads on one server (``h``); :meth:`stop` ends them."""

    def __init__(self, h: Hostile, ledger: Ledger) -> None:
        self.h = h
        self.ledger = ledger
        self.stopping = threading.Event()
        self.starts: queue.Queue[Planned] = queue.Queue()
        self.sends: queue.Queue[str] = queue.Queue()
        self.threads: list[threading.Thread] = []

    # -- plumbing ---------------------------------------------------------------------------------------

    def _retry(self, what: str, call: Callable[[Hostile], httpx.Response]) -> httpx.Response | None:
        """``call`` until the server answers (a kill only breaks connections); None when stopping."""
        deadline = time.monotonic() + RETRY_S
        with Hostile(self.h.srv) as client:
            while not self.stopping.is_set():
                try:
                    r = call(client)
                except httpx.HTTPError:
                    with self.ledger.lock:
                        self.ledger.retries += 1
                    if time.monotonic() > deadline:
                        self.ledger.errors.append(f"{what}: no answer within {RETRY_S} s")
                        return None
                    self.stopping.wait(0.05)  # back off while the server restarts (not a synchronisation)
                    continue
                if r.status_code >= 500:
                    self.ledger.errors.append(f"{what}: {r.status_code} {r.text[:200]}")
                return r
        return None

    def spawn(self, target: Callable[..., None], *args: Any) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)
        t.start()
        self.threads.append(t)

    def stop(self) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join(RETRY_S)

    # -- clients ----------------------------------------------------------------------------------------

    def starter(self) -> None:
        while not self.stopping.is_set():
            try:
                p = self.starts.get(timeout=0.2)
            except queue.Empty:
                continue
            params = {
                "Action": "StartExecution",
                "FlowName": p.flow,
                "ExecutionName": p.name,
                "Input": json.dumps(p.input),
            }
            r = self._retry(f"start {p.name}", functools.partial(Hostile.rpc, params=params, method="POST"))
            if r is None:
                continue
            # 200, or the execution of that name has already ended (a retried start whose first reply was lost)
            if r.status_code == 200 or r.json().get("Code") == "ExecutionAlreadyExists":
                with self.ledger.lock:
                    self.ledger.started.add(p.name)
            else:
                self.ledger.errors.append(f"start {p.name}: {r.status_code} {r.text[:200]}")

    def receive(self, client: Hostile, queue_name: str, receiver: str) -> list[dict[str, str]]:
        """One long poll (1 s); the messages, with their receptions recorded."""
        r = client.mns("GET", f"/queues/{queue_name}/messages", query="numOfMessages=4&waitseconds=1")
        if r.status_code == 404:
            return []
        if r.status_code != 200:
            self.ledger.errors.append(f"receive {queue_name}: {r.status_code} {r.text[:200]}")
            return []
        messages = [_fields(m) for m in parse_xml(r.content).all("Message")]
        with self.ledger.lock:
            for m in messages:
                nv = int(m["NextVisibleTime"])
                self.ledger.receptions.append(
                    Reception(queue_name, m["MessageId"], receiver, nv - VISIBILITY_S * 1000, nv)
                )
        return messages

    def _poll(self, queue_name: str, receiver: str, handle: Callable[[dict[str, str]], None]) -> None:
        with Hostile(self.h.srv) as client:
            while not self.stopping.is_set():
                try:
                    messages = self.receive(client, queue_name, receiver)
                except httpx.HTTPError:
                    with self.ledger.lock:
                        self.ledger.retries += 1
                    self.stopping.wait(0.05)  # back off while the server restarts
                    continue
                for m in messages:
                    handle(m)
                    handle_q = q(m["ReceiptHandle"])
                    r = self._retry(
                        f"delete {m['MessageId']}",
                        functools.partial(
                            Hostile.mns,
                            method="DELETE",
                            path=f"/queues/{queue_name}/messages",
                            query=f"ReceiptHandle={handle_q}",
                        ),
                    )
                    if r is None or r.status_code == 204:
                        continue
                    # 404: the first delete committed and its reply was lost; ReceiptHandleError: the
                    # visibility window passed during a restart (the message comes back: handled again).
                    code = parse_xml(r.content).child("Code")
                    if r.status_code in (400, 404) and code is not None and code.text in STALE_DELETE:
                        with self.ledger.lock:
                            self.ledger.stale_deletes += 1
                    else:
                        self.ledger.errors.append(f"delete: {r.status_code} {r.text[:200]}")

    def worker(self, name: str) -> None:
        def report(m: dict[str, str]) -> None:
            body = json.loads(m["MessageBody"])
            token, key = body["task_token"], body["key"]
            output = json.dumps({"key": key, "done": True, "by": name})
            params = {"Action": "ReportTaskSucceeded", "TaskToken": token, "Output": output}
            r = self._retry(f"report {key}", lambda c: c.rpc(params, "POST"))
            if r is None:
                return
            with self.ledger.lock:
                if r.status_code == 200:
                    self.ledger.reports_ok[token] += 1
                elif r.json().get("Code") == "TaskAlreadyCompleted":
                    self.ledger.already_completed += 1
                else:
                    self.ledger.errors.append(f"report {key}: {r.status_code} {r.text[:200]}")

        self._poll("chaos-cb", name, report)

    def producer(self) -> None:
        while not self.stopping.is_set():
            try:
                body = self.sends.get(timeout=0.2)
            except queue.Empty:
                continue
            doc = f"<Message><MessageBody>{body}</MessageBody></Message>".encode()
            r = self._retry(
                f"send {body}", functools.partial(Hostile.mns, method="POST", path="/queues/chaos-q/messages", body=doc)
            )
            if r is not None and r.status_code == 201:
                with self.ledger.lock:
                    self.ledger.sent.add(body)

    def consumer(self, name: str) -> None:
        def take(m: dict[str, str]) -> None:
            with self.ledger.lock:
                self.ledger.consumed.add(m["MessageBody"])

        self._poll("chaos-q", name, take)


def overlapping(receptions: list[Reception]) -> list[tuple[Reception, Reception]]:
    """Pairs of receptions of one message whose visibility windows overlap (held by two at once)."""
    by_message: dict[tuple[str, str], list[Reception]] = defaultdict(list)
    for r in receptions:
        by_message[(r.queue, r.message_id)].append(r)
    bad = []
    for rs in by_message.values():
        rs.sort(key=lambda r: r.dequeued_ms)
        bad += [(a, b) for a, b in itertools.pairwise(rs) if b.dequeued_ms < a.next_visible_ms]
    return bad
