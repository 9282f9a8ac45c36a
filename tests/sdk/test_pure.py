"""The SDK's pure parts: its copy of the signatures against the server's verifier, task parsing, configuration."""

from __future__ import annotations

import base64
import json

import pytest

from tidegate.auth.signatures import content_md5_ok, sign_mns, verify_rpc
from tidegate.sdk import (
    BodyEncoding,
    ClientConfig,
    ConfigError,
    Credentials,
    InvalidTaskMessage,
    TaskFailed,
    TaskFormat,
    parse_task,
)
from tidegate.sdk._sign import content_md5, form, http_date, mns_signature, rpc_signature
from tidegate.sdk.task import encode_output, failure_of


@pytest.mark.parametrize(
    "target",
    [
        "/queues/fnf-demo/messages?numOfMessages=16&waitseconds=10",
        "/queues/q/messages?ReceiptHandle=a+b/c=&VisibilityTimeout=0",
    ],
)
def test_mns_signature_matches_the_server(target: str) -> None:
    body = b"<ReceiptHandles/>"
    h = {
        "x-mns-version": "2015-06-06",
        "date": http_date(),
        "content-type": "text/xml",
        "content-md5": content_md5(body),
    }
    assert mns_signature("s3cr\u00e9t", "DELETE", target, h) == sign_mns("s3cr\u00e9t", "DELETE", target, h)
    assert content_md5_ok(body, h["content-md5"])


def test_rpc_signature_matches_the_server() -> None:
    params = {
        "Action": "ReportTaskSucceeded",
        "TaskToken": "tt+/=~ é",
        "Output": '{"a": "b c*"}',
        "SignatureMethod": "HMAC-SHA1",
        "Empty": "",
    }
    params["Signature"] = rpc_signature("secret", "POST", params)
    assert verify_rpc("POST", params, "secret")
    assert not verify_rpc("POST", {**params, "Output": "{}"}, "secret")
    assert form({"a b": "c+d"}) == "a%20b=c%2Bd"


@pytest.mark.parametrize(
    ("body", "token", "payload"),
    [
        ('{"task_token": "t1", "key": "value"}', "t1", {"key": "value"}),  # the queue document
        ('{"messageBody": "hello world", "taskToken": "t2"}', "t2", {"messageBody": "hello world"}),  # the topic one
        (base64.b64encode(b'{"task_token": "t3", "k": 1}').decode(), "t3", {"k": 1}),  # the MNS SDKs' encoding
        (  # a JSON notification of a topic → queue subscription
            json.dumps({"TopicName": "t", "MessageId": "m", "Message": '{"taskToken": "t4", "x": 2}'}),
            "t4",
            {"x": 2},
        ),
        (  # an XML notification
            '<?xml version="1.0"?><Notification xmlns="http://mns.aliyuncs.com/doc/v1/"><TopicName>t</TopicName>'
            '<MessageId>m</MessageId><Message>{"task_token": "t5"}</Message></Notification>',
            "t5",
            {},
        ),
    ],
)
def test_document_shapes(body: str, token: str, payload: object) -> None:
    task = parse_task(body, TaskFormat(), "mid", 2)
    assert (task.token, task.input, task.message_id, task.dequeue_count) == (token, payload, "mid", 2)


def test_configured_token_and_payload_fields() -> None:
    fmt = TaskFormat(token_fields="meta.token", payload_field="job")
    task = parse_task('{"meta": {"token": "t", "other": 1}, "job": [1, 2]}', fmt)
    assert (task.token, task.input) == ("t", [1, 2])
    rest = parse_task('{"meta": {"token": "t", "other": 1}, "x": 1}', TaskFormat(token_fields=("meta.token",)))
    assert rest.input == {"meta": {"other": 1}, "x": 1}
    with pytest.raises(ValueError, match="token_fields"):
        TaskFormat(token_fields=())


@pytest.mark.parametrize(
    ("body", "fmt", "says"),
    [
        ('{"key": "value"}', TaskFormat(), "no task token"),
        ("not json", TaskFormat(), "neither a JSON object nor base64"),
        ("[1, 2]", TaskFormat(encoding=BodyEncoding.RAW), "not a JSON object"),
        ('{"task_token": 5}', TaskFormat(), "no task token"),
        ('{"task_token": "t"}', TaskFormat(encoding=BodyEncoding.BASE64), "neither"),
    ],
)
def test_invalid_messages(body: str, fmt: TaskFormat, says: str) -> None:
    with pytest.raises(InvalidTaskMessage, match=says):
        parse_task(body, fmt, "m1")


def test_outputs_and_failures() -> None:
    assert encode_output(None) == "{}"
    assert encode_output('{"a":1}') == '{"a":1}'
    assert encode_output({"é": [1]}) == '{"é":[1]}'
    with pytest.raises(TypeError):
        encode_output({"x": object()})
    assert failure_of(TaskFailed("E", "c")) == ("E", "c")
    assert failure_of(KeyError("k")) == ("KeyError", "'k'")
    error, cause = failure_of(ValueError("x" * 10000))
    assert error == "ValueError" and len(cause) == 4096 and cause.endswith("…")


def test_config_from_env() -> None:
    env = {
        "TIDEGATE_ENDPOINT": "http://127.0.0.1:8787/",
        "TIDEGATE_ACCESS_KEY_ID": "a",
        "TIDEGATE_ACCESS_KEY_SECRET": "b",
    }
    c = ClientConfig.from_env(env=env)
    assert (c.mns_endpoint, c.fnf_endpoint, c.current_credentials()) == (
        "http://127.0.0.1:8787",
        "http://127.0.0.1:8787",
        Credentials("a", "b"),
    )
    alibaba = {
        "ALIBABA_CLOUD_REGION_ID": "cn-shanghai",
        "ALIBABA_CLOUD_ACCOUNT_ID": "123",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.x",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "y",
        "ALIBABA_CLOUD_SECURITY_TOKEN": "tok",
    }
    c = ClientConfig.from_env(env=alibaba)
    assert c.mns_endpoint == "https://123.mns.cn-shanghai.aliyuncs.com"
    assert c.fnf_endpoint == "https://cn-shanghai.fnf.aliyuncs.com" and c.region == "cn-shanghai"
    assert c.current_credentials().security_token == "tok"
    calls: list[int] = []

    def provider() -> Credentials:
        calls.append(1)
        return Credentials("p", "q")

    c = ClientConfig.from_env(endpoint="http://h:1", credentials=provider, env={})
    assert c.current_credentials() == Credentials("p", "q") and calls == [1]
    with pytest.raises(ConfigError, match="no endpoint"):
        ClientConfig.from_env(env={"ALIBABA_CLOUD_ACCESS_KEY_ID": "a", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "b"})
    with pytest.raises(ConfigError, match="no credentials"):
        ClientConfig.from_env(endpoint="http://h:1", env={})
    with pytest.raises(ConfigError, match="both"):
        ClientConfig.from_env(endpoint="http://h:1", env={"ALIBABA_CLOUD_ACCESS_KEY_ID": "a"})
    with pytest.raises(ConfigError, match="not an http"):
        ClientConfig.from_env(endpoint="h:1", credentials=Credentials("a", "b"), env={})


def test_sdk_imports_nothing_else_of_tidegate() -> None:
    import ast
    from pathlib import Path

    import tidegate.sdk

    for path in Path(tidegate.sdk.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith("tidegate") or name.startswith("tidegate.sdk"), (path, name)
                assert (
                    name.split(".")[0] in {"tidegate", "httpx", "__future__"}
                    or name.split(".")[0] in __import__("sys").stdlib_module_names
                ), (path, name)
