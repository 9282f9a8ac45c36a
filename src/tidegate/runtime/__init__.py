"""tidegate.runtime: the loop that claims due work from the store, applies the engine and runs tasks."""

from __future__ import annotations

from tidegate.engine import START
from tidegate.names import DEFAULT_ACCOUNT_ID, DEFAULT_REGION
from tidegate.runtime.driver import Driver
from tidegate.runtime.executor import Executor
from tidegate.runtime.runtime import DEFAULT_CALLBACK_TIMEOUT_S, Runtime, new_owner
from tidegate.runtime.tokens import load_signer

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_CALLBACK_TIMEOUT_S",
    "DEFAULT_REGION",
    "START",
    "Driver",
    "Executor",
    "Runtime",
    "load_signer",
    "new_owner",
]
