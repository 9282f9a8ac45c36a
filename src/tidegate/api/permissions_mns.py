"""The MNS operations' RAM actions and resources (MNS's API authorization table; docs/auth.md).

Keyed by the name of the handler in :mod:`tidegate.api.mns_ops` that serves the operation; a handler that
serves two operations picks by the query, as the handler itself does (``?peekonly=true`` is PeekMessage,
``?metaoverride=true`` sets attributes instead of creating).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tidegate.api.permissions import Need, Needs, Where
from tidegate.ram import arns

__all__ = ["MNS_NEEDS", "mns_needs"]

Query = Mapping[str, str]
MnsNeeds = Callable[[Where, tuple[str, ...], Query], Needs]


def _flag(query: Query, name: str) -> bool:
    return (query.get(name) or "").lower() == "true"


def _queue(action: str, override: str | None = None) -> MnsNeeds:
    def needs(w: Where, names: tuple[str, ...], query: Query) -> Needs:
        chosen = override if override is not None and _flag(query, "metaoverride") else action
        return [Need(f"mns:{chosen}", arns.mns_queue(w.region, w.account, names[0]))]

    return needs


def _messages(action: str) -> MnsNeeds:
    def needs(w: Where, names: tuple[str, ...], query: Query) -> Needs:
        chosen = "PeekMessage" if action == "ReceiveMessage" and _flag(query, "peekonly") else action
        return [Need(f"mns:{chosen}", arns.mns_queue_messages(w.region, w.account, names[0]))]

    return needs


def _topic(action: str, override: str | None = None) -> MnsNeeds:
    def needs(w: Where, names: tuple[str, ...], query: Query) -> Needs:
        chosen = override if override is not None and _flag(query, "metaoverride") else action
        return [Need(f"mns:{chosen}", arns.mns_topic(w.region, w.account, names[0]))]

    return needs


def _subscription(action: str, override: str | None = None) -> MnsNeeds:
    def needs(w: Where, names: tuple[str, ...], query: Query) -> Needs:
        chosen = override if override is not None and _flag(query, "metaoverride") else action
        return [Need(f"mns:{chosen}", arns.mns_subscription(w.region, w.account, names[0], names[1]))]

    return needs


#: Every MNS handler and what its requests need (tests/api/test_permissions.py walks the MNS routes).
MNS_NEEDS: Mapping[str, MnsNeeds] = {
    "list_queues": lambda w, n, q: [Need("mns:ListQueue", arns.mns_queues(w.region, w.account))],
    "put_queue": _queue("CreateQueue", "SetQueueAttributes"),
    "get_queue": _queue("GetQueueAttributes"),
    "delete_queue": _queue("DeleteQueue"),
    "send_messages": _messages("SendMessage"),
    "receive_messages": _messages("ReceiveMessage"),
    "delete_messages": _messages("DeleteMessage"),
    "change_visibility": _messages("ChangeMessageVisibility"),
    "list_topics": lambda w, n, q: [Need("mns:ListTopic", arns.mns_topics(w.region, w.account))],
    "put_topic": _topic("CreateTopic", "SetTopicAttributes"),
    "get_topic": _topic("GetTopicAttributes"),
    "delete_topic": _topic("DeleteTopic"),
    "publish": lambda w, n, q: [Need("mns:PublishMessage", arns.mns_topic_messages(w.region, w.account, n[0]))],
    "list_subscriptions": lambda w, n, q: [
        Need("mns:ListSubscriptionByTopic", arns.mns_subscriptions(w.region, w.account, n[0]))
    ],
    "put_subscription": _subscription("Subscribe", "SetSubscriptionAttributes"),
    "get_subscription": _subscription("GetSubscriptionAttributes"),
    "delete_subscription": _subscription("Unsubscribe"),
    # Account attributes have no resource of their own: "all resources".
    "get_account": lambda w, n, q: [Need("mns:GetAccountAttributes", "*")],
    "put_account": lambda w, n, q: [Need("mns:SetAccountAttributes", "*")],
}


def mns_needs(w: Where, handler: str, names: tuple[str, ...], query: Query) -> Needs:
    """What one MNS request needs: ``handler`` is the name of its handler, ``names`` the queue/topic/
    subscription names of its path, ``query`` its query (names lower-cased)."""
    return MNS_NEEDS[handler](w, names, query)
