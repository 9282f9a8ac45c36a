"""Acceptance: a RAM user created with aliyun-python-sdk-ram and given the first source document's policy
can SendMessage to fnf-demo with aliyun-mns-sdk, and gets 403 AccessDenied on another queue and on
ReceiveMessage. Everything goes through official SDKs and a real server: the user, its AccessKey, the
policy and the attachment through the RAM API; the messages through the MNS protocol.

Enforcement on the MNS protocol is the permission catalog's (``api/permissions``); until it is on this
branch the test is an expected failure, strict, so it reports the day it passes.
"""

from __future__ import annotations

import json

import pytest

from tests.api.mns_user import sends_as
from tests.api.ram_sdk import run_ram
from tests.sdkenv import SdkEnv, mns130_env, ramcore_env, run_in_env  # noqa: F401  (session fixtures)
from tests.server import ServerProcess
from tidegate.mq.client import MnsClient, MnsClientError
from tidegate.mq.wire import MessageRequest, encode_message
from tidegate.names import DEFAULT_ACCOUNT_ID, DEFAULT_REGION

SEND_BODY = encode_message(MessageRequest(body="x"))

FIRST_DOCUMENT_POLICY = json.dumps(
    {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["mns:SendMessage"],
                "Resource": [f"acs:mns:{DEFAULT_REGION}:{DEFAULT_ACCOUNT_ID}:/queues/fnf-demo/messages"],
            }
        ],
    }
)


def test_a_user_made_with_the_ram_sdk_sends_to_fnf_demo_only(
    server: ServerProcess,
    ramcore_env: SdkEnv,  # noqa: F811
    mns130_env: SdkEnv,  # noqa: F811
) -> None:
    made = run_ram(
        "ramcore",
        server,
        """
out["user"] = call("CreateUser", UserName="fnf-demo-sender")
out["key"] = call("CreateAccessKey", UserName="fnf-demo-sender")
out["policy"] = call("CreatePolicy", PolicyName="fnf-demo-send", PolicyDocument=POLICY)
out["attach"] = call("AttachPolicyToUser", UserName="fnf-demo-sender", PolicyName="fnf-demo-send", PolicyType="Custom")
""",
        POLICY=FIRST_DOCUMENT_POLICY,
    )
    assert all("ok" in made[k] for k in ("user", "key", "policy", "attach")), made
    key = made["key"]["ok"]["AccessKey"]
    res = sends_as(server.url, key["AccessKeyId"], key["AccessKeySecret"])
    assert res["send"] == {"ok": 32}
    assert res["send_other"]["error"] == "AccessDenied" and "mns:SendMessage" in res["send_other"]["message"]
    assert res["receive"]["error"] == "AccessDenied"
    assert res["root_receive"] == {"ok": "hello"}  # the user's message arrived
    # The SDK's exception carries no status: the same refusals, signed the same way by tidegate's client.
    mns = MnsClient(server.url, key["AccessKeyId"], key["AccessKeySecret"])
    try:
        for method, path in (("POST", "/queues/other/messages"), ("GET", "/queues/fnf-demo/messages")):
            with pytest.raises(MnsClientError) as refused:
                mns.request(method, path, body=SEND_BODY if method == "POST" else b"")
            assert (refused.value.status, refused.value.error_code) == (403, "AccessDenied")
    finally:
        mns.close()
