# mypy: ignore-errors
"""Runs inside the ``worker`` environment (aliyun-mns 1.1.5 + aliyunsdkcore + aliyunsdkfnf); driven by
``bench/peers/run.py``. tidegate's side of the peers' workload, with the callback benchmark's
document-style worker and its SDK calls (``bench/drivers/callback_client.py``: the first document's flow
``examples/queue-callback/flow.yaml``, MNS long poll, ``ReportTaskSucceeded``, delete), plus the report and
completion timestamps the peers' table needs. Modes as in ``common.py``; ``setup FLOW_FILE``.
"""

import datetime
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(os.path.dirname(os.path.dirname(HERE)), "drivers")]
import callback_client as cc  # noqa: E402
from aliyunsdkcore.acs_exception.exceptions import ServerException  # noqa: E402
from aliyunsdkfnf.request.v20190315 import (  # noqa: E402
    DescribeExecutionRequest,
    ListExecutionsRequest,
    ReportTaskSucceededRequest,
    StartExecutionRequest,
)
from common import cpu_s, main, wait_all  # noqa: E402
from mns.account import Account  # noqa: E402
from mns.mns_exception import MNSExceptionBase  # noqa: E402

FLOW, QUEUE = "bench-callback", "fnf-demo"


def setup(flow_file):
    return cc.setup(flow_file, FLOW, QUEUE)


def worker(stop_file, deadline):
    """``callback_client.worker``'s loop, with the time just before each report."""
    cpu0 = cpu_s()
    fnf_client = cc.fnf()
    my_queue = Account(cc.URL, cc.AK, cc.SK).get_queue(QUEUE)
    my_queue.set_encoding(False)
    reports = []
    while not os.path.exists(stop_file) and time.time() < deadline:
        try:
            recv_msg = my_queue.receive_message(1)
        except MNSExceptionBase as e:
            if getattr(e, "type", "") == "MessageNotExist":
                continue
            raise
        task_token = cc.json.loads(recv_msg.message_body)["task_token"]
        reports.append(time.time())
        try:
            cc.call(
                fnf_client,
                ReportTaskSucceededRequest.ReportTaskSucceededRequest(),
                Output='{"key": "value"}',
                TaskToken=task_token,
            )
        except ServerException as e:
            if e.error_code != "TaskAlreadyCompleted":
                raise
            reports.pop()
        my_queue.delete_message(recv_msg.receipt_handle)
    return {"reported": len(reports), "report_times": reports, "cpu_s": cpu_s() - cpu0}


def _epoch(rfc3339):
    return datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def start(prefix, n, mode, poll_s):
    del poll_s  # DescribeExecution's WaitTimeSeconds blocks until the execution ends: no polling
    cpu0 = cpu_s()
    names = [f"{prefix}-{i}" for i in range(n)]
    out = {"names": names}
    client = cc.fnf()
    if mode == "seq":
        visible, statuses = [], []
        for name in names:
            cc.call(
                client, StartExecutionRequest.StartExecutionRequest(), FlowName=FLOW, ExecutionName=name, Input="{}"
            )
            statuses.append(cc._wait(client, FLOW, name))
            visible.append(time.time())
        out.update(visible_times=visible, statuses=statuses)
    else:

        def starter(part):
            c = cc.fnf()
            for name in part:
                cc.call(c, StartExecutionRequest.StartExecutionRequest(), FlowName=FLOW, ExecutionName=name, Input="{}")

        threads = [threading.Thread(target=starter, args=(names[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        def running():
            r = cc.call(client, ListExecutionsRequest.ListExecutionsRequest(), FlowName=FLOW, Status="Running", Limit=1)
            return len(r.get("Executions") or [])

        wait_all(running, time.time() + 60 + n / 2)
        times = []
        for name in names:
            r = cc.call(client, DescribeExecutionRequest.DescribeExecutionRequest(), FlowName=FLOW, ExecutionName=name)
            times.append(
                (r["Status"], _epoch(r["StartedTime"]), _epoch(r["StoppedTime"]) if r["StoppedTime"] else None)
            )
        out["times"] = times
    out["cpu_s"] = cpu_s() - cpu0
    return out


if __name__ == "__main__":
    main(setup=setup, worker=worker, start=start)
