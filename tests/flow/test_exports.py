"""Pin the public names of tidegate.flow: other packages code against them."""

from __future__ import annotations

import ast
import subprocess
import sys

import tidegate.flow


def test_public_names() -> None:
    required = {
        "load_flow",
        "load_flow_file",
        "validate_flow",
        "parse_path",
        "resolve",
        "Scope",
        "evaluate_source",
        "apply_mappings",
        "default_input",
        "merge_local",
        "evaluate_params",
        "Condition",
        "parse_condition",
        "ConditionSyntaxError",
        "Flow",
        "Step",
        "MISSING",
        "iter_steps",
    }
    assert required <= set(tidegate.flow.__all__)
    for name in tidegate.flow.__all__:
        assert hasattr(tidegate.flow, name), name


def test_flow_imports_nothing_else_from_tidegate() -> None:
    # A fresh interpreter: re-importing in this process would duplicate classes other tests hold.
    code = "import sys, tidegate.flow; print(sorted(n for n in sys.modules if n.startswith('tidegate')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    loaded = ast.literal_eval(out.stdout)
    assert all(
        n.startswith("tidegate.flow") or n in ("tidegate", "tidegate.errors", "tidegate.names") for n in loaded
    ), loaded
