"""Topics and subscriptions on the store (docs/mq.md); publishing writes the push outbox.

Publishing inserts one ``mq_deliveries`` row per subscription whose ``FilterTag`` matches, in the same
transaction as nothing else: the push worker (:mod:`tidegate.mq.push`) delivers them, so an acknowledged
publish survives a crash and every subscriber gets it at least once.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from tidegate.egress import EgressPolicy, EgressRefused
from tidegate.mq._common import Clock, MqBase, check_name, check_range, new_message_id
from tidegate.mq.errors import (
    InvalidQueueArgument,
    SubscriptionAlreadyExist,
    SubscriptionNotExist,
    TopicAlreadyExist,
    TopicNotExist,
)
from tidegate.mq.wire_render import SendResult, SubscriptionInfo, TopicInfo
from tidegate.mq.wire_requests import (
    MAX_MESSAGE_SIZE,
    MessageRequest,
    SubscriptionAttributes,
    TopicAttributes,
    check_message_text,
)
from tidegate.mq.wire_xml import body_md5
from tidegate.store.database import Database, Tx

PUSH_CHANNEL = "mq:push"
TOPIC_DEFAULT_MAX_SIZE = MAX_MESSAGE_SIZE
#: The service does not let a topic's retention be set; GetTopicAttributes shows one day.
TOPIC_RETENTION_S = 86400
DEFAULT_STRATEGY = "BACKOFF_RETRY"
DEFAULT_FORMAT = "XML"
_QUEUE_ENDPOINT = re.compile(r"acs:mns:([^:]*):([^:]*):queues/(.+)")


def queue_endpoint_name(endpoint: str) -> str | None:
    """Return the queue name of an ``acs:mns:REGION:ACCOUNT:queues/NAME`` endpoint, else None."""
    m = _QUEUE_ENDPOINT.fullmatch(endpoint)
    return m.group(3) if m else None


class TopicService(MqBase):
    """Topic, subscription and publish operations (one transaction each).

    Args:
        db: the store's database.
        region: this server's region (queue endpoints must name it).
        account_id: this server's account (``TopicOwner``; queue endpoints must name it).
        clock: epoch milliseconds.
        egress: what an HTTP endpoint may name (the default policy unless the server sets one).
    """

    def __init__(
        self,
        db: Database,
        region: str,
        account_id: str,
        clock: Clock | None = None,
        *,
        egress: EgressPolicy | None = None,
    ) -> None:
        super().__init__(db, clock)
        self.region = region
        self.account_id = account_id
        self.egress = egress or EgressPolicy()

    # --- topics ----------------------------------------------------------------------------------------

    def create_topic(self, name: str, attrs: TopicAttributes) -> bool:
        """Create a topic; return False for an identical re-create.

        Raises:
            TopicAlreadyExist: it exists with a different value of an attribute the request sets.
        """
        check_name(name, "topic")
        sent: dict[str, int] = {}
        if attrs.maximum_message_size is not None:
            sent["maximum_message_size"] = attrs.maximum_message_size
        if attrs.logging_enabled is not None:
            sent["logging_enabled"] = int(attrs.logging_enabled)
        params = {
            "maximum_message_size": TOPIC_DEFAULT_MAX_SIZE,
            "logging_enabled": 0,
            **sent,
            "name": name,
            "now_s": self.clock() // 1000,
        }
        with self.db.write() as tx:
            if self.row(tx, "insert_topic", params) is not None:
                return True
            existing = self.row(tx, "get_topic", {"name": name}) or {}
        if any(int(existing[k]) != v for k, v in sent.items()):
            raise TopicAlreadyExist(f"The topic {name} already exists with different attributes.")
        return False

    def set_topic_attributes(self, name: str, attrs: TopicAttributes) -> None:
        """Override the attributes the request sets.

        Raises:
            TopicNotExist: no such topic.
        """
        logging = None if attrs.logging_enabled is None else int(attrs.logging_enabled)
        params = {
            "name": name,
            "maximum_message_size": attrs.maximum_message_size,
            "logging_enabled": logging,
            "now_s": self.clock() // 1000,
        }
        with self.db.write() as tx:
            if self.row(tx, "update_topic", params) is None:
                raise TopicNotExist()

    def _info(self, tx: Tx, row: dict[str, Any]) -> TopicInfo:
        pending = self.row(tx, "topic_pending", {"name": row["name"]}) or {}
        return TopicInfo(
            name=row["name"],
            create_time=int(row["created_s"]),
            last_modify_time=int(row["modified_s"]),
            maximum_message_size=int(row["maximum_message_size"]),
            message_retention_period=TOPIC_RETENTION_S,
            message_count=int(pending.get("n") or 0),
            logging_enabled=bool(row["logging_enabled"]),
        )

    def get_topic(self, name: str) -> TopicInfo:
        """Return a topic's attributes; ``MessageCount`` is the number of messages still being pushed.

        Raises:
            TopicNotExist: no such topic.
        """
        with self.db.read() as tx:
            row = self.row(tx, "get_topic", {"name": name})
            if row is None:
                raise TopicNotExist()
            return self._info(tx, row)

    def delete_topic(self, name: str) -> None:
        """Delete a topic, its subscriptions and its pending deliveries (missing topic: no error)."""
        with self.db.write() as tx:
            self.count(tx, "delete_topic_deliveries", {"name": name})
            self.count(tx, "delete_topic_failed", {"name": name})
            self.count(tx, "delete_topic_subscriptions", {"name": name})
            self.count(tx, "delete_topic", {"name": name})

    def list_topics(self, prefix: str = "", limit: int = 1000, marker: str = "") -> tuple[list[TopicInfo], str | None]:
        """Return up to ``limit`` topics named ``prefix…`` after ``marker`` and the next marker."""
        limit = check_range("x-mns-ret-number", limit, 1, 1000)
        with self.db.read() as tx:
            rows = self.rows(tx, "list_topics", {"prefix": prefix, "marker": marker, "limit": limit + 1})
            more = len(rows) > limit
            infos = [self._info(tx, r) for r in rows[:limit]]
        return infos, (infos[-1].name if more and infos else None)

    # --- subscriptions ---------------------------------------------------------------------------------

    def _check_endpoint(self, endpoint: str) -> str:
        if endpoint.startswith(("http://", "https://")):
            try:
                parts = urlsplit(endpoint)
                parts.port  # noqa: B018  (raises ValueError on a port that is not a number in range)
            except ValueError:
                raise InvalidQueueArgument(f"The endpoint {endpoint[:200]!r} is not a valid URL.") from None
            if not parts.hostname:
                raise InvalidQueueArgument(f"The endpoint {endpoint[:200]!r} names no host.")
            try:
                self.egress.check_url(endpoint)
            except EgressRefused as exc:
                raise InvalidQueueArgument(
                    f"The endpoint {endpoint[:200]!r} is refused by the server's egress policy: {exc.message}."
                ) from None
            return endpoint
        m = _QUEUE_ENDPOINT.fullmatch(endpoint)
        if m and m.group(1) == self.region and m.group(2) == self.account_id:
            check_name(m.group(3))
            return endpoint
        raise InvalidQueueArgument(
            f"The endpoint must be an http(s) URL or acs:mns:{self.region}:{self.account_id}:queues/NAME."
        )

    def subscribe(self, topic: str, name: str, attrs: SubscriptionAttributes) -> bool:
        """Create a subscription; return False for an identical re-create.

        Raises:
            TopicNotExist: no such topic.
            InvalidQueueArgument: no or an unusable endpoint, or one the egress policy refuses (a literal
                address; a host name is checked when it is pushed to).
            SubscriptionAlreadyExist: it exists with different attributes.
        """
        check_name(name, "subscription")
        if not attrs.endpoint:
            raise InvalidQueueArgument("The element Endpoint is missing.")
        params = {
            "topic": topic,
            "name": name,
            "endpoint": self._check_endpoint(attrs.endpoint),
            "notify_strategy": attrs.notify_strategy or DEFAULT_STRATEGY,
            "notify_content_format": attrs.notify_content_format or DEFAULT_FORMAT,
            "filter_tag": attrs.filter_tag,
            "now_s": self.clock() // 1000,
        }
        with self.db.write() as tx:
            if self.row(tx, "get_topic", {"name": topic}) is None:
                raise TopicNotExist()
            if self.row(tx, "insert_subscription", params) is not None:
                return True
            existing = self.row(tx, "get_subscription", {"topic": topic, "name": name}) or {}
        keys = ("endpoint", "notify_strategy", "notify_content_format", "filter_tag")
        if any(existing.get(k) != params[k] for k in keys):
            raise SubscriptionAlreadyExist(f"The subscription {name} already exists.")
        return False

    def set_subscription_attributes(self, topic: str, name: str, attrs: SubscriptionAttributes) -> None:
        """Change the subscription's NotifyStrategy (the only settable attribute).

        Raises:
            SubscriptionNotExist: no such subscription.
        """
        params = {"topic": topic, "name": name, "notify_strategy": attrs.notify_strategy}
        with self.db.write() as tx:
            if self.row(tx, "update_subscription", {**params, "now_s": self.clock() // 1000}) is None:
                raise SubscriptionNotExist()

    def _sub_info(self, row: dict[str, Any]) -> SubscriptionInfo:
        return SubscriptionInfo(
            topic_owner=self.account_id,
            topic_name=row["topic"],
            subscription_name=row["name"],
            endpoint=row["endpoint"],
            notify_strategy=row["notify_strategy"],
            notify_content_format=row["notify_content_format"],
            create_time=int(row["created_s"]),
            last_modify_time=int(row["modified_s"]),
            filter_tag=row["filter_tag"],
        )

    def get_subscription(self, topic: str, name: str) -> SubscriptionInfo:
        """Return a subscription's attributes.

        Raises:
            SubscriptionNotExist: no such subscription.
        """
        with self.db.read() as tx:
            row = self.row(tx, "get_subscription", {"topic": topic, "name": name})
        if row is None:
            raise SubscriptionNotExist()
        return self._sub_info(row)

    def unsubscribe(self, topic: str, name: str) -> None:
        """Delete a subscription and its pending deliveries (missing: no error)."""
        with self.db.write() as tx:
            self.count(tx, "delete_subscription_deliveries", {"topic": topic, "name": name})
            self.count(tx, "delete_subscription_failed", {"topic": topic, "name": name})
            self.count(tx, "delete_subscription", {"topic": topic, "name": name})

    def delivery_state(self, topic: str) -> dict[str, dict[str, Any]]:
        """Pending pushes by subscription name: ``pending``, ``max_attempts``, ``next_ms``, ``last_error``.

        A subscription with nothing pending is absent (delivered pushes are deleted).
        """
        with self.db.read() as tx:
            return {r["subscription"]: r for r in self.rows(tx, "topic_delivery_state", {"topic": topic})}

    def failure_state(self, topic: str) -> dict[str, dict[str, Any]]:
        """Terminally failed pushes by subscription name: ``failed`` (count), ``last_failed_ms`` and
        ``last_failure`` (its class: ``timeout``, ``connection refused``, ``HTTP 500``, ``refused by policy``…).

        A subscription with no failed push is absent. Failed pushes are kept one day.
        """
        with self.db.read() as tx:
            return {r["subscription"]: r for r in self.rows(tx, "topic_failed_state", {"topic": topic})}

    def failed_deliveries(self, topic: str, limit: int = 100) -> list[dict[str, Any]]:
        """The latest ``limit`` terminally failed pushes of ``topic`` (newest first): ``id``,
        ``subscription``, ``message_id``, ``tag``, ``publish_ms``, ``attempts``, ``failed_ms``, ``failure``."""
        limit = check_range("limit", limit, 1, 1000)
        with self.db.read() as tx:
            return self.rows(tx, "list_failed_deliveries", {"topic": topic, "limit": limit})

    def list_subscriptions(
        self, topic: str, prefix: str = "", limit: int = 1000, marker: str = ""
    ) -> tuple[list[SubscriptionInfo], str | None]:
        """Return up to ``limit`` subscriptions of ``topic`` named ``prefix…`` after ``marker``.

        Raises:
            TopicNotExist: no such topic.
        """
        limit = check_range("x-mns-ret-number", limit, 1, 1000)
        params = {"topic": topic, "prefix": prefix, "marker": marker, "limit": limit + 1}
        with self.db.read() as tx:
            if self.row(tx, "get_topic", {"name": topic}) is None:
                raise TopicNotExist()
            rows = self.rows(tx, "list_subscriptions", params)
        more = len(rows) > limit
        infos = [self._sub_info(r) for r in rows[:limit]]
        return infos, (infos[-1].subscription_name if more and infos else None)

    # --- publishing ------------------------------------------------------------------------------------

    def publish(self, topic: str, message: MessageRequest) -> SendResult:
        """Publish a message: queue one delivery per matching subscription.

        Raises:
            TopicNotExist: no such topic.
            InvalidQueueArgument: body larger than the topic's MaximumMessageSize.
        """
        with self.db.write() as tx:
            return self.publish_in(tx, topic, message)

    def publish_in(self, tx: Tx, topic: str, message: MessageRequest) -> SendResult:
        """Publish inside the caller's write transaction (deliveries exist only if it commits).

        Raises:
            TopicNotExist, InvalidQueueArgument: as :meth:`publish`.
            XmlUnsafeText: a text of the message holds a character XML 1.0 cannot carry (``MalformedXML``).
        """
        check_message_text(message)
        row = self.row(tx, "get_topic", {"name": topic})
        if row is None:
            raise TopicNotExist()
        size = len(message.body.encode("utf-8"))
        if size > int(row["maximum_message_size"]):
            raise InvalidQueueArgument(
                f"The message body is {size} bytes, more than the topic's MaximumMessageSize "
                f"{row['maximum_message_size']}."
            )
        mid, md5 = new_message_id(), body_md5(message.body)
        now = self.clock()
        subs = self.rows(tx, "topic_subscriptions", {"topic": topic})
        matching = [s for s in subs if not s["filter_tag"] or s["filter_tag"] == message.tag]
        for s in matching:
            params = {
                "topic": topic,
                "subscription": s["name"],
                "message_id": mid,
                "body": message.body,
                "body_md5": md5,
                "tag": message.tag,
                "publish_ms": now,
            }
            self.count(tx, "insert_delivery", params)
        if matching:
            tx.notify(PUSH_CHANNEL)
        return SendResult(message_id=mid, body_md5=md5)
