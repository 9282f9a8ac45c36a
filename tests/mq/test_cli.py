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

    assert "created queue jobs" in ok("queue", "create", "jobs", "--visibility-timeout", "60")
    assert ok("queue", "list", "--prefix", "jo").split() == ["jobs"]
    mid = ok("queue", "send", "jobs", "hello world", "--priority", "1").strip()
    assert len(mid) == 32
    line = ok("queue", "receive", "jobs", "--wait", "1", "--delete")
    got_id, handle, body = line.rstrip("\n").split("\t")
    assert (got_id, body) == (mid, "hello world") and handle
    r = runner.invoke(main, ["queue", "receive", "jobs"], env=env)
    assert r.exit_code == 0 and "no message" in r.output

    ok("topic", "create", "news")
    assert ok("topic", "list").split() == ["news"]
    ok(
        "topic",
        "subscribe",
        "news",
        "toq",
        "acs:mns:cn-hangzhou:1234567890123456:queues/jobs",
        "--format",
        "SIMPLIFIED",
    )
    ok("topic", "publish", "news", "extra!")
    line = ok("queue", "receive", "jobs", "--wait", "10")
    assert line.rstrip("\n").split("\t")[2] == "extra!"
    assert "unsubscribed" in ok("topic", "unsubscribe", "news", "toq")
    ok("topic", "delete", "news")
    ok("queue", "delete", "jobs")

    r = runner.invoke(main, ["queue", "send", "jobs", "x"], env=env)
    assert r.exit_code == 1 and "QueueNotExist" in r.output
    r = runner.invoke(main, ["queue", "list"], env={**env, "TIDEGATE_ACCESS_KEY_SECRET": "wrong"})
    assert r.exit_code == 1 and "SignatureDoesNotMatch" in r.output
