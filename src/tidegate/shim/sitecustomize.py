"""Point the official Alibaba Cloud SDKs at a tidegate server, with no change to the program.

Put this folder first on ``PYTHONPATH`` and set ``TIDEGATE_ENDPOINT=http://HOST:PORT`` (``tidegate env``
prints both lines). The MNS SDKs (``aliyun-mns``, ``aliyun-mns-sdk``) and the Tea FnF client read no
endpoint variable, and aliyunsdkcore only honours ``HTTP_PROXY`` (for all of the process's HTTP traffic),
so this module patches them as they are imported:

* ``mns.mns_client.MNSClient``: every ``Account(endpoint, …)`` talks to ``TIDEGATE_ENDPOINT``.
* ``aliyunsdkcore.client.AcsClient``: requests of the products ``fnf``, ``ram`` and ``sts`` go to
  ``TIDEGATE_ENDPOINT``, with its scheme (other products are untouched).
* ``alibabacloud_fnf20190315``, ``alibabacloud_ram20150501`` and ``alibabacloud_sts20150401``
  ``client.Client``: endpoint and protocol come from ``TIDEGATE_ENDPOINT``.

It does nothing when ``TIDEGATE_ENDPOINT`` is unset, imports nothing but the standard library, and chains
to any other ``sitecustomize`` found later on the path.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

_ENDPOINT = os.environ.get("TIDEGATE_ENDPOINT", "").rstrip("/")


def _host_port() -> str:
    return _ENDPOINT.split("://", 1)[-1]


def _scheme() -> str:
    return _ENDPOINT.split("://", 1)[0] if "://" in _ENDPOINT else "http"


def _patch_mns(mod: ModuleType) -> None:
    cls = mod.MNSClient
    original = cls.__init__

    def __init__(self: Any, host: str, *args: Any, **kwargs: Any) -> None:
        original(self, _ENDPOINT, *args, **kwargs)

    cls.__init__ = __init__


#: The aliyunsdkcore products tidegate serves (RPC API codes, lower case).
_CORE_PRODUCTS = frozenset({"fnf", "ram", "sts"})


def _patch_core(mod: ModuleType) -> None:
    cls = mod.AcsClient
    original = cls._resolve_endpoint

    def _resolve_endpoint(self: Any, request: Any) -> str:
        if str(request.get_product()).lower() in _CORE_PRODUCTS:
            request.set_protocol_type(_scheme())  # the RAM and STS requests ask for https
            return _host_port()
        return str(original(self, request))

    cls._resolve_endpoint = _resolve_endpoint


def _patch_tea(mod: ModuleType) -> None:
    cls = mod.Client
    original = cls.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._endpoint = _host_port()
        self._protocol = _scheme()

    cls.__init__ = __init__


_PATCHES: dict[str, Callable[[ModuleType], None]] = {
    "mns.mns_client": _patch_mns,
    "aliyunsdkcore.client": _patch_core,
    "alibabacloud_fnf20190315.client": _patch_tea,
    "alibabacloud_ram20150501.client": _patch_tea,
    "alibabacloud_sts20150401.client": _patch_tea,
}


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader, patch: Callable[[ModuleType], None]) -> None:
        self._inner = inner
        self._patch = patch

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        self._patch(module)


class _Finder(importlib.abc.MetaPathFinder):
    """Wraps the loader of the modules to patch; every other import is left alone."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        patch = _PATCHES.get(fullname)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _Loader(spec.loader, patch)
                return spec
        return None


def _chain() -> None:
    """Run the next ``sitecustomize`` on the path, if there is one (this module shadows it)."""
    here = os.path.dirname(os.path.abspath(__file__))
    for entry in sys.path:
        if not entry or os.path.abspath(entry) == here:
            continue
        candidate = os.path.join(entry, "sitecustomize.py")
        if os.path.isfile(candidate):
            spec = importlib.util.spec_from_file_location("_tidegate_next_sitecustomize", candidate)
            if spec is not None and spec.loader is not None:
                spec.loader.exec_module(importlib.util.module_from_spec(spec))
            return


if _ENDPOINT:
    for _name, _patch in _PATCHES.items():
        if _name in sys.modules:
            _patch(sys.modules[_name])
    sys.meta_path.insert(0, _Finder())
_chain()
