"""Reading a request body with a size limit, the one way every protocol of the server does it."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

__all__ = ["MAX_BODY", "ClientDisconnected", "read_body"]

#: The largest request body the workflow RPC, REST, console and MNS protocols read (16 messages of 64 KiB,
#: XML-escaped, fit easily); function triggers allow more.
MAX_BODY = 1024 * 1024


class ClientDisconnected(BaseException):
    """The client went away before its request body arrived (it closed, or the server timed it out).

    Not an :class:`Exception` on purpose, like ``asyncio.CancelledError``: nobody is left to answer, so no
    protocol's ``except Exception`` turns it into an error reply or an ERROR log line with a traceback. It
    passes up to the front door (:class:`tidegate.api.front.FrontDoor`), which ends the request with one
    debug line.
    """


async def read_body(request: Request, limit: int) -> bytes | None:
    """Return the request body, or None once it proves larger than ``limit`` bytes.

    A ``Content-Length`` over the limit answers None before anything is read; otherwise reading stops at the
    first chunk past the limit. Each protocol turns None into its own error.

    Raises:
        ClientDisconnected: the connection closed before the whole body arrived.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    except ClientDisconnect:
        raise ClientDisconnected(f"{request.method} {request.scope['path']}: the client disconnected") from None
    return b"".join(chunks)
