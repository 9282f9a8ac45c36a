"""Topic pushes go only where the server's egress policy allows, and the console shows a failure's class only.

Real servers (a ``tidegate server`` process driven by an official MNS SDK and by our MNS client; the push
worker on both stores with the in-process app as console), real subscribers and real sockets. A name that
resolves to the metadata address is given by a resolver passed to the push worker: no DNS server is
available offline, and the policy resolves through that one hook (the system resolver otherwise).
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.inprocess import TEST_ROOT, in_process
from tests.mq.helpers import root_client
from tests.sdkenv import mns115_env, mns130_env, run_in_env  # noqa: F401  (fixtures)
from tests.server import TEST_KEYS, ServerError, ServerProcess
from tests.waiting import wait_until
from tidegate.api.context import AppContext
from tidegate.auth.keys import KeyRing
from tidegate.auth.push import load_or_create_push_identity
from tidegate.egress import EgressPolicy, HostNotResolved
from tidegate.mq.client import MnsClient, MnsClientError, seg
from tidegate.mq.push import PushWorker
from tidegate.mq.topics import TopicService
from tidegate.mq.wire import (
    MessageRequest,
    SubscriptionAttributes,
    TopicAttributes,
    encode_message,
    encode_subscription,
    encode_topic_attributes,
)
from tidegate.store import Store

ACCOUNT = "1234567890123456"
REGION = "cn-hangzhou"
SECRET_BODY = "internal-admin-token=s3cr3t; stack trace at /srv/app.py line 12"


class Listener:
    """An HTTP endpoint on 127.0.0.1 answering every POST with ``status`` and a body that must never show."""

    def __init__(self, status: int = 201) -> None:
        self.hits: list[str] = []
        hits, answer = self.hits, status

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                hits.append(self.path)
                body = SECRET_BODY.encode()
                self.send_response(answer)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def listener() -> Iterator[Listener]:
    srv = Listener()
    yield srv
    srv.close()


@pytest.fixture
def unauthorized() -> Iterator[Listener]:
    srv = Listener(401)
    yield srv
    srv.close()


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _subscribe(c: MnsClient, topic: str, name: str, endpoint: str) -> None:
    attrs = SubscriptionAttributes(endpoint=endpoint, notify_strategy="BACKOFF_RETRY")
    c.request("PUT", f"/topics/{seg(topic)}/subscriptions/{seg(name)}", body=encode_subscription(attrs))


def _publish(c: MnsClient, topic: str, body: str) -> None:
    c.request("POST", f"/topics/{seg(topic)}/messages", body=encode_message(MessageRequest(body=body)))


@contextmanager
def _console(server_url: str) -> Iterator[httpx.Client]:
    """A console session of the root key on a server process."""
    with httpx.Client(base_url=server_url, timeout=30) as c:
        r = c.post("/console/api/session", json={"access_key_id": TEST_ROOT.id, "access_key_secret": TEST_ROOT.secret})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf"]
        yield c


def _failures(console: httpx.Client, topic: str) -> dict[str, str | None]:
    doc = console.get(f"/console/api/topics/{topic}").json()
    return {s["subscription_name"]: s["last_failure"] for s in doc["subscriptions"]}


# --- the default policy on a real server -----------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(
        tmp_path_factory.mktemp("egress") / "data", env={**TEST_KEYS, "TIDEGATE_PUSH_RETRY_SCALE": "0.001"}
    )
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[MnsClient]:
    yield from root_client(server)


SDK_SUBSCRIBE = """
import json, os
from mns.account import Account
from mns.mns_exception import MNSServerException
from mns.subscription import SubscriptionMeta
from mns.topic import TopicMeta

acc = Account(os.environ["MNS_URL"], "testAccessKeyId", "testAccessKeySecret")
topic = acc.get_topic(os.environ["TOPIC"])
topic.create(TopicMeta())
res = {}
for name, endpoint in json.loads(os.environ["ENDPOINTS"]).items():
    try:
        topic.get_subscription(name).subscribe(SubscriptionMeta(endpoint, "BACKOFF_RETRY"))
        res[name] = "created"
    except MNSServerException as e:
        res[name] = [e.type, e.message]
print("RESULT " + json.dumps(res))
"""


@pytest.mark.parametrize("env_name", ["mns115", "mns130"])
def test_the_official_sdk_cannot_subscribe_the_metadata_service(
    env_name: str, server: ServerProcess, listener: Listener, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue(f"{env_name}_env")
    endpoints = {
        "metadata": "http://169.254.169.254/latest/meta-data/",
        "alibaba": "http://100.100.100.200/latest/meta-data/ram/security-credentials/",
        "decimal": "http://2852039166/",
        "linklocal": "http://169.254.10.10:8080/hook",
        "loopback": f"http://127.0.0.1:{listener.port}/hook",  # local development: allowed
    }
    env = {"MNS_URL": server.url, "TOPIC": f"sdk-{env_name}", "ENDPOINTS": json.dumps(endpoints)}
    proc = run_in_env(env_name, SDK_SUBSCRIBE, env=env, timeout=120)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    result = json.loads(lines[-1][len("RESULT ") :])
    assert result["loopback"] == "created"
    policy = "is refused by the server's egress policy"
    assert result["metadata"] == [
        "InvalidArgument",
        f"The endpoint 'http://169.254.169.254/latest/meta-data/' {policy}: "
        "169.254.169.254 is a cloud metadata address.",
    ]
    assert result["alibaba"][0] == "InvalidArgument"
    assert f"{policy}: 100.100.100.200 is a cloud metadata address." in result["alibaba"][1]
    assert f"{policy}: 169.254.169.254 is a cloud metadata address." in result["decimal"][1]
    assert f"{policy}: 169.254.10.10 is a link-local address." in result["linklocal"][1]


def test_loopback_by_name_is_pushed_to_and_failures_show_their_class_only(
    client: MnsClient, server: ServerProcess, listener: Listener, unauthorized: Listener
) -> None:
    client.request("PUT", "/topics/classes", body=encode_topic_attributes(TopicAttributes()))
    _subscribe(client, "classes", "local", f"http://localhost:{listener.port}/by-name")  # resolved, allowed
    _subscribe(client, "classes", "closed", f"http://127.0.0.1:{closed_port()}/nothing")
    _subscribe(client, "classes", "denied", f"http://127.0.0.1:{unauthorized.port}/api/v1/flows")
    with pytest.raises(MnsClientError) as refused:
        _subscribe(client, "classes", "meta", "http://[::ffff:169.254.169.254]/")
    assert refused.value.status == 400 and refused.value.error_code == "InvalidArgument"
    _publish(client, "classes", "hello")
    wait_until(lambda: listener.hits == ["/by-name"], message=lambda: f"one push by name: {listener.hits}")
    with _console(server.url) as console:
        wait_until(
            lambda: (
                _failures(console, "classes") == {"local": None, "closed": "connection refused", "denied": "HTTP 401"}
            ),
            timeout=60,
            message=lambda: f"the failure classes: {_failures(console, 'classes')}",
        )
        page = console.get("/console/api/topics/classes").text
    assert len(unauthorized.hits) == 4  # BACKOFF_RETRY: the first attempt and three retries
    assert "internal-admin-token" not in page and "Errno" not in page and "s3cr3t" not in server.log()


# --- an allow list on a real server ----------------------------------------------------------------------


def test_an_allow_list_refuses_the_rest_when_created_and_when_pushed(tmp_path: Path, listener: Listener) -> None:
    srv = ServerProcess(
        tmp_path / "data",
        env={**TEST_KEYS, "TIDEGATE_PUSH_RETRY_SCALE": "0.001"},
        args=["--egress-allow", "10.0.0.0/8, hooks.example.com"],
    )
    srv.start()
    try:
        c = MnsClient(srv.url, TEST_ROOT.id, TEST_ROOT.secret)
        with _console(srv.url) as console:
            c.request("PUT", "/topics/narrow", body=encode_topic_attributes(TopicAttributes()))
            with pytest.raises(MnsClientError) as refused:
                _subscribe(c, "narrow", "loop", f"http://127.0.0.1:{listener.port}/x")
            assert refused.value.error_code == "InvalidArgument"
            assert "127.0.0.1 is not on the --egress-allow list" in str(refused.value)
            # A name is not resolved when it is given; it is when pushed, and loopback is not on the list.
            _subscribe(c, "narrow", "by-name", f"http://localhost:{listener.port}/x")
            _subscribe(c, "narrow", "listed", "http://10.255.255.1:9/x")  # allowed: created
            _publish(c, "narrow", "hello")
            wait_until(
                lambda: _failures(console, "narrow").get("by-name") == "refused by policy",
                timeout=30,
                message=lambda: f"refused when pushed: {_failures(console, 'narrow')}",
            )
            doc = console.get("/console/api/topics/narrow").json()
        (failed,) = [f for f in doc["failed_deliveries"] if f["subscription"] == "by-name"]
        assert failed["attempts"] == 1 and failed["failure"] == "refused by policy"  # final: not retried
        assert listener.hits == []
        assert "refused by the egress policy: localhost resolves to no address on the --egress-allow list" in srv.log()
        c.close()
    finally:
        srv.stop()


def test_a_bad_allow_list_is_refused_at_start(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "data", env=TEST_KEYS, args=["--egress-allow", "10.0.0.1/8"])
    with pytest.raises(ServerError, match=re.escape("'--egress-allow': entry '10.0.0.1/8' is not a network")):
        srv.start(timeout_s=30)


# --- a name resolving to the metadata address, on both stores --------------------------------------------


def _resolver(table: dict[str, Sequence[str]]) -> Any:
    def resolve(host: str, port: int) -> Sequence[str]:
        if host not in table:
            raise HostNotResolved(f"{host} could not be resolved")
        return table[host]

    return resolve


def test_a_name_resolving_to_the_metadata_service_is_refused_when_pushed(
    store: Store, tmp_path: Path, listener: Listener
) -> None:
    policy = EgressPolicy(
        resolver=_resolver(
            {
                "metadata.tidegate.test": ["169.254.169.254"],
                "alibaba.tidegate.test": ["10.0.0.1", "100.100.100.200"],
                "hooks.tidegate.test": ["127.0.0.1"],
            }
        )
    )
    ctx = AppContext(store=store, keyring=KeyRing(TEST_ROOT), egress=policy)
    ts = TopicService(store.database, REGION, ACCOUNT, egress=policy)
    ts.create_topic("t", TopicAttributes())
    for name, host in (("meta", "metadata"), ("ali", "alibaba"), ("ok", "hooks"), ("nxdomain", "missing")):
        endpoint = f"http://{host}.tidegate.test:{listener.port}/{name}"
        ts.subscribe("t", name, SubscriptionAttributes(endpoint=endpoint, notify_strategy="BACKOFF_RETRY"))
    ts.publish("t", MessageRequest(body="hello"))
    identity = load_or_create_push_identity(tmp_path)
    worker = PushWorker(store, identity, "http://127.0.0.1:1", REGION, ACCOUNT, retry_scale=0.0001, egress=policy)
    worker.start()
    try:
        with in_process(ctx) as app:
            r = app.post(
                "/console/api/session", json={"access_key_id": TEST_ROOT.id, "access_key_secret": TEST_ROOT.secret}
            )
            app.headers["X-CSRF-Token"] = r.json()["csrf"]

            def failures() -> dict[str, Any]:
                doc = app.get("/console/api/topics/t").json()
                return {f["subscription"]: (f["failure"], f["attempts"]) for f in doc["failed_deliveries"]}

            wait_until(lambda: len(failures()) == 3, timeout=60, message=lambda: f"three failed pushes: {failures()}")
            assert failures() == {
                "meta": ("refused by policy", 1),
                "ali": ("refused by policy", 1),
                "nxdomain": ("DNS lookup failed", 4),
            }
            assert listener.hits == ["/ok"]  # the name resolving to loopback was pushed to, through its address
            doc = app.get("/console/api/topics/t").json()
            shown = {s["subscription_name"]: (s["failed"], s["last_failure"]) for s in doc["subscriptions"]}
            assert shown["meta"] == (1, "refused by policy") and shown["ok"] == (0, None)
    finally:
        worker.stop()
