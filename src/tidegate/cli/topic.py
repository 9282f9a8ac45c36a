"""``tidegate topic``: create, list, delete, publish, subscribe and unsubscribe against a running server."""

from __future__ import annotations

import click

from tidegate.cli._app import main
from tidegate.cli._client import Connection, connection_options
from tidegate.cli.queue import created_or_unchanged, delete_if_exists, run
from tidegate.mq.client import MnsClient, fields, seg
from tidegate.mq.wire import (
    MAX_MESSAGE_SIZE,
    MIN_MESSAGE_SIZE,
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
@click.option("--max-size", type=int, help=f"MaximumMessageSize in bytes ({MIN_MESSAGE_SIZE}-{MAX_MESSAGE_SIZE}).")
@connection_options
def create(name: str, max_size: int | None, conn: Connection) -> None:
    """Create topic NAME (an existing topic with the same attributes is left unchanged)."""
    body = encode_topic_attributes(TopicAttributes(maximum_message_size=max_size))
    r = run(conn, lambda c: c.request("PUT", f"/topics/{seg(name)}", body=body))
    click.echo(created_or_unchanged(r.status, f"topic {name}"))


@topic_group.command("list")
@click.option("--prefix", default="", help="Only topics whose name starts with this.")
@connection_options
def list_(prefix: str, conn: Connection) -> None:
    """List topics (one name per line)."""

    def action(c: MnsClient) -> None:
        for name in c.list_names("/topics", "Topic", prefix):
            click.echo(name)

    run(conn, action)


@topic_group.command("delete")
@click.argument("name")
@connection_options
def delete(name: str, conn: Connection) -> None:
    """Delete topic NAME, its subscriptions and pending pushes (a topic that does not exist is reported)."""
    deleted = delete_if_exists(conn, f"/topics/{seg(name)}")
    click.echo(f"deleted topic {name}" if deleted else f"topic {name} does not exist (nothing deleted)")


@topic_group.command("publish")
@click.argument("name")
@click.argument("body")
@click.option("--tag", help="MessageTag (subscriptions with a FilterTag receive only matching messages).")
@connection_options
def publish(name: str, body: str, tag: str | None, conn: Connection) -> None:
    """Publish BODY to topic NAME; print the message id."""
    msg = encode_message(MessageRequest(body=body, tag=tag))
    run(
        conn,
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
    name: str, subscription: str, target: str, fmt: str, strategy: str, filter_tag: str | None, conn: Connection
) -> None:
    """Subscribe TARGET (http(s) URL or acs:mns:REGION:ACCOUNT:queues/Q) to topic NAME."""
    attrs = SubscriptionAttributes(
        endpoint=target, notify_content_format=fmt, notify_strategy=strategy, filter_tag=filter_tag
    )
    path = f"/topics/{seg(name)}/subscriptions/{seg(subscription)}"
    r = run(conn, lambda c: c.request("PUT", path, body=encode_subscription(attrs)))
    if r.status == 201:
        click.echo(f"subscribed {subscription} to {name}")
    else:
        click.echo(f"subscription {subscription} of {name} already exists (unchanged)")


@topic_group.command("unsubscribe")
@click.argument("name")
@click.argument("subscription")
@connection_options
def unsubscribe(name: str, subscription: str, conn: Connection) -> None:
    """Remove SUBSCRIPTION from topic NAME."""
    if delete_if_exists(conn, f"/topics/{seg(name)}/subscriptions/{seg(subscription)}"):
        click.echo(f"unsubscribed {subscription} from {name}")
    else:
        click.echo(f"{name} has no subscription {subscription} (nothing removed)")
