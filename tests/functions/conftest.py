"""Fixtures of the function runtime tests: one shared runner and a folder factory for handler code."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tidegate.functions import FunctionRunner, FunctionSpec

WriteCode = Callable[..., FunctionSpec]


@pytest.fixture(scope="module")
def runner() -> Iterator[FunctionRunner]:
    with FunctionRunner(workers=4) as shared:
        yield shared


@pytest.fixture
def write_code(tmp_path: Path) -> WriteCode:
    """Write ``source`` as ``tmp_path/<service>/<module>.py`` and return a spec for ``module.attr``."""

    def write(
        source: str, *, attr: str = "handler", module: str = "index", service: str = "svc", **spec: Any
    ) -> FunctionSpec:
        code_dir = tmp_path / service
        code_dir.mkdir(exist_ok=True)
        (code_dir / f"{module}.py").write_text(textwrap.dedent(source))
        return FunctionSpec(
            service=service, name=spec.pop("name", "fn"), code_dir=code_dir, handler=f"{module}.{attr}", **spec
        )

    return write
