"""Drive a tidegate server's RAM API with the official RAM SDKs (see tests/api/sdk.py for the pattern).

``ramcore`` (aliyun-python-sdk-ram) reaches the server through the ``sitecustomize`` shim, as a program run
after ``eval "$(tidegate env)"`` does: no endpoint in the program. ``ramtea`` (alibabacloud-ram20150501) is
given the endpoint in its ``Config``. A scenario calls ``call(action, **params)`` with RAM's parameter names
(``_extra={...}``: raw parameters, core SDK only) and gets ``{"ok": body}`` or ``{"error": code, "status":
n, "message": text}``.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

from tests.sdkenv import run_in_env
from tests.server import ServerProcess
from tidegate.shim import SHIM_DIR

CORE_PRELUDE = """
import importlib, json, os
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.acs_exception.exceptions import ServerException

client = AcsClient(os.environ["AK"], os.environ["SK"], "cn-hangzhou", timeout=30, auto_retry=False)

def call(action, **params):
    mod = importlib.import_module("aliyunsdkram.request.v20150501." + action + "Request")
    req = getattr(mod, action + "Request")()
    for k, v in params.pop("_extra", {}).items():  # parameters the SDK has no setter for
        req.add_query_param(k, v)
    for k, v in params.items():
        getattr(req, "set_" + k)(v)
    try:
        return {"ok": json.loads(client.do_action_with_exception(req))}
    except ServerException as e:
        return {"error": e.get_error_code(), "status": e.get_http_status(), "message": e.get_error_msg()}
"""

TEA_PRELUDE = """
import json, os, re
from alibabacloud_ram20150501.client import Client
from alibabacloud_ram20150501 import models as m
from alibabacloud_tea_openapi.utils_models import Config
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException

client = Client(Config(access_key_id=os.environ["AK"], access_key_secret=os.environ["SK"],
                       endpoint=os.environ["ENDPOINT"], protocol="http", region_id="cn-hangzhou"))

def call(action, **params):
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()
    try:
        if hasattr(m, action + "Request"):
            answer = getattr(client, snake)(getattr(m, action + "Request")().from_map(params))
        else:
            answer = getattr(client, snake)()
        return {"ok": answer.body.to_map()}
    except (ClientException, ServerException) as e:
        return {"error": e.code, "status": e.status_code, "message": e.message}
"""

PRELUDES = {"ramcore": CORE_PRELUDE, "ramtea": TEA_PRELUDE}


def run_ram(
    sdk: str,
    server: ServerProcess,
    scenario: str,
    *,
    ak: str = "testAccessKeyId",
    sk: str = "testAccessKeySecret",
    **values: Any,
) -> dict[str, Any]:
    """Run ``scenario`` under ``sdk`` against ``server`` (``values`` become variables); return ``out``."""
    prelude = PRELUDES[sdk] + "".join(f"{k} = {v!r}\n" for k, v in values.items())
    script = prelude + "\nout = {}\n" + textwrap.dedent(scenario) + "\nprint('@@OUT@@' + json.dumps(out))\n"
    env = {"AK": ak, "SK": sk, "ENDPOINT": server.endpoint}
    if sdk == "ramcore":
        env |= {"PYTHONPATH": str(SHIM_DIR), "TIDEGATE_ENDPOINT": server.url}
    proc = run_in_env(sdk, script, env=env, timeout=120)
    marker = [line for line in proc.stdout.splitlines() if line.startswith("@@OUT@@")]
    assert proc.returncode == 0 and marker, f"scenario failed:\n{proc.stdout}\n{proc.stderr}"
    result: dict[str, Any] = json.loads(marker[-1][len("@@OUT@@") :])
    return result
