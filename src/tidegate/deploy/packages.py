"""Functions' own dependencies: ``requirements`` installed with pip into the server's data folder.

Function Compute users vendor dependencies into the code folder (``pip install -t .``); that works here
as is, because the code folder is the function's import root. A function may instead list
``requirements``: the server installs them once per distinct list into
``DATA/functions/_site/<hash>/`` (``pip install --target``) and runs the function from a *view*
``DATA/functions/<service>/<function>/``: a folder of symbolic links to every top-level entry of the
installed packages and of the code folder (the code wins on a name clash). The view is the function's
``code_dir`` for the runner, so the worker imports the function's code and its packages from one root and
keeps them per function (two functions may pin different versions). Nothing is written into the code
folder, so a checked-out project stays clean.

Files *inside* linked folders and edits to linked files are seen at once; a new top-level file in the code
folder appears at the next deploy (or server start, which rebuilds views lazily).

Requirements come from the configured package index only: a line that names a URL, a path or an archive
instead of a project (``name @ https://…``, ``git+https://…``, ``./pkg``, ``pkg-1.0-py3-none-any.whl``) is
refused before pip runs (:func:`check_requirement`) unless the server allows direct requirements
(``--allow-direct-requirements``): otherwise a deploy could make the server fetch any URL.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from tidegate.deploy.errors import RequirementsFailed
from tidegate.errors import TidegateError

__all__ = ["PIP_TIMEOUT_S", "Stager", "check_requirement", "requirements_hash"]

PIP_TIMEOUT_S = 900.0
_STAMP = ".tidegate-requirements.json"
# PEP 508 without a URL: a project name, extras, version clauses (also in parentheses), a marker.
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_VERSION = r"(?:~=|===|==|!=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+"
_VERSIONS = rf"{_VERSION}(?:\s*,\s*{_VERSION})*"
_BY_NAME = re.compile(
    rf"{_NAME}\s*(?:\[\s*(?:{_NAME}(?:\s*,\s*{_NAME})*)?\s*\])?\s*(?:{_VERSIONS}|\(\s*{_VERSIONS}\s*\))?"
    r"\s*(?:;[^@]*)?"
)
# pip reads a name ending so as a file to install, not a project to look up.
_ARCHIVES = (".whl", ".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar.lz", ".tlz")


def check_requirement(line: str, *, allow_direct: bool = False) -> None:
    """Refuse a requirement pip would fetch from somewhere else than the package index.

    Allowed: a project by name, with extras, versions and a marker (``requests[socks]>=2.31; python_version
    >= "3.11"``). Refused unless ``allow_direct``: a URL (``name @ URL``, ``https://…``, ``git+…``), a path,
    an archive file name.

    Raises:
        RequirementsFailed: the line names its source (the message quotes it).
    """
    text = line.strip()
    if allow_direct:
        return
    if not _BY_NAME.fullmatch(text) or "://" in text or text.lower().endswith(_ARCHIVES):
        raise RequirementsFailed(
            f"requirement {text[:200]!r} does not name a project of the package index (a URL, a path or a "
            "file is installed only when the server runs with --allow-direct-requirements)"
        )


def requirements_hash(requirements: Sequence[str]) -> str:
    """A short stable name for a requirement list (order and surrounding blanks ignored)."""
    text = json.dumps(sorted(r.strip() for r in requirements))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Stager:
    """Installs requirement lists and builds per-function views under ``root`` (thread-safe).

    Args:
        root: ``DATA/functions``.
        python: The interpreter whose pip installs the packages (the function workers' interpreter).
        installed: Called with each newly installed folder before it is used (the function host gives the
            workers read access to it: pip moves files in with the server's private permissions).
        allow_direct: requirements may name a URL, a path or a file (see :func:`check_requirement`).
    """

    def __init__(
        self,
        root: Path,
        python: str = sys.executable,
        installed: Callable[[Path], None] | None = None,
        *,
        allow_direct: bool = False,
    ) -> None:
        self.root = root
        self.python = python
        self.installed = installed
        self.allow_direct = allow_direct
        self._lock = threading.Lock()
        self._views: dict[tuple[str, str], tuple[str, str]] = {}

    def site(self, requirements: Sequence[str]) -> Path:
        """The folder holding ``requirements`` installed; installs them the first time.

        A list installed before (by this server or with other settings) is used as it is: nothing is fetched.

        Raises:
            RequirementsFailed: a line names a URL, a path or a file (see :func:`check_requirement`), or pip
                failed (its output's tail is in the message).
        """
        target = self.root / "_site" / requirements_hash(requirements)
        if (target / _STAMP).is_file():
            return target
        for line in requirements:
            check_requirement(line, allow_direct=self.allow_direct)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Built beside the final name and renamed: a half-finished install is never used.
        tmp = target.parent / f".tmp-{uuid.uuid4().hex[:8]}"
        cmd = [self.python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input"]
        cmd += ["--target", str(tmp), *[r.strip() for r in requirements]]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise RequirementsFailed(f"pip could not install {list(requirements)}: {exc}") from None
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            tail = (proc.stderr or proc.stdout).strip()[-1500:]
            raise RequirementsFailed(f"pip could not install {list(requirements)}:\n{tail}")
        (tmp / _STAMP).write_text(json.dumps(list(requirements)))
        if self.installed is not None:
            try:
                self.installed(tmp)
            except (OSError, TidegateError) as exc:
                shutil.rmtree(tmp, ignore_errors=True)
                raise RequirementsFailed(f"installed {list(requirements)}, but: {exc}") from None
        try:
            tmp.rename(target)
        except OSError:
            # Another process finished the same list first; theirs is as good as ours.
            shutil.rmtree(tmp, ignore_errors=True)
        return target

    def view(self, service: str, name: str, code_dir: Path, requirements: Sequence[str]) -> Path:
        """The folder a function with ``requirements`` runs from (built or refreshed now).

        Raises:
            RequirementsFailed: pip failed.
        """
        with self._lock:
            site = self.site(requirements)
            view = self.root / service / name
            view.mkdir(parents=True, exist_ok=True)
            wanted: dict[str, Path] = {}
            for source in (site, code_dir):  # the code folder second: its entries win
                for entry in sorted(os.listdir(source)):
                    if entry != _STAMP and entry != "__pycache__":
                        wanted[entry] = source / entry
            for entry in os.listdir(view):
                path = view / entry
                if entry not in wanted and path.is_symlink():
                    path.unlink()
            for entry, target in wanted.items():
                path = view / entry
                if path.is_symlink() and os.readlink(path) == str(target):
                    continue
                # Replaced atomically, so a worker importing at this moment sees the old or the new link.
                tmp = view / f".{entry}.{uuid.uuid4().hex[:6]}"
                os.symlink(target, tmp)
                os.replace(tmp, path)
            self._views[(service, name)] = (str(code_dir), requirements_hash(requirements))
            return view

    def cached_view(self, service: str, name: str, code_dir: Path, requirements: Sequence[str]) -> Path:
        """Like :meth:`view`, but only builds when this process has not built it for these inputs."""
        key = (str(code_dir), requirements_hash(requirements))
        if self._views.get((service, name)) == key:
            return self.root / service / name
        return self.view(service, name, code_dir, requirements)
