"""``tidegate queue`` and ``tidegate topic`` against a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from tests.server import TEST_KEYS, ServerProcess
from tidegate.cli import main


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("mns-cli") / "data", env=TEST_KEYS)
    srv.start()
    yield srv
    srv.stop()


def test_queue_and_topic_commands(server: ServerProcess) -> None:
    env = {**TEST_KEYS, "TIDEGATE_ENDPOINT": server.url}
    runner = CliRunner()

    def ok(*args: str) -> str:
        r = runner.invoke(main, list(args), env=env)
        assert r.exit_code == 0, r.output
        return r.output

    assert ok("queue", "create", "jobs", "--visibility-timeout", "60") == "created queue jobs\n"
    assert ok("queue", "create", "jobs", "--visibility-timeout", "60") == "queue jobs already exists (unchanged)\n"
    assert ok("queue", "list", "--prefix", "jo").split() == ["jobs"]
    mid = ok("queue", "send", "jobs", "hello world", "--priority", "1").strip()
    assert len(mid) == 32
    line = ok("queue", "receive", "jobs", "--wait", "1")
    got_id, handle, body = line.rstrip("\n").split("\t")
    assert (got_id, body) == (mid, "hello world") and handle
    assert ok("queue", "delete-message", "jobs", handle) == f"deleted message {handle} of queue jobs\n"
    r = runner.invoke(main, ["queue", "receive", "jobs"], env=env)
    assert r.exit_code == 0 and "no message" in r.output

    assert ok("topic", "create", "news") == "created topic news\n"
    assert ok("topic", "create", "news") == "topic news already exists (unchanged)\n"
    assert ok("topic", "list").split() == ["news"]
    subscribe = ("topic", "subscribe", "news", "toq", "acs:mns:cn-hangzhou:1234567890123456:queues/jobs")
    assert ok(*subscribe, "--format", "SIMPLIFIED") == "subscribed toq to news\n"
    assert ok(*subscribe, "--format", "SIMPLIFIED") == "subscription toq of news already exists (unchanged)\n"
    ok("topic", "publish", "news", "extra!")
    line = ok("queue", "receive", "jobs", "--wait", "10")
    assert line.rstrip("\n").split("\t")[2] == "extra!"
    assert ok("topic", "unsubscribe", "news", "toq") == "unsubscribed toq from news\n"
    assert ok("topic", "unsubscribe", "news", "toq") == "news has no subscription toq (nothing removed)\n"
    assert ok("topic", "delete", "news") == "deleted topic news\n"
    assert ok("topic", "delete", "news") == "topic news does not exist (nothing deleted)\n"
    assert ok("queue", "delete", "jobs") == "deleted queue jobs\n"
    assert ok("queue", "delete", "jobs") == "queue jobs does not exist (nothing deleted)\n"

    r = runner.invoke(main, ["queue", "send", "jobs", "x"], env=env)
    assert r.exit_code == 1
    assert r.output == "Error: QueueNotExist: The queue name you provided is not exist.\n"  # the code once
    r = runner.invoke(main, ["queue", "list"], env={**env, "TIDEGATE_ACCESS_KEY_SECRET": "wrong"})
    assert r.exit_code == 1 and "SignatureDoesNotMatch" in r.output
