"""``tidegate validate``: through click's CliRunner and once as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import REPO
from tests.flow.helpers import CORPUS, steps_doc
from tidegate.cli import main

GOOD = steps_doc("- {type: pass, name: A}")
BAD = steps_doc("- type: choice\n  name: CheckStatus\n  choices:\n    - condition: $.a\n      goto: Retry")


def _files(tmp_path: Path) -> tuple[Path, Path]:
    good, bad = tmp_path / "good.yaml", tmp_path / "flow.yaml"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_text(BAD, encoding="utf-8")
    return good, bad


def test_valid_files_print_ok_and_exit_zero(tmp_path: Path) -> None:
    good, _ = _files(tmp_path)
    corpus = str(CORPUS / "awesome-fnf__trigger__oss__flow.yaml")
    result = CliRunner().invoke(main, ["validate", str(good), corpus])
    assert result.exit_code == 0
    assert result.output.splitlines() == [f"{good}: ok", f"{corpus}: ok"]


def test_invalid_file_prints_one_line_per_issue_and_exits_one(tmp_path: Path) -> None:
    good, bad = _files(tmp_path)
    result = CliRunner().invoke(main, ["validate", str(bad), str(good)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f'{bad}:8: steps[0].choices[0].goto: no step named "Retry" beside "CheckStatus"',
        f"{good}: ok",
    ]


def test_unreadable_file_is_an_issue(tmp_path: Path) -> None:
    good, _ = _files(tmp_path)
    missing = tmp_path / "missing.yaml"
    result = CliRunner().invoke(main, ["validate", str(good), str(missing)])
    assert result.exit_code == 1
    assert f"{missing}: cannot read the file" in result.output


def test_json_output(tmp_path: Path) -> None:
    good, bad = _files(tmp_path)
    result = CliRunner().invoke(main, ["validate", "--json", str(good), str(bad)])
    assert result.exit_code == 1
    assert json.loads(result.output) == [
        {
            "file": str(bad),
            "source": str(bad),
            "line": 8,
            "path": "steps[0].choices[0].goto",
            "message": 'no step named "Retry" beside "CheckStatus"',
        }
    ]
    ok = CliRunner().invoke(main, ["validate", "--json", str(good)])
    assert (ok.exit_code, json.loads(ok.output)) == (0, [])


def test_paths_are_required() -> None:
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 2


def test_real_command_in_a_subprocess(tmp_path: Path) -> None:
    good, bad = _files(tmp_path)
    exe = Path(sys.executable).parent / "tidegate"
    if not exe.exists():
        exe = REPO / ".venv" / "bin" / "tidegate"
    ok = subprocess.run([str(exe), "validate", str(good)], capture_output=True, text=True, timeout=60)
    assert (ok.returncode, ok.stdout) == (0, f"{good}: ok\n")
    failed = subprocess.run([str(exe), "validate", str(bad)], capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1 and 'no step named "Retry"' in failed.stdout
