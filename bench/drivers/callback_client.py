# mypy: ignore-errors
"""Runs inside the ``worker`` environment (aliyun-mns 1.1.5 + aliyunsdkcore + aliyunsdkfnf); driven by
``bench/callback.py``. The server comes from ``MNS_URL`` (MNS) and ``ENDPOINT`` (RPC, ``host:port``); the
key from ``AK``/``SK``. The last stdout line is ``RESULT <json>``.

* ``setup FLOW_FILE FLOW QUEUE``: create the queue and the flow (CreateFlow through the RPC API).
* ``worker QUEUE STOP_FILE DEADLINE``: the first source document's worker loop (examples/queue-callback/
  worker.py: long-poll the queue, ReportTaskSucceeded with the message's token, delete the message), with
  the endpoints set directly, until ``STOP_FILE`` exists or the epoch time ``DEADLINE`` passes.
* ``start FLOW PREFIX N MODE``: start executions ``PREFIX-0`` … through StartExecution. ``seq``: one at a
  time, each awaited with DescribeExecution ``WaitTimeSeconds`` before the next (latency, unloaded).
  ``burst``: all of them back to back from 4 threads, without awaiting them (throughput: the benchmark
  watches the store for their ends, so that 2,000 DescribeExecution calls, which are no part of the round
  trip, do not share the 2 cores with it).
"""

import json
import os
import sys
import threading
import time

from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkfnf.request.v20190315 import (
    CreateFlowRequest,
    DescribeExecutionRequest,
    ReportTaskSucceededRequest,
    StartExecutionRequest,
)
from mns.account import Account
from mns.mns_exception import MNSExceptionBase
from mns.queue import QueueMeta

URL, ENDPOINT, AK, SK = (os.environ[k] for k in ("MNS_URL", "ENDPOINT", "AK", "SK"))


def fnf():
    return AcsClient(AK, SK, "cn-hangzhou", timeout=70, auto_retry=False)


def call(client, request, **params):
    request.set_endpoint(ENDPOINT)  # a bench driver sets the endpoint directly (no shim, no proxy)
    for k, v in params.items():
        getattr(request, "set_" + k)(v)
    return json.loads(client.do_action_with_exception(request))


def setup(flow_file, flow, queue):
    Account(URL, AK, SK).get_queue(queue).create(QueueMeta())
    with open(flow_file) as f:
        definition = f.read()
    call(fnf(), CreateFlowRequest.CreateFlowRequest(), Name=flow, Definition=definition, Description="", Type="FDL")
    return {"flow": flow, "queue": queue}


def _cpu_s():
    t = os.times()
    return t.user + t.system


def worker(queue_name, stop_file, deadline):
    cpu0 = _cpu_s()  # the loop's CPU, without the interpreter's and the SDK's start-up
    fnf_client = fnf()
    my_queue = Account(URL, AK, SK).get_queue(queue_name)
    my_queue.set_encoding(False)
    done = completed_already = 0
    while not os.path.exists(stop_file) and time.time() < deadline:
        try:
            recv_msg = my_queue.receive_message(1)  # short polls: the loop must notice STOP_FILE
        except MNSExceptionBase as e:
            if getattr(e, "type", "") == "MessageNotExist":
                continue
            raise
        task_token = json.loads(recv_msg.message_body)["task_token"]
        try:
            call(
                fnf_client,
                ReportTaskSucceededRequest.ReportTaskSucceededRequest(),
                Output='{"key": "value"}',
                TaskToken=task_token,
            )
            done += 1
        except ServerException as e:
            if e.error_code != "TaskAlreadyCompleted":
                raise
            completed_already += 1
        my_queue.delete_message(recv_msg.receipt_handle)
    return {"reported": done, "already_completed": completed_already, "cpu_s": _cpu_s() - cpu0}


def _wait(client, flow, name):
    while True:
        r = call(
            client,
            DescribeExecutionRequest.DescribeExecutionRequest(),
            FlowName=flow,
            ExecutionName=name,
            WaitTimeSeconds=20,
        )
        if r["Status"] != "Running":
            return r["Status"]


def start(flow, prefix, n, mode):
    cpu0 = _cpu_s()
    names = [f"{prefix}-{i}" for i in range(n)]
    statuses = {}
    t0 = time.time()
    if mode == "seq":
        client = fnf()
        for name in names:
            call(client, StartExecutionRequest.StartExecutionRequest(), FlowName=flow, ExecutionName=name, Input="{}")
            statuses[name] = _wait(client, flow, name)
    else:

        def starter(part):
            client = fnf()
            for name in part:
                call(
                    client, StartExecutionRequest.StartExecutionRequest(), FlowName=flow, ExecutionName=name, Input="{}"
                )

        threads = [threading.Thread(target=starter, args=(names[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    succeeded = sum(s == "Succeeded" for s in statuses.values())
    return {"names": names, "succeeded": succeeded, "seconds": time.time() - t0, "cpu_s": _cpu_s() - cpu0}


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "setup":
        res = setup(*args)
    elif mode == "worker":
        res = worker(args[0], args[1], float(args[2]))
    elif mode == "start":
        res = start(args[0], args[1], int(args[2]), args[3])
    else:
        raise SystemExit(f"unknown mode {mode}")
    print("RESULT " + json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
