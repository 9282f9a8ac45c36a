"""``tidegate run --input`` reads the input with the strict JSON reader: a usage error, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.api.scenarios import PASS_FLOW
from tidegate.cli import main


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": NaN}', "NaN is not a JSON number"),
        ('{"a": "\\ud800"}', "lone UTF-16 surrogate at $.a"),
        ("[" * 5000 + "]" * 5000, "nested deeper than 64 levels"),
        ("{", "not valid JSON"),
        ("[1]", "must be a JSON object"),
    ],
)
def test_bad_input_is_a_usage_error(tmp_path: Path, text: str, message: str) -> None:
    flow = tmp_path / "f.yaml"
    flow.write_text(PASS_FLOW)
    result = CliRunner().invoke(main, ["run", str(flow), "--input", text])
    assert result.exit_code == 2, result.output
    assert "--input" in result.output and message in result.output.replace("\n", " ")
    assert result.exception is None or isinstance(result.exception, SystemExit)
