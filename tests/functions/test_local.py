"""The ``FUNCTIONS_DIR/S/F.py`` convention of ``tidegate run --functions``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidegate.functions import (
    FunctionNotFound,
    FunctionRunner,
    FunctionSpec,
    InvocationContext,
    resolve_local_function,
)
from tidegate.functions._model import FUNCTION_NOT_FOUND


def test_resolves_and_runs(tmp_path: Path) -> None:
    (tmp_path / "trip").mkdir()
    (tmp_path / "trip" / "book-flight.py").write_text("def handler(event, context):\n    return {'ok': 1}\n")
    spec = resolve_local_function(tmp_path, "trip", "book-flight")
    assert (spec.service, spec.name, spec.handler, spec.kind) == ("trip", "book-flight", "book-flight.handler", "event")
    assert spec.code_dir == tmp_path / "trip"
    with FunctionRunner(workers=1) as runner:
        assert runner.invoke(spec, b"{}", InvocationContext()).json() == {"ok": 1}


@pytest.mark.parametrize(("service", "function"), [("trip", "missing"), ("nosuch", "f"), ("..", "f"), ("trip", "a/b")])
def test_missing_or_invalid_names(tmp_path: Path, service: str, function: str) -> None:
    (tmp_path / "trip").mkdir()
    with pytest.raises(FunctionNotFound) as info:
        resolve_local_function(tmp_path, service, function)
    assert info.value.code == FUNCTION_NOT_FOUND


def test_code_folder_that_disappears(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "f.py").write_text("def handler(e, c):\n    return 1\n")
    spec = resolve_local_function(tmp_path, "s", "f")
    (tmp_path / "s" / "f.py").unlink()
    (tmp_path / "s").rmdir()
    with FunctionRunner(workers=1) as runner:
        result = runner.invoke(spec, b"", InvocationContext())
    assert result.error_type == FUNCTION_NOT_FOUND


def test_specs_are_hashable_and_compare_by_value(tmp_path: Path) -> None:
    env = {"A": "1"}
    first = FunctionSpec(service="s", name="f", code_dir=tmp_path / "x" / ".." / "s", env=env)
    second = FunctionSpec(service="s", name="f", code_dir=tmp_path / "s", env={"A": "1"})
    env["A"] = "changed"
    assert first == second
    assert first.code_dir == tmp_path / "s"
    assert {first: 1}[second] == 1
    assert first != FunctionSpec(service="s", name="f", code_dir=tmp_path / "s", env={"A": "2"})
    with pytest.raises(ValueError):
        FunctionSpec(service="s", name="f", code_dir=tmp_path, timeout_s=0)
