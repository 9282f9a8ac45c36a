"""``tidegate server`` as a command: generated root key, --deploy, graceful SIGTERM."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.server import ServerProcess
from tests.waiting import wait_until


def test_generated_root_key_is_printed_once_and_sigterm_stops(tmp_path: Path) -> None:
    data = tmp_path / "data"
    srv = ServerProcess(data, args=["--deploy", str(tmp_path)])
    srv.start()
    key = json.loads((data / "root-key.json").read_text())
    assert stat.S_IMODE((data / "root-key.json").stat().st_mode) == 0o600
    # The deploy runs once the server answers, in the background: each start's is awaited before going on.
    wait_until(lambda: srv.log().count("tidegate: deployed") >= 1, message="the first start's deploy")
    srv.restart()
    wait_until(lambda: srv.log().count("tidegate: deployed") >= 2, message="the second start's deploy")
    code = srv.stop()
    log = srv.log()
    assert code == 0
    assert log.count(key["access_key_secret"]) == 1  # printed on creation only
    assert key["access_key_id"] in log and "root-key.json" in log
    assert "tidegate.deploy: deployed" in log
    assert (data / "tidegate.db").exists()
    assert log.rstrip().endswith("tidegate.server: stopped")
