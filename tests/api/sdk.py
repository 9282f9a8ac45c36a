"""Drive a tidegate server with the official FnF SDKs, each in its own virtual environment.

A test writes a *scenario*: Python source that calls ``call(action, **params)`` (wire parameter names,
``_method="GET"`` to override the SDK's method) and records results with ``out[key] = …``. The same
scenario runs under either SDK; ``call`` returns ``{"ok": body}`` or ``{"error": code, "status": n,
"message": text}``. ``out`` is printed as JSON and returned to the test.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from typing import Any

from tests.sdkenv import run_in_env

CORE_PRELUDE = """
import importlib, json, os
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.acs_exception.exceptions import ServerException

client = AcsClient(os.environ["AK"], os.environ["SK"], "cn-hangzhou", timeout=70, auto_retry=False)

def call(action, **params):
    mod = importlib.import_module("aliyunsdkfnf.request.v20190315." + action + "Request")
    req = getattr(mod, action + "Request")()
    if os.environ.get("ENDPOINT"):
        req.set_endpoint(os.environ["ENDPOINT"])
    method = params.pop("_method", None)
    if method:
        req.set_method(method)
    for k, v in params.items():
        getattr(req, "set_" + k)(v)
    try:
        return {"ok": json.loads(client.do_action_with_exception(req))}
    except ServerException as e:
        return {"error": e.get_error_code(), "status": e.get_http_status(), "message": e.get_error_msg()}
"""

TEA_PRELUDE = """
import json, os, re
from alibabacloud_fnf20190315.client import Client
from alibabacloud_fnf20190315 import models as m
from alibabacloud_tea_openapi.utils_models import Config
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException

client = Client(Config(access_key_id=os.environ["AK"], access_key_secret=os.environ["SK"],
                       security_token=os.environ.get("STS") or None,
                       endpoint=os.environ["ENDPOINT"], protocol="http", region_id="cn-hangzhou",
                       read_timeout=70000))

def call(action, **params):
    params.pop("_method", None)  # the Tea client fixes the method per action
    req = getattr(m, action + "Request")().from_map(params)
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()
    try:
        return {"ok": getattr(client, snake)(req).body.to_map()}
    except (ClientException, ServerException) as e:
        return {"error": e.code, "status": e.status_code, "message": e.message}
"""

PRELUDES = {"fnfcore": CORE_PRELUDE, "fnftea": TEA_PRELUDE}


def run_scenario(
    sdk: str,
    endpoint: str,
    scenario: str,
    *,
    env: Mapping[str, str] | None = None,
    ak: str = "testAccessKeyId",
    sk: str = "testAccessKeySecret",
    timeout: float = 90.0,
    prelude: str | None = None,
) -> dict[str, Any]:
    """Run ``scenario`` under ``sdk`` (``fnfcore`` or ``fnftea``) against ``endpoint``; return ``out``.

    ``prelude`` replaces the SDK's own (:data:`PRELUDES`): ``sdk`` then names any environment of
    :data:`tests.sdkenv.ENVS` (e.g. ``ramtea`` with an STS prelude).
    """
    script = (
        (PRELUDES[sdk] if prelude is None else prelude)
        + "\nout = {}\n"
        + textwrap.dedent(scenario)
        + "\nprint('@@OUT@@' + json.dumps(out))\n"
    )
    full_env = {"AK": ak, "SK": sk, "ENDPOINT": endpoint, **(env or {})}
    proc = run_in_env(sdk, script, env=full_env, timeout=timeout)
    marker = [line for line in proc.stdout.splitlines() if line.startswith("@@OUT@@")]
    assert proc.returncode == 0 and marker, f"scenario failed:\n{proc.stdout}\n{proc.stderr}"
    result: dict[str, Any] = json.loads(marker[-1][len("@@OUT@@") :])
    return result
