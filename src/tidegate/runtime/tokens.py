"""The task-token signer of a process that has no root key (``tidegate run``): its key lives in the store."""

from __future__ import annotations

import secrets

from tidegate.auth.tasktoken import TaskTokenSigner
from tidegate.store import Store

SETTING = "task-token-key"


def load_signer(store: Store) -> TaskTokenSigner:
    """Return a signer whose key is kept in the store, so that a restarted process mints the same tokens."""
    key = store.put_setting_if_absent(SETTING, secrets.token_hex(32))
    return TaskTokenSigner(bytes.fromhex(key))
