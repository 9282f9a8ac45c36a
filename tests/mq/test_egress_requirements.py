"""Functions' requirements come from the package index only, unless the server allows direct references.

A real server, its real pip and a real listener standing for the URL a requirement names: by default
the deploy is refused with the line quoted and nothing is fetched; with ``--allow-direct-requirements``
the server's pip fetches the URL (the listener sees it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.server import TEST_KEYS, ServerProcess
from tidegate.deploy.errors import RequirementsFailed
from tidegate.deploy.packages import check_requirement

AUTH = (TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"], TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"])


@pytest.mark.parametrize(
    "line",
    [
        "requests",
        "requests==2.31.0",
        " requests[socks, security] >=2.31 , <3 ",
        "requests (>=2.0)",
        "zope.interface~=6.0",
        'tzdata; python_version >= "3.11"',
        "pkg===1.0+local",
    ],
)
def test_a_project_of_the_index_is_a_requirement(line: str) -> None:
    check_requirement(line)


@pytest.mark.parametrize(
    "line",
    [
        "evilpkg @ http://127.0.0.1:18819/evilpkg-1.0-py3-none-any.whl",
        "evilpkg@https://example.com/e.zip",
        "https://example.com/pkg.tar.gz",
        "git+https://github.com/owner/repo",
        "file:///tmp/pkg",
        "./pkg",
        "../pkg",
        "/opt/pkg",
        "~/pkg",
        "pkg-1.0-py3-none-any.whl",
        "pkg.tar.gz",
        "requests --index-url http://10.0.0.5/simple",
        'requests; python_version > "3" @ http://10.0.0.5/x',
        "requests\nevil @ http://10.0.0.5/x",
    ],
)
def test_a_requirement_naming_its_source_is_refused_unless_allowed(line: str) -> None:
    with pytest.raises(RequirementsFailed) as refused:
        check_requirement(line)
    assert repr(line.strip()[:200]) in refused.value.message
    assert "--allow-direct-requirements" in refused.value.message
    check_requirement(line, allow_direct=True)


class Index:
    """Records the paths a pip asks for and answers 404 (nothing is served)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paths.append(self.path)
                self.send_response(404)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def index() -> Iterator[Index]:
    srv = Index()
    yield srv
    srv.close()


def _deploy(server: ServerProcess, code: Path, requirement: str) -> httpx.Response:
    body = {"code_dir": str(code), "requirements": [requirement]}
    return httpx.put(f"{server.url}/api/v1/functions/demo/fetcher", json=body, auth=AUTH, timeout=120)


@pytest.mark.parametrize("allowed", [False, True])
def test_the_server_fetches_a_direct_requirement_only_when_allowed(tmp_path: Path, index: Index, allowed: bool) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "index.py").write_text("def handler(event, context):\n    return {}\n")
    args = ["--allow-direct-requirements"] if allowed else []
    srv = ServerProcess(tmp_path / "data", env=TEST_KEYS, args=args)
    srv.start()
    try:
        line = f"evilpkg @ http://127.0.0.1:{index.port}/evilpkg-1.0-py3-none-any.whl"
        r = _deploy(srv, code, line)
        assert r.status_code == 400 and r.json()["code"] == "InvalidArgument", r.text
        if allowed:
            assert index.paths == ["/evilpkg-1.0-py3-none-any.whl"]  # the server's pip went there
            assert "pip could not install" in r.json()["message"]
        else:
            assert index.paths == []
            assert r.json()["message"] == (
                f"requirement {line!r} does not name a project of the package index (a URL, a path or a file is "
                "installed only when the server runs with --allow-direct-requirements)"
            )
        assert httpx.get(f"{srv.url}/api/v1/functions/demo/fetcher", auth=AUTH).status_code == 404
    finally:
        srv.stop()
