"""Local functions: the ``tidegate run --functions DIR`` convention ``DIR/SERVICE/FUNCTION.py``."""

from __future__ import annotations

from pathlib import Path

from tidegate.functions._model import FunctionKind, FunctionNotFound, FunctionSpec
from tidegate.names import NAME_RE


def resolve_local_function(
    functions_dir: Path,
    service: str,
    function: str,
    *,
    kind: FunctionKind = "event",
    timeout_s: float = 60.0,
) -> FunctionSpec:
    """The spec of ``functions_dir/service/function.py`` whose ``handler`` attribute is the entry point.

    The code folder is ``functions_dir/service`` (so functions of one service may share helper
    modules) and the handler is ``function.handler``. ``service`` must not carry a ``.QUALIFIER``: the
    caller strips it from the resource ARN.

    Raises:
        FunctionNotFound: The names are invalid or the file does not exist.
    """
    for label, name in (("service", service), ("function", function)):
        # FC's naming rule for services and functions; it also keeps names inside the functions folder.
        if not NAME_RE.fullmatch(name):
            raise FunctionNotFound(f"invalid {label} name {name!r}")
    code_dir = Path(functions_dir) / service
    if not (code_dir / f"{function}.py").is_file():
        raise FunctionNotFound(f"function {service}/{function} not found: no file {code_dir / function}.py")
    return FunctionSpec(
        service=service,
        name=function,
        code_dir=code_dir,
        handler=f"{function}.handler",
        kind=kind,
        timeout_s=timeout_s,
    )
