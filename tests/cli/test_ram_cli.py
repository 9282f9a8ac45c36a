"""``tidegate ram`` against a real server: the command lines docs/cli.md shows run verbatim, ``--json``,
the secret shown once, and errors as one line with RAM's code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import base_env
from tests.conftest import REPO
from tests.server import ServerProcess

MARK = "@@ram-rc"


def doc_lines() -> list[str]:
    """The command lines of the ```sh block of docs/cli.md's `tidegate ram` section."""
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text.split("## Access control: `tidegate ram`", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"^```sh\n(.*?)^```", section, flags=re.S | re.M)
    return [line.strip() for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """`tidegate server --data .tidegate` in ``tmp_path`` (the commands find its root key there)."""
    srv = ServerProcess(tmp_path / ".tidegate")
    srv.start()
    yield srv
    srv.stop()


def _bash(script: str, server: ServerProcess, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = base_env({"TIDEGATE_ENDPOINT": server.url})
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_the_documented_command_lines_run(server: ServerProcess, tmp_path: Path) -> None:
    lines = doc_lines()
    assert len(lines) >= 10, lines
    script = "".join(f"{line}\necho {MARK}:{i}:$? >&2\n" for i, line in enumerate(lines))
    proc = _bash(script, server, tmp_path)
    codes = dict(re.findall(rf"^{MARK}:(\d+):(\d+)$", proc.stderr, flags=re.M))
    failed = [lines[int(i)] for i, rc in codes.items() if rc != "0"]
    assert len(codes) == len(lines) and not failed, (failed, proc.stdout, proc.stderr)
    assert "created user alice (id " in proc.stdout
    assert re.search(r"^AccessKeyId: +LTAI\w+$", proc.stdout, flags=re.M)
    assert re.search(r"^AccessKeySecret: +\S{30}$", proc.stdout, flags=re.M)
    assert "Keep the secret now" in proc.stderr
    assert "created policy send-to-fnf-demo (version v1)" in proc.stdout
    assert "attached policy send-to-fnf-demo user alice" in proc.stdout
    assert '"Resource": "acs:mns:*:*:/queues/fnf-demo/messages"' in proc.stdout  # policies show
    assert re.search(r"created role fnf-demo-role \(acs:ram::\d+:role/fnf-demo-role\)", proc.stdout)
    assert '"PolicyName": "AliyunMNSFullAccess"' in proc.stdout  # roles show --json, with its policies
    assert "deleted role fnf-demo-role" in proc.stdout and "deleted policy send-to-fnf-demo" in proc.stdout
    assert re.search(r"^AliyunMNSFullAccess +System +v1", proc.stdout, flags=re.M)  # policies list --type System


def test_json_listing_keys_and_errors(server: ServerProcess, tmp_path: Path) -> None:
    script = """
tidegate ram users create bob --json
tidegate ram keys create bob --json
echo @@
tidegate ram keys list bob --json
echo @@
tidegate ram users list --json
echo @@
tidegate ram users create bob; echo "rc=$?"
tidegate ram users delete nobody; echo "rc=$?"
tidegate ram attach AliyunMNSFullAccess; echo "rc=$?"
tidegate ram roles create r1; echo "rc=$?"
tidegate ram policies create p1 --document missing.json; echo "rc=$?"
echo '{"Version": "1", "Statement": [' > bad.json
tidegate ram policies create p1 --document bad.json; echo "rc=$?"
tidegate ram users delete bob; echo "rc=$?"
"""
    proc = _bash(script, server, tmp_path)
    parts = proc.stdout.split("@@\n")
    assert len(parts) == 4, proc.stdout + proc.stderr
    first = parts[0]
    user_doc, key_doc = (json.loads(x) for x in re.split(r"(?<=\n})\n(?=\{)", first.strip()))
    assert user_doc["User"]["UserName"] == "bob" and "RequestId" not in user_doc
    secret = key_doc["AccessKey"]["AccessKeySecret"]
    assert len(secret) == 30 and key_doc["AccessKey"]["Status"] == "Active"
    listed = json.loads(parts[1])["AccessKeys"]["AccessKey"]
    assert [k["AccessKeyId"] for k in listed] == [key_doc["AccessKey"]["AccessKeyId"]] and secret not in parts[1]
    assert "bob" in [u["UserName"] for u in json.loads(parts[2])["Users"]["User"]]
    tail = parts[3]
    assert tail.count("rc=1") == 4 and tail.count("rc=2") == 3, (tail, proc.stderr)
    assert "Error: EntityAlreadyExists.User: " in proc.stderr
    assert "Error: EntityNotExist.User: " in proc.stderr
    assert "name exactly one of --user, --group and --role" in proc.stderr
    assert "say who may assume the role" in proc.stderr
    assert "Error: --document: cannot read missing.json" in proc.stderr
    assert "Error: MalformedPolicyDocument: " in proc.stderr
    assert "Error: DeleteConflict.User.AccessKey: " in proc.stderr
