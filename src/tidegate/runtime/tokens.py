"""Task tokens in the runtime: the store-kept signer of ``tidegate run`` and finding a token's execution.

A token is bound to the store id of its execution (:mod:`tidegate.auth.tasktoken`): :func:`token_execution`
finds that execution and checks it is the one the token was minted for, so a token outlives nothing. Tokens
minted before tokens were bound name their execution only by flow and execution name; they are accepted
for executions started before this version first opened the store (the setting :data:`BOUND_SINCE`), never
for a later execution that happens to reuse the names.
"""

from __future__ import annotations

import secrets

from tidegate.auth.tasktoken import TaskTokenClaims, TaskTokenSigner
from tidegate.clock import now_ms as clock
from tidegate.store import ExecutionNotFound, FlowNotFound, Store
from tidegate.store.records import ExecutionRecord

SETTING = "task-token-key"
#: Epoch ms when this store was first opened by a version that binds tokens to executions.
BOUND_SINCE = "task-tokens-bound-since-ms"


def load_signer(store: Store) -> TaskTokenSigner:
    """Return a signer whose key is kept in the store, so that a restarted process mints the same tokens."""
    key = store.put_setting_if_absent(SETTING, secrets.token_hex(32))
    mark_tokens_bound(store, None)
    return TaskTokenSigner(bytes.fromhex(key))


def mark_tokens_bound(store: Store, now_ms: int | None) -> int:
    """Record (once per store) when tokens started to be bound; return that moment (epoch ms)."""
    return int(store.put_setting_if_absent(BOUND_SINCE, str(clock() if now_ms is None else now_ms)))


def token_execution(store: Store, claims: TaskTokenClaims) -> ExecutionRecord | None:
    """The execution a genuine token was minted for, or None when it is gone (purged, or another one now)."""
    if claims.execution_id is not None:
        try:
            record = store.get_execution_by_id(claims.execution_id)
        except ExecutionNotFound:
            return None
        if not claims.matches(record.id, record.flow_id, record.flow_name, record.name):
            return None
        return record
    try:
        record = store.get_execution(claims.flow_name, claims.execution_name)
    except (FlowNotFound, ExecutionNotFound):
        return None
    since = store.get_setting(BOUND_SINCE)
    if since is None or not since.isdigit() or record.started_ms >= int(since):
        return None  # a token minted before the upgrade cannot belong to an execution started after it
    return record
