"""Each status set, class name, default and the version is defined once, and every copy that must exist agrees."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from tests.conftest import REPO
from tidegate.api.rest_openapi import openapi_document
from tidegate.names import MNS_NAME_MAX, MNS_NAME_RE, NAME_MAX, NAME_RE
from tidegate.status import ACTIVE, ExecutionStatus
from tidegate.store import TaskStatus

SRC = REPO / "src" / "tidegate"


def test_the_openapi_status_enum_is_the_enum() -> None:
    schema = openapi_document()["components"]["schemas"]["Execution"]["properties"]["status"]
    assert schema == {"enum": [s.value for s in ExecutionStatus]}


def _js_list(text: str, name: str) -> list[str]:
    m = re.search(rf"const {name} = \[([^\]]*)\];", text)
    assert m, f"pages.js defines no {name}"
    return re.findall(r'"([^"]*)"', m[1])


def test_the_console_statuses_are_the_enum() -> None:
    text = (SRC / "console" / "static" / "pages.js").read_text(encoding="utf-8")
    assert _js_list(text, "STATUSES") == [s.value for s in ExecutionStatus]
    assert set(_js_list(text, "ACTIVE")) == ACTIVE
    # No script compares a status with a spelt value.
    statuses = "|".join(s.value for s in ExecutionStatus)
    for script in sorted((SRC / "console" / "static").glob("*.js")):
        found = re.findall(rf'[=!]==\s*"({statuses})"', script.read_text(encoding="utf-8"))
        assert not found, f"{script.name} compares with {found}: use STATUSES/ACTIVE"


def test_no_query_spells_a_status() -> None:
    values = {s.value for s in ExecutionStatus} | {s.value for s in TaskStatus}
    files = sorted((SRC / "store").rglob("*.sql"))
    assert files
    for path in files:
        literals = set(re.findall(r"'([^']*)'", path.read_text(encoding="utf-8")))
        assert not literals & values, f"{path.relative_to(REPO)} spells {sorted(literals & values)}"


#: Packages outside the rule: the worker SDK imports nothing of tidegate (it is a client library usable
#: against Alibaba Cloud), so it has its own ``Credentials`` and ``TaskFailed``.
STANDALONE = ("sdk",)


def test_no_two_classes_share_a_name() -> None:
    where: defaultdict[str, list[str]] = defaultdict(list)
    for path in sorted(SRC.rglob("*.py")):
        if path.relative_to(SRC).parts[0] in STANDALONE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                where[node.name].append(str(path.relative_to(SRC)))
    assert {name: files for name, files in where.items() if len(files) > 1} == {}


def test_the_name_rule() -> None:
    assert NAME_RE.fullmatch("_a-1") and NAME_RE.fullmatch("a" * NAME_MAX)
    assert not any(NAME_RE.fullmatch(n) for n in ("", "1a", "-a", "a" * (NAME_MAX + 1), "a.b", "a\n"))
    assert MNS_NAME_RE.fullmatch("1-a") and MNS_NAME_RE.fullmatch("a" * MNS_NAME_MAX)
    assert not any(MNS_NAME_RE.fullmatch(n) for n in ("", "-a", "a_b", "a" * (MNS_NAME_MAX + 1), "a\n"))


def test_the_version_is_the_package_metadata() -> None:
    command = Path(sys.executable).parent / "tidegate"
    out = subprocess.run([str(command), "--version"], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == f"tidegate, version {importlib.metadata.version('tidegate')}"
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert not re.search(r"(?m)^version\s*=", pyproject), "the version is written only in src/tidegate/__init__.py"
