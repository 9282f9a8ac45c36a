"""``tidegate queue``: create, list, send, receive and delete against a running server (signed requests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import quote

import click

from tidegate.cli._app import main
from tidegate.cli._client import Connection, connection_options
from tidegate.mq.client import MnsClient, MnsClientError, fields, seg
from tidegate.mq.wire import (
    MAX_MESSAGE_SIZE,
    MIN_MESSAGE_SIZE,
    MessageRequest,
    QueueAttributes,
    encode_message,
    encode_queue_attributes,
    encode_receipt_handles,
)

T = TypeVar("T")


def run(conn: Connection, action: Callable[[MnsClient], T]) -> T:
    """Run ``action`` with a client of ``conn``; errors reach the root command, which reports them."""
    client = conn.mns()
    try:
        return action(client)
    finally:
        client.close()


def exists(client: MnsClient, path: str) -> bool:
    """Whether the queue / topic / subscription at ``path`` exists (a 404 answer means it does not)."""
    try:
        client.request("GET", path)
    except MnsClientError as e:
        if e.status == 404:
            return False
        raise
    return True


def delete_if_exists(conn: Connection, path: str) -> bool:
    """DELETE the queue / topic / subscription at ``path`` if it exists; False when there was none.

    The service answers a delete of a missing resource with success too, so the command asks first, to
    tell the user what happened.
    """

    def action(c: MnsClient) -> bool:
        if not exists(c, path):
            return False
        c.request("DELETE", path)
        return True

    return run(conn, action)


def created_or_unchanged(status: int, what: str) -> str:
    """The line for a create that answered ``status``: 201 created, 204 it was there already, the same."""
    return f"created {what}" if status == 201 else f"{what} already exists (unchanged)"


@main.group("queue")
def queue_group() -> None:
    """Manage queues and their messages on a running tidegate server (MNS protocol)."""


@queue_group.command("create")
@click.argument("name")
@click.option("--visibility-timeout", type=int, help="Seconds a received message stays invisible (1-43200).")
@click.option("--delay", "delay_seconds", type=int, help="Default delay of new messages (0-604800 s).")
@click.option("--retention", type=int, help="MessageRetentionPeriod in seconds.")
@click.option("--max-size", type=int, help=f"MaximumMessageSize in bytes ({MIN_MESSAGE_SIZE}-{MAX_MESSAGE_SIZE}).")
@click.option("--polling-wait", type=int, help="Default long-poll seconds (0-30).")
@connection_options
def create(
    name: str,
    visibility_timeout: int | None,
    delay_seconds: int | None,
    retention: int | None,
    max_size: int | None,
    polling_wait: int | None,
    conn: Connection,
) -> None:
    """Create queue NAME (an existing queue with the same attributes is left unchanged)."""
    attrs = QueueAttributes(
        visibility_timeout=visibility_timeout,
        delay_seconds=delay_seconds,
        message_retention_period=retention,
        maximum_message_size=max_size,
        polling_wait_seconds=polling_wait,
    )
    r = run(conn, lambda c: c.request("PUT", f"/queues/{seg(name)}", body=encode_queue_attributes(attrs)))
    click.echo(created_or_unchanged(r.status, f"queue {name}"))


@queue_group.command("list")
@click.option("--prefix", default="", help="Only queues whose name starts with this.")
@connection_options
def list_(prefix: str, conn: Connection) -> None:
    """List queues (one name per line)."""

    def action(c: MnsClient) -> None:
        for name in c.list_names("/queues", "Queue", prefix):
            click.echo(name)

    run(conn, action)


@queue_group.command("delete")
@click.argument("name")
@connection_options
def delete(name: str, conn: Connection) -> None:
    """Delete queue NAME and its messages (a queue that does not exist is reported, not an error)."""
    deleted = delete_if_exists(conn, f"/queues/{seg(name)}")
    click.echo(f"deleted queue {name}" if deleted else f"queue {name} does not exist (nothing deleted)")


@queue_group.command("send")
@click.argument("name")
@click.argument("body")
@click.option("--priority", type=click.IntRange(1, 16), help="1 (first) to 16; default 8.")
@click.option("--delay", type=int, help="Seconds before the message can be received.")
@connection_options
def send(name: str, body: str, priority: int | None, delay: int | None, conn: Connection) -> None:
    """Send BODY (verbatim, no base64) to queue NAME; print the message id."""
    msg = encode_message(MessageRequest(body=body, priority=priority, delay_seconds=delay))
    run(
        conn,
        lambda c: click.echo(fields(c.request("POST", f"/queues/{seg(name)}/messages", body=msg).xml())["MessageId"]),
    )


@queue_group.command("receive")
@click.argument("name")
@click.option("--wait", type=click.IntRange(0, 30), default=0, show_default=True, help="Long-poll seconds (0-30).")
@click.option("--count", type=click.IntRange(1, 16), default=1, show_default=True, help="Messages to receive (1-16).")
@click.option("--delete/--keep", default=False, help="Delete the messages once printed.")
@connection_options
def receive(name: str, wait: int, count: int, delete: bool, conn: Connection) -> None:
    """Receive messages from queue NAME: print ``message-id<TAB>receipt-handle<TAB>body`` per message."""

    def action(c: MnsClient) -> None:
        try:
            r = c.request("GET", f"/queues/{seg(name)}/messages", query=f"numOfMessages={count}&waitseconds={wait}")
        except MnsClientError as e:
            if e.error_code == "MessageNotExist":
                click.echo("no message", err=True)
                return
            raise
        handles = []
        for m in r.xml().all("Message"):
            f = fields(m)
            handles.append(f["ReceiptHandle"])
            click.echo(f"{f['MessageId']}\t{f['ReceiptHandle']}\t{f['MessageBody']}")
        if delete and handles:
            c.request("DELETE", f"/queues/{seg(name)}/messages", body=encode_receipt_handles(handles))

    run(conn, action)


@queue_group.command("delete-message")
@click.argument("name")
@click.argument("receipt_handle")
@connection_options
def delete_message(name: str, receipt_handle: str, conn: Connection) -> None:
    """Delete a received message of queue NAME by its receipt handle."""
    query = f"ReceiptHandle={quote(receipt_handle, safe='')}"
    run(conn, lambda c: c.request("DELETE", f"/queues/{seg(name)}/messages", query=query))
    click.echo(f"deleted message {receipt_handle} of queue {name}")
