"""HTTP (WSGI) handlers, including the second source document's function shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.functions.conftest import WriteCode
from tidegate.functions import (
    INVALID_RESPONSE,
    Credentials,
    FunctionRunner,
    HttpRequest,
    InvocationContext,
    WrongFunctionKind,
)

CTX = InvocationContext(
    request_id="req-http",
    region="cn-hangzhou",
    account_id="42",
    credentials=Credentials("STS.tmp", "tmp-secret", "sts-token"),
)

ENVIRON_APP = """
    import json
    def handler(environ, start_response):
        size = int(environ.get("CONTENT_LENGTH", 0))
        body = environ["wsgi.input"].read(size)
        keys = ["REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH",
                "HTTP_X_TRACE", "HTTP_ACCEPT", "SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT", "REMOTE_ADDR",
                "wsgi.url_scheme", "fc.request_uri"]
        creds = environ["fc.context"].credentials
        out = {k: environ.get(k) for k in keys}
        out.update(body=body.decode(), version=list(environ["wsgi.version"]),
                   errors=hasattr(environ["wsgi.errors"], "write"),
                   creds=[creds.access_key_id, creds.access_key_secret, creds.security_token],
                   region=environ["fc.context"].region)
        start_response("201 Created", [("Content-Type", "application/json"), ("X-Extra", "1")])
        return [json.dumps(out).encode()]
"""


def test_environ_status_headers_and_body(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code(ENVIRON_APP, kind="http")
    request = HttpRequest(
        method="post",
        path="/a%20b/c",
        query="x=1&y=2",
        headers=[("Content-Type", "text/plain"), ("X-Trace", "t1"), ("Accept", "a"), ("Accept", "b")],
        body=b"hello body",
        remote_addr="10.0.0.7",
        server_name="fc.local",
        server_port=8787,
        request_uri="/2016-08-15/proxy/svc/fn/a%20b/c?x=1&y=2",
    )
    result = runner.invoke_http(spec, request, CTX)
    assert result.ok, result
    assert result.status == 201
    assert result.headers == [("Content-Type", "application/json"), ("X-Extra", "1")]
    got = json.loads(result.body)
    assert got == {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/a b/c",
        "QUERY_STRING": "x=1&y=2",
        "CONTENT_TYPE": "text/plain",
        "CONTENT_LENGTH": "10",
        "HTTP_X_TRACE": "t1",
        "HTTP_ACCEPT": "a,b",
        "SCRIPT_NAME": "",
        "SERVER_NAME": "fc.local",
        "SERVER_PORT": "8787",
        "REMOTE_ADDR": "10.0.0.7",
        "wsgi.url_scheme": "http",
        "fc.request_uri": "/2016-08-15/proxy/svc/fn/a%20b/c?x=1&y=2",
        "body": "hello body",
        "version": [1, 0],
        "errors": True,
        "creds": ["STS.tmp", "tmp-secret", "sts-token"],
        "region": "cn-hangzhou",
    }


def test_request_as_mapping_and_default_uri(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code(ENVIRON_APP, kind="http")
    result = runner.invoke_http(spec, {"method": "GET", "path": "/p", "query": "q=1"}, CTX)
    got = json.loads(result.body)
    assert (got["fc.request_uri"], got["CONTENT_LENGTH"], got["body"]) == ("/p?q=1", "0", "")


def test_write_callable_iterable_and_close(runner: FunctionRunner, write_code: WriteCode, tmp_path: Path) -> None:
    marker = tmp_path / "closed"
    spec = write_code(
        f"""
        class Body:
            def __iter__(self):
                yield b"b"
                yield b""
                yield b"c"
            def close(self):
                open({str(marker)!r}, "w").write("yes")

        def handler(environ, start_response):
            write = start_response("200 OK", [])
            write(b"a")
            return Body()
        """,
        kind="http",
    )
    result = runner.invoke_http(spec, HttpRequest(), CTX)
    assert (result.status, result.body) == (200, b"abc")
    assert marker.read_text() == "yes"


def test_exception_in_app_is_a_502_with_fc_error_body(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code("def handler(environ, start_response):\n    raise KeyError('Message')\n", kind="http")
    result = runner.invoke_http(spec, HttpRequest(), CTX)
    assert (result.ok, result.status, result.error_type) == (False, 502, "KeyError")
    doc = json.loads(result.body)
    assert doc["errorType"] == "KeyError"
    assert doc["errorMessage"] == "'Message'"
    assert doc["stackTrace"] and "index.py" in doc["stackTrace"][0]
    assert ("X-Fc-Error-Type", "UnhandledInvocationError") in result.headers


@pytest.mark.parametrize(
    "body",
    [
        "return [b'no start_response']",
        "start_response('OK', [])\n    return [b'']",
        "start_response('200 OK', [])\n    return ['text, not bytes']",
        "start_response('200 OK', [('X', 1)])\n    return [b'']",
    ],
)
def test_protocol_violations_are_invalid_response(runner: FunctionRunner, write_code: WriteCode, body: str) -> None:
    spec = write_code(f"def handler(environ, start_response):\n    {body}\n", kind="http")
    result = runner.invoke_http(spec, HttpRequest(), CTX)
    assert (result.ok, result.error_type, result.status) == (False, INVALID_RESPONSE, 502)


def test_http_call_on_event_function_is_refused(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code("def handler(e, c):\n    return 1\n")
    with pytest.raises(WrongFunctionKind):
        runner.invoke_http(spec, HttpRequest(), CTX)


# The second source document's function, as written there, except that the SDK call that reports the
# task is replaced by writing what it would send to a file (the SDK is not this package's business).
SEED_FUNCTION = """
    import json

    def handler(environ, start_response):
        # Get request body
        try:
            request_body_size = int(environ.get('CONTENT_LENGTH', 0))
        except ValueError:
            request_body_size = 0
        request_body = environ['wsgi.input'].read(request_body_size)
        print('Request body: {}'.format(request_body))
        body = json.loads(request_body)
        message_body_str = body['Message']
        # Read MessageBody and TaskToken from message body
        message_body = json.loads(message_body_str)
        task_token = message_body['taskToken']
        ori_message_body = message_body['messageBody']
        print('Task token: {}\\norigin message body: {}'.format(task_token, ori_message_body))
        # Init fnf client use sts token
        context = environ['fc.context']
        creds = context.credentials
        report = {"token": task_token, "output": '{"status": "success"}', "region": context.region,
                  "keys": [creds.access_key_id, creds.access_key_secret, creds.security_token]}
        with open("reported.json", "w") as out:
            json.dump(report, out)
        # Response to http request
        status = '200 OK'
        response_headers = [('Content-type', 'text/plain')]
        start_response(status, response_headers)
        return [b'OK']
"""


def test_second_source_document_function(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code(SEED_FUNCTION, kind="http", service="mns-topic-callback")
    message = json.dumps({"messageBody": "hello world", "taskToken": "tok-123"})
    push = json.dumps({"TopicOwner": "1", "TopicName": "t", "Message": message, "MessageId": "m1"})
    request = HttpRequest(method="POST", path="/", headers=[("Content-Type", "application/json")], body=push.encode())
    result = runner.invoke_http(spec, request, CTX)
    assert (result.ok, result.status, result.body) == (True, 200, b"OK")
    assert result.headers == [("Content-type", "text/plain")]
    assert "Task token: tok-123\norigin message body: hello world" in result.logs
    reported = json.loads((spec.code_dir / "reported.json").read_text())  # cwd is the code folder
    assert reported == {
        "token": "tok-123",
        "output": '{"status": "success"}',
        "region": "cn-hangzhou",
        "keys": ["STS.tmp", "tmp-secret", "sts-token"],
    }
