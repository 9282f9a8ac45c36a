"""Handler loading inside a worker: one module namespace per code folder, reloaded when files change.

A worker serves many functions. Two code folders may both hold an ``index.py`` (or a ``utils.py`` that
their handlers import), so the modules imported from a folder are kept per folder and swapped in and out
of ``sys.modules`` when the worker switches folders. Modules from outside the folder (the standard
library, site-packages) are shared, as they would be in one Function Compute instance.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import sys
import traceback
from collections.abc import Callable
from types import ModuleType
from typing import Any

from tidegate.functions._model import (
    FUNCTION_NOT_FOUND,
    HANDLER_IMPORT_ERROR,
    HANDLER_NOT_FOUND,
    INITIALIZER_ERROR,
)

# Checking every file of a namespace costs one stat each per invocation; past this many files only the
# first ones (the handler module comes first) are watched.
_MAX_WATCHED = 32


class LoadFailure(Exception):
    """A handler could not be found, imported or initialised; carries the error name to report."""

    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack = stack or []


_OWN_FILES = os.path.dirname(os.path.abspath(__file__)) + os.sep

MAX_STACK_FRAMES = 32
"""The innermost frames a stack trace keeps (a note says how many outer ones were left out)."""
MAX_STACK_ENTRY = 1024
"""The longest entry (one frame: its location and source line) of a stack trace, in characters."""


def format_stack(exc: BaseException) -> list[str]:
    """The traceback of ``exc`` as FC-style entries, without the runtime's own frames; bounded.

    At most :data:`MAX_STACK_FRAMES` frames (the innermost, where the error is) of at most
    :data:`MAX_STACK_ENTRY` characters each: a stack travels with the error into histories and responses.
    """
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith((_OWN_FILES, "<frozen importlib"))
    ]
    omitted = max(0, len(frames) - MAX_STACK_FRAMES)
    entries = [_clip(line.rstrip("\n")) for line in traceback.format_list(frames[omitted:])]
    if omitted:
        entries.insert(0, f"  [... {omitted} outer frames omitted]")
    return entries


def _clip(text: str) -> str:
    return text if len(text) <= MAX_STACK_ENTRY else text[: MAX_STACK_ENTRY - 1] + "…"


class _Namespace:
    def __init__(self, code_dir: str) -> None:
        self.code_dir = code_dir
        self.prefix = code_dir.rstrip(os.sep) + os.sep
        self.modules: dict[str, ModuleType] = {}
        self.stamps: dict[str, tuple[int, int]] = {}
        self.handlers: dict[str, Callable[..., Any]] = {}
        self.initialized: set[str] = set()


def _stamp(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1)
    return (st.st_mtime_ns, st.st_size)


class Loader:
    """Finds handlers by ``module.attr`` in code folders, caching modules per folder."""

    def __init__(self) -> None:
        self._spaces: dict[str, _Namespace] = {}
        self._active: _Namespace | None = None
        # sys.path[0] is ours: it always names the active code folder.
        sys.path.insert(0, os.sep)
        self.module_count = len(sys.modules)

    def activate(self, code_dir: str) -> None:
        """Make ``code_dir`` the cwd and the import root, dropping its modules if a file changed."""
        try:
            os.chdir(code_dir)
        except OSError as exc:
            raise LoadFailure(FUNCTION_NOT_FOUND, f"code folder {code_dir} is not available: {exc}") from None
        ns = self._spaces.get(code_dir)
        if ns is None:
            ns = self._spaces[code_dir] = _Namespace(code_dir)
        if ns is not self._active:
            if self._active is not None:
                self._hide(self._active)
            sys.modules.update(ns.modules)
            sys.path[0] = code_dir
            self._active = ns
        for path, stamp in ns.stamps.items():
            if _stamp(path) != stamp:
                self._unload(ns)
                break

    def handler(self, code_dir: str, name: str) -> Callable[..., Any]:
        """The callable ``name`` (``module.attr``) of the active folder."""
        ns = self._spaces[code_dir]
        found = ns.handlers.get(name)
        if found is not None:
            return found
        module_name, _, attr = name.rpartition(".")
        if not module_name or not attr:
            raise LoadFailure(HANDLER_NOT_FOUND, f"invalid handler {name!r}: expected 'module.function'")
        module = self._import(ns, module_name)
        func: Callable[..., Any] | None = getattr(module, attr, None)
        if func is None or not callable(func):
            raise LoadFailure(HANDLER_NOT_FOUND, f"module {module_name!r} has no callable {attr!r}")
        ns.handlers[name] = func
        return func

    def initialize(self, code_dir: str, name: str, context: object) -> None:
        """Run the initializer ``name`` once per load of the folder's code."""
        ns = self._spaces[code_dir]
        if name in ns.initialized:
            return
        try:
            func = self.handler(code_dir, name)
        except LoadFailure as exc:
            raise LoadFailure(exc.error_type, f"initializer: {exc.message}", exc.stack) from None
        try:
            func(context)
        except BaseException as exc:
            message = f"initializer {name} failed: {type(exc).__name__}: {exc}"
            raise LoadFailure(INITIALIZER_ERROR, message, format_stack(exc)) from None
        ns.initialized.add(name)

    def adopt_new_modules(self) -> None:
        """Claim modules imported lazily during a call (only scans when ``sys.modules`` grew or shrank)."""
        if len(sys.modules) != self.module_count and self._active is not None:
            self._adopt(self._active)
        self.module_count = len(sys.modules)

    def _import(self, ns: _Namespace, module_name: str) -> ModuleType:
        top = module_name.partition(".")[0]
        # The folder's listing is cached by the import system; a file created a moment ago must be seen.
        importlib.invalidate_caches()
        if top not in ns.modules:
            if importlib.machinery.PathFinder.find_spec(top, [ns.code_dir]) is None:
                raise LoadFailure(HANDLER_NOT_FOUND, f"module {top!r} not found in {ns.code_dir}")
            if top in sys.modules:
                # Importing would return the runtime's own module of that name instead of the user's file.
                raise LoadFailure(
                    HANDLER_NOT_FOUND, f"module name {top!r} shadows a module the runtime uses; rename it"
                )
        try:
            return importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
                raise LoadFailure(HANDLER_NOT_FOUND, f"module {module_name!r} not found") from None
            message, stack = _import_message(module_name, exc), format_stack(exc)
            raise LoadFailure(HANDLER_IMPORT_ERROR, message, stack) from None
        except BaseException as exc:
            message, stack = _import_message(module_name, exc), format_stack(exc)
            raise LoadFailure(HANDLER_IMPORT_ERROR, message, stack) from None
        finally:
            self._adopt(ns)

    def _adopt(self, ns: _Namespace) -> None:
        for name, module in list(sys.modules.items()):
            path = getattr(module, "__file__", None)
            if name not in ns.modules and isinstance(path, str) and path.startswith(ns.prefix):
                ns.modules[name] = module
                if len(ns.stamps) < _MAX_WATCHED:
                    ns.stamps[path] = _stamp(path)
        self.module_count = len(sys.modules)

    def _hide(self, ns: _Namespace) -> None:
        for name, module in ns.modules.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]

    def _unload(self, ns: _Namespace) -> None:
        self._hide(ns)
        ns.modules.clear()
        ns.stamps.clear()
        ns.handlers.clear()
        ns.initialized.clear()
        self.module_count = len(sys.modules)


def _import_message(module_name: str, exc: BaseException) -> str:
    return f"cannot import module {module_name!r}: {type(exc).__name__}: {exc}"
