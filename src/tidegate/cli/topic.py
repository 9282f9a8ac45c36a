"""``tidegate topic``: create, list, delete, publish, subscribe and unsubscribe against a running server."""

from __future__ import annotations

from typing import Any

import click

from tidegate.cli._app import main
from tidegate.cli.queue import connection_options, run
from tidegate.mq.client import MnsClient, fields, seg
from tidegate.mq.wire import (
    NOTIFY_FORMATS,
    NOTIFY_STRATEGIES,
    MessageRequest,
    SubscriptionAttributes,
    TopicAttributes,
    encode_message,
    encode_subscription,
    encode_topic_attributes,
)


@main.group("topic")
def topic_group() -> None:
    """Manage topics and subscriptions on a running tidegate server (MNS protocol)."""


@topic_group.command("create")
@click.argument("name")
@click.option("--max-size", type=int, help="MaximumMessageSize in bytes (1024-65536).")
@connection_options
def create(name: str, max_size: int | None, **opts: Any) -> None:
    """Create topic NAME."""
    body = encode_topic_attributes(TopicAttributes(maximum_message_size=max_size))
    run(opts, lambda c: c.request("PUT", f"/topics/{seg(name)}", body=body))
    click.echo(f"created topic {name}")


@topic_group.command("list")
@click.option("--prefix", default="", help="Only topics whose name starts with this.")
@connection_options
def list_(prefix: str, **opts: Any) -> None:
    """List topics (one name per line)."""

    def action(c: MnsClient) -> None:
        for name in c.list_names("/topics", "Topic", prefix):
            click.echo(name)

    run(opts, action)


@topic_group.command("delete")
@click.argument("name")
@connection_options
def delete(name: str, **opts: Any) -> None:
    """Delete topic NAME, its subscriptions and pending pushes."""
    run(opts, lambda c: c.request("DELETE", f"/topics/{seg(name)}"))
    click.echo(f"deleted topic {name}")


@topic_group.command("publish")
@click.argument("name")
@click.argument("body")
@click.option("--tag", help="MessageTag (subscriptions with a FilterTag receive only matching messages).")
@connection_options
def publish(name: str, body: str, tag: str | None, **opts: Any) -> None:
    """Publish BODY to topic NAME; print the message id."""
    msg = encode_message(MessageRequest(body=body, tag=tag))
    run(
        opts,
        lambda c: click.echo(fields(c.request("POST", f"/topics/{seg(name)}/messages", body=msg).xml())["MessageId"]),
    )


@topic_group.command("subscribe")
@click.argument("name")
@click.argument("subscription")
@click.argument("target")
@click.option("--format", "fmt", type=click.Choice(NOTIFY_FORMATS), default="XML", show_default=True)
@click.option("--strategy", type=click.Choice(NOTIFY_STRATEGIES), default="BACKOFF_RETRY", show_default=True)
@click.option("--filter-tag", help="Deliver only messages with this MessageTag.")
@connection_options
def subscribe(
    name: str, subscription: str, target: str, fmt: str, strategy: str, filter_tag: str | None, **opts: Any
) -> None:
    """Subscribe TARGET (http(s) URL or acs:mns:REGION:ACCOUNT:queues/Q) to topic NAME."""
    attrs = SubscriptionAttributes(
        endpoint=target, notify_content_format=fmt, notify_strategy=strategy, filter_tag=filter_tag
    )
    path = f"/topics/{seg(name)}/subscriptions/{seg(subscription)}"
    run(opts, lambda c: c.request("PUT", path, body=encode_subscription(attrs)))
    click.echo(f"subscribed {subscription} to {name}")


@topic_group.command("unsubscribe")
@click.argument("name")
@click.argument("subscription")
@connection_options
def unsubscribe(name: str, subscription: str, **opts: Any) -> None:
    """Remove SUBSCRIPTION from topic NAME."""
    run(opts, lambda c: c.request("DELETE", f"/topics/{seg(name)}/subscriptions/{seg(subscription)}"))
    click.echo(f"unsubscribed {subscription} from {name}")
