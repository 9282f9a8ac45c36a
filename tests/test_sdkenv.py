"""The SDK virtual environments exist, hold the pinned SDKs, and run scripts in isolation."""

from __future__ import annotations

import pytest

from tests.sdkenv import ENVS, ensure_env, env_path, run_in_env

IMPORTS = {
    "mns115": "import mns.account, importlib.metadata as m; print(m.version('aliyun-mns'))",
    "mns130": "import mns.account, importlib.metadata as m; print(m.version('aliyun-mns-sdk'))",
    "fnfcore": (
        "import aliyunsdkcore.client, aliyunsdkfnf.request.v20190315.ReportTaskSucceededRequest;"
        "import importlib.metadata as m; print(m.version('aliyun-python-sdk-core'))"
    ),
    "fnftea": (
        "import alibabacloud_fnf20190315.client; import importlib.metadata as m;"
        "print(m.version('alibabacloud-fnf20190315'), m.version('alibabacloud-tea-openapi'))"
    ),
    "ramcore": (
        "import aliyunsdkram.request.v20150501.CreateUserRequest, aliyunsdksts.request.v20150401.AssumeRoleRequest;"
        "import importlib.metadata as m; print(m.version('aliyun-python-sdk-ram'), m.version('aliyun-python-sdk-sts'))"
    ),
    "ramtea": (
        "import alibabacloud_ram20150501.client, alibabacloud_sts20150401.client; import importlib.metadata as m;"
        "print(m.version('alibabacloud-ram20150501'), m.version('alibabacloud-sts20150401'))"
    ),
    "worker": (
        "import mns.account, aliyunsdkcore.client, aliyunsdkfnf.request.v20190315.ReportTaskSucceededRequest;"
        "import importlib.metadata as m; print(m.version('aliyun-mns'), m.version('aliyun-python-sdk-fnf'))"
    ),
}
EXPECTED = {
    "mns115": "1.1.5",
    "mns130": "1.3.0",
    "fnfcore": "2.16.1",
    "fnftea": "2.0.1 0.4.6",
    "worker": "1.1.5 1.8.3",
    "ramcore": "3.3.1 3.1.3",
    "ramtea": "1.3.0 1.2.0",
}


@pytest.mark.parametrize("name", sorted(ENVS))
def test_env_holds_pinned_sdk(name: str) -> None:
    env = ensure_env(name)
    assert env.path == env_path(name) and (env.path / ".stamp").is_file()
    proc = run_in_env(name, IMPORTS[name], timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == EXPECTED[name]


def test_run_in_env_passes_env_and_isolates() -> None:
    script = "import os, sys; e = os.environ; print(e.get('X_T'), e.get('PYTHONPATH'), 'tidegate' in sys.modules)"
    proc = run_in_env("mns130", script + "; import importlib.util as u; print(u.find_spec('tidegate'))", {"X_T": "1"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["1 None False", "None"]


def test_unknown_env() -> None:
    with pytest.raises(KeyError):
        env_path("nope")
