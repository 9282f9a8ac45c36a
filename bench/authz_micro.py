"""Micro-benchmark of authorization: what deciding one request costs, for the root key and for a RAM user.

Run: ``.venv/bin/python -m bench.authz_micro [--n 20000]``. On a SQLite store it creates a user with the
first source document's policy and AliyunFnFReadOnlyAccess, then prints microseconds per call (best of 5)
of: resolving the key, the principal, and one decision, for the root key and for the user (the
authorizer's caches warm, as on a busy server).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.metrics_micro import best_us
from tidegate.api.context import AppContext
from tidegate.auth.keys import DEFAULT_ACCOUNT_ID, AccessKey, KeyKind, KeyRing
from tidegate.names import DEFAULT_REGION
from tidegate.ram.model import EntityType
from tidegate.store import open_store

ROOT = AccessKey(id="LTAIbenchroot", secret="benchsecret", kind=KeyKind.ROOT, account_id=DEFAULT_ACCOUNT_ID)
QUEUE_ARN = f"acs:mns:{DEFAULT_REGION}:{DEFAULT_ACCOUNT_ID}:/queues/fnf-demo/messages"
SEND_ONLY = json.dumps(
    {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "mns:SendMessage", "Resource": QUEUE_ARN}]}
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20000)
    n = parser.parse_args().n
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        ctx = AppContext(store=store, keyring=KeyRing(ROOT))
        ctx.ram.create_user("sender")
        made = ctx.ram.create_access_key("sender")
        ctx.ram.create_policy("send-fnf-demo", SEND_ONLY)
        ctx.ram.attach_policy(EntityType.USER, "sender", "Custom", "send-fnf-demo")
        ctx.ram.attach_policy(EntityType.USER, "sender", "System", "AliyunFnFReadOnlyAccess")
        authz = ctx.authorizer
        now = time.time()
        root_key = ctx.keyring.resolve(ROOT.id, None, now)
        user_key = ctx.keyring.resolve(made.key_id, None, now)
        root, user = authz.principal(root_key), authz.principal(user_key)
        rows = [
            ("root: resolve key", lambda: ctx.keyring.resolve(ROOT.id, None, now)),
            ("root: principal", lambda: authz.principal(root_key)),
            ("root: decide", lambda: authz.decide(root, "mns:SendMessage", QUEUE_ARN)),
            ("user: resolve key", lambda: ctx.keyring.resolve(made.key_id, None, now)),
            ("user: principal", lambda: authz.principal(user_key)),
            ("user: decide (allowed)", lambda: authz.decide(user, "mns:SendMessage", QUEUE_ARN)),
            ("user: decide (denied)", lambda: authz.decide(user, "mns:ReceiveMessage", QUEUE_ARN)),
        ]
        for name, call in rows:
            print(f"{name:28s} {best_us(call, n):8.2f} µs")
        store.close()


if __name__ == "__main__":
    main()
