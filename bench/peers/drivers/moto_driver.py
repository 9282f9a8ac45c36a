# mypy: ignore-errors
"""Runs inside ``.venvs/peers-moto`` (moto[server] + boto3); driven by ``bench/peers/run.py``.

The peer: moto's server with Step Functions *execution on* (``execute_state_machine``, its ASL interpreter)
and SQS. The flow is the queue-callback example in Amazon States Language: one task state
``arn:aws:states:::sqs:sendMessage.waitForTaskToken`` whose message body carries ``$$.Task.Token``; the
worker long-polls the queue, reports ``SendTaskSuccess`` with the token, deletes the message.

Environment: ``MOTO_URL`` (``http://127.0.0.1:PORT``). The last stdout line is ``RESULT <json>``.

* ``setup``: turn execution on (``POST /moto-api/config``), create the queue and the state machine.
* ``worker STOP_FILE DEADLINE``: the worker loop until STOP_FILE exists or DEADLINE (epoch s) passes.
* ``start PREFIX N seq|burst POLL_S``: see ``bench/peers/drivers/common.py``.
"""

import json
import os
import sys
import threading
import time
import urllib.request

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import cpu_s, main, wait_all

URL = os.environ["MOTO_URL"]
ACCOUNT, REGION, QUEUE, MACHINE = "123456789012", "us-east-1", "fnf-demo", "bench-callback"
MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{MACHINE}"


def client(service):
    return boto3.client(
        service,
        endpoint_url=URL,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, read_timeout=70, max_pool_connections=8),
    )


def setup():
    req = urllib.request.Request(
        URL + "/moto-api/config",
        data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    # moto's answer does not echo the stepfunctions setting: the runs check that executions really ran
    # (a stored SUCCEEDED status and a SendTaskSuccess per execution).
    urllib.request.urlopen(req, timeout=30).close()
    queue_url = client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"]
    definition = {
        "StartAt": "Task_1",
        "States": {
            "Task_1": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": queue_url, "MessageBody": {"task_token.$": "$$.Task.Token", "key": "value"}},
                "End": True,
            }
        },
    }
    client("stepfunctions").create_state_machine(
        name=MACHINE, definition=json.dumps(definition), roleArn=f"arn:aws:iam::{ACCOUNT}:role/bench"
    )
    return {"queue_url": queue_url, "state_machine": MACHINE_ARN}


def _report(sfn, token):
    """SendTaskSuccess; returns how often moto answered InvalidToken first.

    Under concurrency moto's interpreter can send the message before the execution's callback is
    registered, and a report in that window is refused with InvalidToken. The worker retries every 10 ms
    (for at most 10 s) instead of failing; the time stays counted from the first attempt.
    """
    limit = time.time() + 10
    for attempt in range(1000):
        try:
            sfn.send_task_success(taskToken=token, output='{"key": "value"}')
            return attempt
        except sfn.exceptions.InvalidToken:
            if time.time() > limit:
                raise
            time.sleep(0.01)  # moto registers the callback a moment later
    raise RuntimeError("unreachable")


def worker(stop_file, deadline):
    cpu0 = cpu_s()
    sqs, sfn = client("sqs"), client("stepfunctions")
    queue_url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    reports, retries = [], 0
    while not os.path.exists(stop_file) and time.time() < deadline:
        msgs = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1).get("Messages", [])
        for msg in msgs:
            token = json.loads(msg["Body"])["task_token"]
            reports.append(time.time())
            retries += _report(sfn, token)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=msg["ReceiptHandle"])
    return {
        "reported": len(reports),
        "report_times": reports,
        "invalid_token_retries": retries,
        "cpu_s": cpu_s() - cpu0,
    }


def _arn(name):
    return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{MACHINE}:{name}"


def start_one(sfn, name):
    sfn.start_execution(stateMachineArn=MACHINE_ARN, name=name, input="{}")


def status(sfn, name):
    """The execution's status and its start and stop times (epoch s) as the server recorded them."""
    r = sfn.describe_execution(executionArn=_arn(name))
    stop = r.get("stopDate")
    return r["status"], r["startDate"].timestamp(), stop.timestamp() if stop else None


def start(prefix, n, mode, poll_s):
    cpu0 = cpu_s()
    names = [f"{prefix}-{i}" for i in range(n)]
    out = {"names": names}
    if mode == "seq":
        sfn = client("stepfunctions")
        visible, statuses = [], []
        for name in names:
            start_one(sfn, name)
            while True:  # Step Functions has no blocking wait: DescribeExecution every poll_s
                st = sfn.describe_execution(executionArn=_arn(name))["status"]
                if st != "RUNNING":
                    break
                time.sleep(poll_s)
            visible.append(time.time())
            statuses.append(st)
        out.update(visible_times=visible, statuses=statuses)
    else:

        def starter(part):
            sfn = client("stepfunctions")
            for name in part:
                start_one(sfn, name)

        threads = [threading.Thread(target=starter, args=(names[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sfn = client("stepfunctions")

        def running():
            return len(sfn.list_executions(stateMachineArn=MACHINE_ARN, statusFilter="RUNNING")["executions"])

        wait_all(running, time.time() + 60 + n / 2)
        out["times"] = [status(sfn, name) for name in names]
    out["cpu_s"] = cpu_s() - cpu0
    return out


if __name__ == "__main__":
    main(setup=setup, worker=worker, start=start)
