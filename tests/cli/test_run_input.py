"""`tidegate run` refuses an input it could not store, with a usage error instead of a traceback."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tidegate.cli import main

FLOW = "version: v1\ntype: flow\nsteps:\n  - {type: pass, name: only}\n"


def test_an_input_with_a_lone_surrogate_is_a_usage_error(tmp_path: Path) -> None:
    flow = tmp_path / "f.yaml"
    flow.write_text(FLOW, encoding="utf-8")
    store = f"sqlite:///{tmp_path / 's.db'}"
    result = CliRunner().invoke(main, ["run", str(flow), "--input", '{"a":"\\ud800"}', "--store", store])
    assert result.exit_code == 2 and "the input is not valid Unicode: surrogates not allowed" in result.output
    ok = CliRunner().invoke(main, ["run", str(flow), "--input", '{"a":"\\u00e9"}', "--store", store])
    assert ok.exit_code == 0 and ": Succeeded" in ok.output  # other non-ASCII text is fine
