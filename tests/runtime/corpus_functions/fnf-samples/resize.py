"""Stand-in for the oss-batch-process ``resize``: objects named ``broken*`` raise ``ImageError``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class ImageError(Exception):
    """The object is not an image."""


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    with Path(__file__).with_suffix(".calls").open("a") as log:
        log.write(req["key"] + "\n")
    if req["key"].startswith("broken"):
        raise ImageError(f"{req['key']} is not an image")
    return {"resized": f"{req['key']}@{req['width']}x{req['height']}"}
