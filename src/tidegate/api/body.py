"""Reading a request body with a size limit, the one way every protocol of the server does it."""

from __future__ import annotations

from starlette.requests import Request

__all__ = ["read_body"]


async def read_body(request: Request, limit: int) -> bytes | None:
    """Return the request body, or None once it proves larger than ``limit`` bytes.

    A ``Content-Length`` over the limit answers None before anything is read; otherwise reading stops at the
    first chunk past the limit. Each protocol turns None into its own error.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
