"""Deploy files: both examples parse; the format's errors name the place."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO
from tidegate.deploy import DeployFileError, load_deploy_file


def test_topic_example_parses() -> None:
    plan = load_deploy_file(REPO / "examples" / "topic-callback" / "deploy.yaml")
    (fn,) = plan.functions
    assert (fn.service, fn.name) == ("fnf-demo", "callback")
    assert fn.body["code_dir"] == str((REPO / "examples" / "topic-callback" / "functions" / "callback").resolve())
    assert fn.body["kind"] == "http" and fn.body["http_trigger"] == {"methods": ["GET", "POST"]}
    (topic,) = plan.topics
    (sub,) = topic.subscriptions
    assert topic.name == "fnf-demo-topic" and sub.endpoint.function == ("fnf-demo", "callback")
    assert sub.notify_content_format == "JSON"
    (flow,) = plan.flows
    assert "acs:mns:::/topics/fnf-demo-topic/messages" in flow.definition


def test_queue_example_parses() -> None:
    plan = load_deploy_file(REPO / "examples" / "queue-callback" / "deploy.yaml")
    (queue,) = plan.queues
    assert queue.name == "fnf-demo" and queue.attributes == {"visibility_timeout": 30, "polling_wait_seconds": 0}
    assert "acs:mns:::/queues/fnf-demo/messages" in plan.flows[0].definition


def test_inline_definition_schedules_and_spellings(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "d.yaml").write_text(
        """
queues:
  q1: {visibility_timeout: 5, LoggingEnabled: true}
topics:
  t1:
    maximumMessageSize: 2048
    subscriptions:
      s1: {endpoint: {queue: q1}, notify_content_format: SIMPLIFIED}
      s2: {Endpoint: "http://example.invalid/x"}
functions:
  svc/fn: {code: code, httpTrigger: true}
flows:
  f1:
    definition: {version: v1, type: flow, steps: [{type: pass, name: p}]}
    schedules:
      tick: {cron: "@every 1m", payload: '{"a": 1}', enable: false}
"""
    )
    plan = load_deploy_file(tmp_path / "d.yaml")
    assert plan.queues[0].attributes == {"visibility_timeout": 5, "logging_enabled": True}
    assert plan.topics[0].attributes == {"maximum_message_size": 2048}
    assert plan.topics[0].subscriptions[0].endpoint.queue == "q1"
    assert plan.topics[0].subscriptions[1].endpoint.url == "http://example.invalid/x"
    assert plan.functions[0].body == {
        "code_dir": str(tmp_path / "code"),
        "http_trigger": {"methods": []},
        "kind": "http",
    }
    assert "type: pass" in plan.flows[0].definition
    (tick,) = plan.flows[0].schedules
    assert tick.payload == {"a": 1} and tick.enable is False


_SCHEDULE = "flows: {{f: {{definition: x, schedules: {{s: {{cron: '@every 1m', payload: {}}}}}}}}}"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("bogus: {}", "unknown sections"),
        ("queues: {q: {Color: 1}}", "queues.q: unknown attribute"),
        ("queues: {q: {VisibilityTimeout: soon}}", "expected an integer"),
        ("functions: {fn: {code: .}}", "SERVICE/NAME"),
        ("functions: {s/fn: {handler: a.b}}", "'code'"),
        ("flows: {f: {}}", "exactly one"),
        ("flows: {f: {definitionFile: missing.yaml}}", "cannot read"),
        ("topics: {t: {subscriptions: {s: {endpoint: {function: nope}}}}}", "endpoint"),
        ("queues: [a, b]", "expected a mapping"),
        ("queues: {q: {VisibilityTimeout: 1}", "while parsing"),
        (_SCHEDULE.format("'{\"a\": NaN}'"), r"f.schedules.s.payload: the payload is not valid JSON: NaN"),
        (_SCHEDULE.format("'{\"a\": 1e999}'"), "out of range"),
        (_SCHEDULE.format('\'{"a": "\\ud800"}\''), r"lone UTF-16 surrogate at \$\.a"),
        (_SCHEDULE.format("'" + "[" * 100 + "'"), "nested deeper than 64"),
        (_SCHEDULE.format("'{not json'"), "not valid JSON"),
        (_SCHEDULE.format("{a: [.nan]}"), r"payload: the payload holds nan at \$\.a\[0\]"),
        (_SCHEDULE.format('{a: "\\ud800"}'), "lone UTF-16 surrogate"),
    ],
)
def test_errors_name_the_place(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text(text)
    with pytest.raises(DeployFileError, match=needle):
        load_deploy_file(path)


def test_deploy_files_order_is_shared_by_deploy_and_destroy(tmp_path: Path) -> None:
    from tidegate.deploy.serve import deploy_files

    for sub in ("b", "a"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "deploy.yaml").write_text("{}")
    (tmp_path / "deploy.yaml").write_text("{}")
    (tmp_path / "notes.yaml").write_text("{}")
    assert deploy_files(tmp_path) == [tmp_path / "deploy.yaml", tmp_path / "a/deploy.yaml", tmp_path / "b/deploy.yaml"]
    assert deploy_files(tmp_path / "a/deploy.yaml") == [tmp_path / "a/deploy.yaml"]
