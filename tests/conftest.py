"""Shared test configuration."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"

# The official-SDK environments (session fixtures mns115_env, mns130_env, fnfcore_env, fnftea_env,
# worker_env) are available to every test without importing them.
pytest_plugins = ["tests.sdkenv"]
