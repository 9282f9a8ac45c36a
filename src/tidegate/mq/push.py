"""Push delivery: the outbox of topic notifications, delivered to HTTP and queue endpoints (docs/protocols.md).

A :class:`PushWorker` thread claims due ``mq_deliveries`` rows under a lease (so several server processes
on one PostgreSQL database share the work, and a crashed process's claims come back), delivers them on a
small thread pool, then deletes each delivered row or reschedules it per the subscription's
NotifyStrategy. An HTTP push is signed with the server's RSA key (``x-mns-signing-cert-url`` names the
certificate, which any server process sharing the store serves from the ``settings`` table) and must be
answered 2xx within 5 seconds. It connects only where the server's egress policy (:mod:`tidegate.egress`)
allows: the endpoint's name is resolved at each attempt, every address is checked and the connection goes
to one that passed; a refusal is final (the push fails for good at once). A queue endpoint gets the
notification as a message in the same transaction that deletes the delivery row: exactly once.

Every claim counts an attempt (so a process that dies mid-push still uses one up). A push that keeps
failing ends, after its NotifyStrategy's retries, in ``mq_failed_deliveries`` with its attempts and the
class of its last failure (``timeout``, ``connection refused``, ``HTTP 503``, ``refused by policy``…,
never the far side's answer); a push that cannot be rendered at all (text XML 1.0 cannot carry, stored
before the service refused it) ends there at once. Each failed attempt is one log line.
"""

from __future__ import annotations

import hashlib
import logging
import random
import secrets
import ssl
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tidegate import metrics
from tidegate.auth.push import PushIdentity, load_or_create_push_identity, signed_push_headers
from tidegate.egress import EgressPolicy, EgressRefused, HostNotResolved
from tidegate.errors import QueueError
from tidegate.mq._common import Clock, wall_ms
from tidegate.mq.errors import SubscriptionNotExist
from tidegate.mq.queues import QueueService
from tidegate.mq.topics import PUSH_CHANNEL, TOPIC_RETENTION_S, TopicService, queue_endpoint_name
from tidegate.mq.wire_render import Notification, render_notification
from tidegate.mq.wire_xml import XmlUnsafeText, xml_text_problem
from tidegate.store import Store
from tidegate.urls import public_url

log = logging.getLogger(__name__)

CERT_SETTING_PREFIX = "mq.push-cert/"
PUSH_TIMEOUT_S = 5.0
LEASE_MS = 60_000
BATCH = 32
BACKOFF_RETRIES = 3
EXPONENTIAL_RETRIES = 176
RECHECK_S = 1.0
EXPIRE_EVERY_S = 60.0


class EndpointStatus(Exception):
    """The endpoint answered with a status other than 2xx (its body is not read)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


#: The class of a push the egress policy refused (final: it is not retried).
REFUSED_BY_POLICY = "refused by policy"


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from (httpx wraps httpcore's, which wraps the OS's)."""
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out and len(out) < 10:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def failure_class(exc: BaseException) -> str:
    """Name the class of a failed push attempt for logs and the console, without the far side's words:
    ``timeout``, ``connection refused``, ``DNS lookup failed``, ``TLS failed``, ``connection failed``,
    ``HTTP 500``, ``refused by policy``, ``queue: QueueNotExist``…"""
    if isinstance(exc, EndpointStatus):
        return f"HTTP {exc.status}"
    if isinstance(exc, EgressRefused):
        return REFUSED_BY_POLICY
    if isinstance(exc, HostNotResolved):
        return "DNS lookup failed"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        causes = _causes(exc)
        if any(isinstance(c, ssl.SSLError) for c in causes):
            return "TLS failed"
        if any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in str(exc).lower():
            return "connection refused"
        return "connection failed"
    if isinstance(exc, httpx.HTTPError):
        return f"HTTP exchange failed ({type(exc).__name__})"
    if isinstance(exc, QueueError):
        return f"queue: {exc.code}"
    return type(exc).__name__


def max_attempts(strategy: str) -> int:
    """How many attempts a push gets under ``strategy``: the first one and its retries."""
    return 1 + (EXPONENTIAL_RETRIES if strategy == "EXPONENTIAL_DECAY_RETRY" else BACKOFF_RETRIES)


def retry_delay_s(strategy: str, failures: int, scale: float = 1.0) -> float | None:
    """Return the pause before the next attempt after ``failures`` failed ones, or None to give up.

    ``BACKOFF_RETRY``: 3 retries, each after a random 10-20 s. ``EXPONENTIAL_DECAY_RETRY``: 176 retries
    after 1, 2, 4 … 512 s, then every 512 s (one day in all). ``scale`` shrinks the pauses (tests).
    """
    if strategy == "EXPONENTIAL_DECAY_RETRY":
        if failures > EXPONENTIAL_RETRIES:
            return None
        return float(min(2 ** (failures - 1), 512)) * scale
    if failures > BACKOFF_RETRIES:
        return None
    return random.uniform(10.0, 20.0) * scale


class PushWorker:
    """Delivers the push outbox until stopped.

    Args:
        store: the open store (its database holds the outbox).
        identity: the key that signs pushes and its certificate.
        public_url: this server's base URL as subscribers reach it (for the certificate URL).
        region: the region (queue endpoints).
        account_id: the account (``TopicOwner``, ``Subscriber``).
        retry_scale: multiplies every retry pause (1.0 in production).
        concurrency: deliveries in flight at once.
        clock: epoch milliseconds.
        egress: where HTTP pushes may connect (the default policy unless the server sets one).
    """

    def __init__(
        self,
        store: Store,
        identity: PushIdentity,
        public_url: str,
        region: str,
        account_id: str,
        *,
        retry_scale: float = 1.0,
        concurrency: int = 8,
        clock: Clock | None = None,
        egress: EgressPolicy | None = None,
    ) -> None:
        self.store = store
        self.db = store.database
        self.identity = identity
        self.clock: Clock = clock or wall_ms
        self.queues = QueueService(self.db, clock=self.clock)
        self.egress = egress or EgressPolicy()
        self.topics = TopicService(self.db, region, account_id, clock=self.clock, egress=self.egress)
        self.account_id = account_id
        self.retry_scale = retry_scale
        fingerprint = hashlib.sha256(identity.cert_pem).hexdigest()[:16]
        self.cert_name = f"{fingerprint}.pem"
        self.cert_url = f"{public_url.rstrip('/')}/mns/certs/{self.cert_name}"
        self.owner = f"push-{uuid.uuid4().hex[:12]}"
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="tidegate-push")
        self._http = self.egress.client(timeout=PUSH_TIMEOUT_S)  # no redirects, no proxies
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_expire = 0.0

    def start(self) -> None:
        """Publish the certificate (so every server process can serve it) and start the loop."""
        self.store.put_setting_if_absent(CERT_SETTING_PREFIX + self.cert_name, self.identity.cert_pem.decode())
        self._thread = threading.Thread(target=self._run, name="tidegate-push", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop; deliveries in flight finish (their rows stay leased until then)."""
        self._stopping.set()
        try:
            self.db.notifier.notify(PUSH_CHANNEL)
        except Exception:  # the store may already be closing; the loop also wakes on its timeout
            log.debug("could not wake the push worker", exc_info=True)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._pool.shutdown(wait=True)
        self._http.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                since = self.db.notifier.seq()
                if self.run_once():
                    continue
                self._maybe_expire()
                pause = RECHECK_S
                with self.db.read() as tx:
                    row = self.topics.row(tx, "next_delivery", {})
                if row and row["next_ms"] is not None:
                    pause = min(pause, max(0.0, (int(row["next_ms"]) - self.clock()) / 1000))
                self.db.notifier.wait(PUSH_CHANNEL, pause, since=since)
            except Exception:
                log.exception("push delivery loop failed; retrying")
                self._stopping.wait(1.0)

    def _maybe_expire(self) -> None:
        if time.monotonic() - self._last_expire >= EXPIRE_EVERY_S:
            self._last_expire = time.monotonic()
            self.queues.expire()
            with self.db.write() as tx:
                before = self.clock() - TOPIC_RETENTION_S * 1000
                self.topics.count(tx, "expire_failed_deliveries", {"before": before})

    def run_once(self) -> int:
        """Claim the due deliveries, deliver them and record the outcomes; return how many were claimed."""
        now = self.clock()
        params = {"owner": self.owner, "now": now, "until": now + LEASE_MS, "n": BATCH}
        with self.db.write() as tx:
            rows = self.topics.rows(tx, "claim_deliveries", params)
        if rows:
            list(self._pool.map(self._deliver, rows))
        return len(rows)

    def _deliver(self, row: dict[str, Any]) -> None:
        try:
            sub = self.topics.get_subscription(row["topic"], row["subscription"])
        except SubscriptionNotExist:  # unsubscribed meanwhile: nothing to deliver to
            self._done(row)
            _count("dropped")
            return
        # Any other error (the store briefly unavailable) propagates: the delivery stays leased and is
        # claimed again when its lease expires, instead of being dropped.
        attempts = int(row["attempts"])  # counted by the claim, this one included
        if attempts > max_attempts(sub.notify_strategy):  # earlier claims never reported (process died)
            self._fail(row, attempts - 1, "no outcome (the delivering process stopped)")
            return
        note = Notification(
            topic_owner=self.account_id,
            topic_name=row["topic"],
            subscriber=self.account_id,
            subscription_name=row["subscription"],
            message_id=row["message_id"],
            message=row["body"],
            message_md5=row["body_md5"],
            publish_time=int(row["publish_ms"]),
            message_tag=row["tag"],
        )
        queue = queue_endpoint_name(sub.endpoint)
        try:
            body, ctype = render_notification(note, sub.notify_content_format)
            if queue is not None:
                self._to_queue(row, queue, body.decode("utf-8"))
                _count("delivered")
                return
        except (ValueError, XmlUnsafeText):
            # Rendering is deterministic: retrying cannot help. (Only text stored before the service
            # refused what XML 1.0 cannot carry gets here.)
            problem = xml_text_problem(note.message) or xml_text_problem(note.message_tag or "") or "invalid text"
            self._fail(row, attempts, f"not renderable: {problem}")
            return
        except Exception as exc:
            self._retry(row, sub.notify_strategy, exc)
            return
        try:
            self._to_http(sub.endpoint, note, body, ctype)
        except EgressRefused as exc:
            # The policy is the operator's: asking again cannot change its answer, and a name that
            # leads to a refused address is not retried either.
            log.warning(
                "push of %s to %s/%s refused by the egress policy: %s",
                row["message_id"],
                row["topic"],
                row["subscription"],
                exc.message,
            )
            self._fail(row, attempts, REFUSED_BY_POLICY)
            return
        except Exception as exc:
            self._retry(row, sub.notify_strategy, exc)
            return
        self._done(row)
        _count("delivered")

    def _to_queue(self, row: dict[str, Any], queue: str, text: str) -> None:
        with self.db.write() as tx:
            self.queues.send_message_in(tx, queue, text)
            self.topics.count(tx, "delivery_done", {"id": row["id"], "owner": self.owner})

    def _to_http(self, endpoint: str, note: Notification, body: bytes, ctype: str) -> None:
        parts = urlsplit(endpoint)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        mns = {
            "x-mns-request-id": secrets.token_hex(12).upper(),
            "x-mns-message-id": note.message_id,
            "x-mns-publish-time": str(note.publish_time),
            "x-mns-subscriber": note.subscriber,
            "x-mns-subscription-name": note.subscription_name,
            "x-mns-topic-name": note.topic_name,
            "x-mns-topic-owner": note.topic_owner,
        }
        if note.message_tag:
            mns["x-mns-message-tag"] = note.message_tag
        headers = signed_push_headers(self.identity, path, body, ctype, self.cert_url, mns, time.time())
        resp = self._http.post(endpoint, content=body, headers=headers)
        if not 200 <= resp.status_code < 300:
            raise EndpointStatus(resp.status_code)

    def _done(self, row: dict[str, Any]) -> None:
        with self.db.write() as tx:
            self.topics.count(tx, "delivery_done", {"id": row["id"], "owner": self.owner})

    def _retry(self, row: dict[str, Any], strategy: str, exc: Exception) -> None:
        failure = failure_class(exc)[:200]
        attempts = int(row["attempts"])
        delay = retry_delay_s(strategy, attempts, self.retry_scale)
        if delay is None:
            self._fail(row, attempts, failure)
            return
        _count("retry")
        log.warning(
            "push of %s to %s/%s failed (attempt %d of %d): %s; next attempt in %.1f s",
            row["message_id"],
            row["topic"],
            row["subscription"],
            attempts,
            max_attempts(strategy),
            failure,
            delay,
            exc_info=not isinstance(exc, (EndpointStatus, httpx.HTTPError, QueueError, HostNotResolved)),
        )
        params = {"id": row["id"], "owner": self.owner, "next_ms": self.clock() + int(delay * 1000), "error": failure}
        with self.db.write() as tx:
            self.topics.count(tx, "delivery_retry", params)
            tx.notify(PUSH_CHANNEL)

    def _fail(self, row: dict[str, Any], attempts: int, failure: str) -> None:
        """Move the push to the failed deliveries (terminal): it is not attempted again."""
        _count("failed")
        log.warning(
            "push of %s to %s/%s failed for good after %d attempt(s): %s",
            row["message_id"],
            row["topic"],
            row["subscription"],
            attempts,
            failure,
        )
        now = self.clock()
        params = {"id": row["id"], "owner": self.owner, "now": now, "error": failure[:500], "attempts": attempts}
        with self.db.write() as tx:
            self.topics.count(tx, "delivery_failed", params)
            self.topics.count(tx, "delivery_done", params)


def _count(outcome: str) -> None:
    """Count one push attempt's outcome (docs/operations.md, Metrics)."""
    if metrics.enabled():
        metrics.push_deliveries.labels(outcome).inc()


def start_push_worker(
    store: Store,
    data_dir: Path,
    *,
    host: str,
    port: int,
    region: str,
    account_id: str,
    env: Mapping[str, str],
    egress: EgressPolicy | None = None,
) -> PushWorker:
    """Build and start the server's push worker (call :meth:`PushWorker.stop` on shutdown).

    ``TIDEGATE_PUBLIC_URL`` sets the base URL subscribers fetch the certificate from (default
    ``http://HOST:PORT``, 127.0.0.1 for a wildcard host); ``TIDEGATE_PUSH_RETRY_SCALE`` multiplies the
    retry pauses (tests). ``egress``: where HTTP pushes may connect (default: the default policy).
    """
    scale = float(env.get("TIDEGATE_PUSH_RETRY_SCALE") or "1")
    worker = PushWorker(
        store,
        load_or_create_push_identity(data_dir),
        public_url(env, host, port),
        region,
        account_id,
        retry_scale=scale,
        egress=egress,
    )
    worker.start()
    return worker
