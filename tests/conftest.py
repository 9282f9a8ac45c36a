"""Shared test configuration."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: The vendored test data (tests/data/README.md). ``TIDEGATE_TEST_DATA`` points the suite at another copy,
#: e.g. an empty folder to check that the tests needing the data fail rather than skip.
DATA = Path(os.environ.get("TIDEGATE_TEST_DATA") or REPO / "tests" / "data")
#: 37 real flow definitions (tests/data/fdl-corpus/INDEX.md).
CORPUS = DATA / "fdl-corpus"
#: Requests recorded from the official SDKs (tests/data/captures/README.md).
CAPTURES = DATA / "captures"
#: How many flows the corpus holds, and how many complete requests the captures hold: a test that reads
#: the data checks these, so a missing or truncated copy fails instead of leaving a parametrisation empty.
CORPUS_FLOWS = 37
CAPTURED_REQUESTS = 120

# Fixtures available to every test without importing them: the official-SDK environments (session
# fixtures mns115_env, mns130_env, fnfcore_env, fnftea_env, worker_env, ramcore_env, ramtea_env), the
# stores of both backends (store_url, open_url, store: tests/stores.py) and the app in this process
# (app_ctx, app_client: tests/inprocess.py).
pytest_plugins = ["tests.sdkenv", "tests.stores", "tests.inprocess"]
