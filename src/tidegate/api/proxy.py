"""Accept absolute-form request targets, as sent to an HTTP proxy (RFC 9112 §3.2.2).

``HTTP_PROXY=http://127.0.0.1:8787`` makes an unchanged aliyunsdkcore program send
``POST http://cn-hangzhou.fnf.aliyuncs.com/?Action=… HTTP/1.1`` (docs/protocols.md). uvicorn's h11 protocol
splits the target at ``?`` only, so ``scope["path"]`` arrives as ``http://cn-hangzhou.fnf.aliyuncs.com/``
(httptools already gives ``/``). Scheme and authority are dropped here: RPC signatures cover neither.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from starlette.types import Scope

__all__ = ["origin_form", "origin_form_scope"]


def origin_form(path: str) -> str:
    """Return the path of an absolute-form target (``http://host/p`` → ``/p``); others unchanged."""
    if path.startswith(("http://", "https://")):
        return urlsplit(path).path or "/"
    return path


def origin_form_scope(scope: Scope) -> Scope:
    """Return ``scope`` with ``path``/``raw_path`` in origin form (a copy when they change)."""
    raw = scope.get("raw_path") or scope["path"].encode("latin-1")
    if not raw.startswith((b"http://", b"https://")):
        return scope
    raw_path = origin_form(raw.decode("latin-1"))
    return {**scope, "raw_path": raw_path.encode("latin-1"), "path": unquote(raw_path)}
