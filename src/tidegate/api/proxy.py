"""Accept absolute-form request targets, as sent to an HTTP proxy (RFC 9112 §3.2.2).

``HTTP_PROXY=http://127.0.0.1:8787`` makes an unchanged aliyunsdkcore program send
``POST http://cn-hangzhou.fnf.aliyuncs.com/?Action=… HTTP/1.1`` (mns-wire.md §4.6). uvicorn's h11 protocol
splits the target at ``?`` only, so ``scope["path"]`` arrives as ``http://cn-hangzhou.fnf.aliyuncs.com/``
(httptools would already give ``/``). Scheme and authority are dropped here: RPC signatures cover neither.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["AbsoluteFormMiddleware", "origin_form"]


def origin_form(path: str) -> str:
    """Return the path of an absolute-form target (``http://host/p`` → ``/p``); others unchanged."""
    if path.startswith(("http://", "https://")):
        return urlsplit(path).path or "/"
    return path


class AbsoluteFormMiddleware:
    """Rewrite ``path``/``raw_path`` of absolute-form HTTP requests to their origin form."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope["path"].encode("latin-1")
            text = raw.decode("latin-1")
            if text.startswith(("http://", "https://")):
                raw_path = origin_form(text)
                scope = dict(scope)
                scope["raw_path"] = raw_path.encode("latin-1")
                scope["path"] = unquote(raw_path)
        await self.app(scope, receive, send)
