"""The URLs a server announces (leaf module: imports nothing of tidegate)."""

from __future__ import annotations

from collections.abc import Mapping

PUBLIC_URL_ENV = "TIDEGATE_PUBLIC_URL"


def local_url(host: str, port: int) -> str:
    """The URL processes on this machine reach a server listening on ``host:port`` with."""
    reachable = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    return f"http://{reachable}:{port}"


def public_url(env: Mapping[str, str], host: str, port: int) -> str:
    """The base URL others reach this server at: ``TIDEGATE_PUBLIC_URL``, else :func:`local_url`.

    Push certificates and function trigger URLs announced to subscribers are built on it.
    """
    return env.get(PUBLIC_URL_ENV) or local_url(host, port)
