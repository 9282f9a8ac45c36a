"""``tidegate env`` prints shell lines that a shell can evaluate."""

from __future__ import annotations

import subprocess
from pathlib import Path

from click.testing import CliRunner

from tidegate.cli import main
from tidegate.shim import SHIM_DIR

KEYS = {
    "TIDEGATE_ACCESS_KEY_ID": "LTAIabcdefabcdefabcdef1234",
    "TIDEGATE_ACCESS_KEY_SECRET": "s3cr3t-s3cr3t-s3cr3t-s3cr3t-1",
}


def test_env_lines_evaluate_in_a_shell(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["env", "--data", str(tmp_path), "--endpoint", "http://127.0.0.1:9999/"], env=KEYS
    )
    assert result.exit_code == 0, result.output
    # Nothing answers there: a warning on stderr, the exports still on stdout.
    assert result.stderr.startswith("warning: no tidegate server answers at http://127.0.0.1:9999")
    echo = "$TIDEGATE_ENDPOINT|$PYTHONPATH|$AK_ID|$AK_SECRET|$REGION|$ACCOUNT_ID|$TIDEGATE_ACCESS_KEY_ID"
    script = result.stdout + f'\necho "{echo}|$TIDEGATE_ACCESS_KEY_SECRET"\n'
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env={"PYTHONPATH": "/x"}, check=True)
    endpoint, pythonpath, ak, secret, region, account, tg_id, tg_secret = out.stdout.strip().split("|")
    assert endpoint == "http://127.0.0.1:9999"
    assert (tg_id, tg_secret) == (KEYS["TIDEGATE_ACCESS_KEY_ID"], KEYS["TIDEGATE_ACCESS_KEY_SECRET"])
    assert pythonpath == f"{SHIM_DIR}:/x"
    assert (ak, secret) == (KEYS["TIDEGATE_ACCESS_KEY_ID"], KEYS["TIDEGATE_ACCESS_KEY_SECRET"])
    assert (region, account) == ("cn-hangzhou", "1234567890123456")


def test_env_without_a_key_says_how_to_get_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["env", "--data", str(tmp_path)], env={"TIDEGATE_ACCESS_KEY_ID": ""})
    assert result.exit_code == 2
    assert "tidegate server --data" in result.output
    assert not (tmp_path / "root-key.json").exists()  # env never creates a key
