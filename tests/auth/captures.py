"""Load the captured SDK requests of ``tests/data/captures`` as test data."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tests.conftest import CAPTURED_REQUESTS, CAPTURES

SECRET = "testAccessKeySecret"
ACCESS_KEY_ID = "testAccessKeyId"


@dataclass(frozen=True)
class Capture:
    """One raw request as an official SDK sent it."""

    name: str
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """Return the first header ``name`` (any case)."""
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def scheme(self) -> str:
        """``MNS``, ``ACS3`` or ``RPC``."""
        auth = self.header("authorization") or ""
        if auth.startswith("MNS "):
            return "MNS"
        if auth.startswith("ACS3-"):
            return "ACS3"
        return "RPC"


def load_captures() -> list[Capture]:
    """Every capture with a complete request (the CONNECT of the HTTPS_PROXY recipe has none).

    Raises when the captures are missing or incomplete, so that no parametrisation is left empty.
    """
    out = []
    for path in sorted(CAPTURES.rglob("*.json")):
        d = json.loads(path.read_text(encoding="utf-8"))
        if "headers" not in d or "body" not in d:
            continue
        out.append(
            Capture(
                name=path.stem,
                method=d["method"],
                target=d["raw_path"],
                headers=[(k, v) for k, v in d["headers"]],
                body=d["body"].encode("utf-8"),
            )
        )
    if len(out) != CAPTURED_REQUESTS:
        raise FileNotFoundError(
            f"{CAPTURES}: {len(out)} captured requests, expected {CAPTURED_REQUESTS} (tests/data/README.md)"
        )
    return out


def replace_header(headers: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    """Return ``headers`` with the value of ``name`` (any case) replaced."""
    return [(k, value if k.lower() == name.lower() else v) for k, v in headers]


def flip(s: str, index: int) -> str:
    """Change the character at ``index`` to another of the same class (keeps encodings valid)."""
    c = s[index]
    if c.isdigit():
        new = "1" if c != "1" else "2"
    elif c.isalpha():
        new = ("b" if c != "b" else "c") if c.islower() else ("B" if c != "B" else "C")
    else:
        new = "A"
    return s[:index] + new + s[index + 1 :]
