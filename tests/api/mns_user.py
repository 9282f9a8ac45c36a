"""The first source document's policy as an MNS client sees it: a user sends to fnf-demo and to another queue,
tries to receive, and the root key receives (aliyun-mns-sdk 1.3.0, in the ``mns130`` environment)."""

from __future__ import annotations

import json
from typing import Any

from tests.sdkenv import run_in_env
from tests.server import TEST_KEYS

SCRIPT = """
import json, os
from mns.account import Account
from mns.mns_exception import MNSServerException
from mns.queue import Message, QueueMeta

root = Account(os.environ["MNS_URL"], os.environ["ROOT_AK"], os.environ["ROOT_SK"])
user = Account(os.environ["MNS_URL"], os.environ["AK"], os.environ["SK"])
for name in ("fnf-demo", "other"):
    root.get_queue(name).create(QueueMeta())

def attempt(fn):
    try:
        value = fn()
        return {"ok": value.decode() if isinstance(value, bytes) else value}
    except MNSServerException as e:
        return {"error": e.type, "message": e.message}

res = {
    "send": attempt(lambda: len(user.get_queue("fnf-demo").send_message(Message("hello")).message_id)),
    "send_other": attempt(lambda: user.get_queue("other").send_message(Message("x")).message_id),
    "receive": attempt(lambda: user.get_queue("fnf-demo").receive_message(0).message_body),
    "root_receive": attempt(lambda: root.get_queue("fnf-demo").receive_message(0).message_body),
}
print("RESULT " + json.dumps(res))
"""


def sends_as(url: str, access_key_id: str, secret: str) -> dict[str, Any]:
    """Run :data:`SCRIPT` against ``url`` as the user ``access_key_id`` (the server's root key is TEST_KEYS')."""
    env = {
        "MNS_URL": url,
        "ROOT_AK": TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"],
        "ROOT_SK": TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"],
        "AK": access_key_id,
        "SK": secret,
    }
    proc = run_in_env("mns130", SCRIPT, env=env, timeout=60)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    assert line, proc.stdout + proc.stderr
    result: dict[str, Any] = json.loads(line[0].removeprefix("RESULT "))
    return result
