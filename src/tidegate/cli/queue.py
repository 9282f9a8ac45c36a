"""``tidegate queue``: create, list, send, receive and delete against a running server (signed requests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from tidegate.cli._app import main
from tidegate.mq.client import MnsClient, MnsClientError, fields, seg
from tidegate.mq.wire import (
    MessageRequest,
    QueueAttributes,
    encode_message,
    encode_queue_attributes,
    encode_receipt_handles,
)

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_ENDPOINT = "http://127.0.0.1:8787"


def connection_options(f: F) -> F:
    """Add ``--endpoint``, ``--access-key-id`` and ``--access-key-secret`` (environment defaults)."""
    f = click.option(
        "--access-key-secret",
        envvar="TIDEGATE_ACCESS_KEY_SECRET",
        required=True,
        help="Secret [env TIDEGATE_ACCESS_KEY_SECRET].",
    )(f)
    f = click.option(
        "--access-key-id", envvar="TIDEGATE_ACCESS_KEY_ID", required=True, help="[env TIDEGATE_ACCESS_KEY_ID]"
    )(f)
    return click.option(
        "--endpoint", envvar="TIDEGATE_ENDPOINT", default=DEFAULT_ENDPOINT, show_default=True, help="Server URL."
    )(f)


def client_from(opts: dict[str, Any]) -> MnsClient:
    """Build a client from the connection options (removed from ``opts``)."""
    return MnsClient(opts.pop("endpoint"), opts.pop("access_key_id"), opts.pop("access_key_secret"))


def run(opts: dict[str, Any], action: Callable[[MnsClient], object]) -> None:
    """Run ``action`` with a client; an MNS error becomes a click error (exit status 1)."""
    client = client_from(opts)
    try:
        action(client)
    except MnsClientError as e:
        raise click.ClickException(f"{e.error_code}: {e.message}") from None
    finally:
        client.close()


@main.group("queue")
def queue_group() -> None:
    """Manage queues and their messages on a running tidegate server (MNS protocol)."""


@queue_group.command("create")
@click.argument("name")
@click.option("--visibility-timeout", type=int, help="Seconds a received message stays invisible (1-43200).")
@click.option("--delay", "delay_seconds", type=int, help="Default delay of new messages (0-604800 s).")
@click.option("--retention", type=int, help="MessageRetentionPeriod in seconds.")
@click.option("--max-size", type=int, help="MaximumMessageSize in bytes (1024-65536).")
@click.option("--polling-wait", type=int, help="Default long-poll seconds (0-30).")
@connection_options
def create(name: str, **opts: Any) -> None:
    """Create queue NAME."""
    attrs = QueueAttributes(
        visibility_timeout=opts.pop("visibility_timeout"),
        delay_seconds=opts.pop("delay_seconds"),
        message_retention_period=opts.pop("retention"),
        maximum_message_size=opts.pop("max_size"),
        polling_wait_seconds=opts.pop("polling_wait"),
    )
    run(opts, lambda c: c.request("PUT", f"/queues/{seg(name)}", body=encode_queue_attributes(attrs)))
    click.echo(f"created queue {name}")


@queue_group.command("list")
@click.option("--prefix", default="", help="Only queues whose name starts with this.")
@connection_options
def list_(prefix: str, **opts: Any) -> None:
    """List queues (one name per line)."""

    def action(c: MnsClient) -> None:
        for name in c.list_names("/queues", "Queue", prefix):
            click.echo(name)

    run(opts, action)


@queue_group.command("delete")
@click.argument("name")
@connection_options
def delete(name: str, **opts: Any) -> None:
    """Delete queue NAME and its messages."""
    run(opts, lambda c: c.request("DELETE", f"/queues/{seg(name)}"))
    click.echo(f"deleted queue {name}")


@queue_group.command("send")
@click.argument("name")
@click.argument("body")
@click.option("--priority", type=int, help="1 (first) to 16; default 8.")
@click.option("--delay", type=int, help="Seconds before the message can be received.")
@connection_options
def send(name: str, body: str, priority: int | None, delay: int | None, **opts: Any) -> None:
    """Send BODY (verbatim, no base64) to queue NAME; print the message id."""
    msg = encode_message(MessageRequest(body=body, priority=priority, delay_seconds=delay))
    run(
        opts,
        lambda c: click.echo(fields(c.request("POST", f"/queues/{seg(name)}/messages", body=msg).xml())["MessageId"]),
    )


@queue_group.command("receive")
@click.argument("name")
@click.option("--wait", type=int, default=0, show_default=True, help="Long-poll seconds (0-30).")
@click.option("--count", type=int, default=1, show_default=True, help="Messages to receive (1-16).")
@click.option("--delete/--keep", default=False, help="Delete the messages once printed.")
@connection_options
def receive(name: str, wait: int, count: int, delete: bool, **opts: Any) -> None:
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

    run(opts, action)


@queue_group.command("delete-message")
@click.argument("name")
@click.argument("receipt_handle")
@connection_options
def delete_message(name: str, receipt_handle: str, **opts: Any) -> None:
    """Delete a received message of queue NAME by its receipt handle."""
    run(opts, lambda c: c.request("DELETE", f"/queues/{seg(name)}/messages", query=f"ReceiptHandle={receipt_handle}"))
