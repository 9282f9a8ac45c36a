"""Helpers for the flow tests: the vendored corpus (tests/data/fdl-corpus) and small definitions."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.conftest import CORPUS as CORPUS  # re-exported for the tests that use the corpus
from tests.conftest import CORPUS_FLOWS
from tidegate.errors import FlowIssue
from tidegate.flow import Flow, load_flow, validate_flow

# INDEX.md, "Before you feed these files to an engine" item 2: the deploy-time placeholders of embedded
# flows are replaced before the flow runs; these are the values a deployment would give them.
PLACEHOLDERS = {
    "<topic>": "orders-topic",
    "<serviceName>": "oss-restore",
    "<restoreFlow>": "restore_subflow",
    "${ALIYUN::Region}": "cn-hangzhou",
    "${ALIYUN::TenantId}": "1234567890",
    "${ServiceName}": "demo-service",
    "${FunctionName}": "demo-function",
}


def corpus_files() -> list[Path]:
    """Every flow definition of the corpus; raises when the corpus is missing or incomplete."""
    files = sorted(CORPUS.glob("*.yaml"))
    if len(files) != CORPUS_FLOWS:
        raise FileNotFoundError(f"{CORPUS}: {len(files)} flow files, expected {CORPUS_FLOWS} (tests/data/README.md)")
    return files


def substitute(text: str) -> str:
    """``text`` with the corpus placeholders replaced."""
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    return text


def flow(text: str) -> Flow:
    """Load a dedented YAML definition."""
    return load_flow(textwrap.dedent(text), source="flow.yaml")


def issues(text: str) -> list[FlowIssue]:
    """The issues of a dedented YAML definition."""
    return validate_flow(textwrap.dedent(text), source="flow.yaml")


def steps_doc(steps_yaml: str, version: str = "v1") -> str:
    """A definition whose ``steps:`` list is ``steps_yaml`` (dedented), starting on line 4."""
    body = textwrap.indent(textwrap.dedent(steps_yaml).strip("\n"), "  ")
    return f"version: {version}\ntype: flow\nsteps:\n{body}\n"
