# mypy: ignore-errors
"""Runs inside ``.venvs/peers-dbos`` (dbos, DBOS Transact); driven by ``bench/peers/run.py``.

The peer: DBOS Transact, a library whose durable state is one system database (SQLite or PostgreSQL).
The callback workload in its terms, three kinds of process sharing that database:

* ``serve`` (the engine's role): a DBOS process listening to the queue ``flows`` only. The workflow
  ``callback_flow`` enqueues a ``task`` workflow on the queue ``tasks`` with its own workflow id (the
  token), then waits in ``DBOS.recv`` for the result on that id; it returns the result.
* ``worker``: a DBOS process listening to ``tasks`` only, one task at a time (``worker_concurrency`` 1, as
  a document-style worker takes one message at a time). ``task`` reports the result with
  ``DBOS.send(token, {"key": "value"})``.
* ``start``: a ``DBOSClient`` enqueues ``callback_flow`` on ``flows`` (workflow id = execution name) and
  waits with ``get_result`` (it polls the status every POLL_S).

Environment: ``DBOS_URL`` (the system database), ``DBOS_POLL_S`` (queue polling interval and, on SQLite,
which has no LISTEN/NOTIFY, the notification polling that wakes ``recv``; both default to 1 s in DBOS).
Modes as in ``common.py``, plus ``setup`` (create the database's tables and both queues) and
``serve STOP_FILE DEADLINE``.
"""

import os
import sys
import threading
import time

from dbos import DBOS, DBOSClient, DBOSConfig, EnqueueOptions

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import cpu_s, main, wait_all

URL = os.environ["DBOS_URL"]
POLL_S = float(os.environ.get("DBOS_POLL_S", "1.0"))
#: token -> time of its first report. DBOS may run a queued workflow more than once (a second executor
#: can dequeue it on SQLite); its send is recorded once per workflow, so only the first run's time counts.
REPORTS = {}
DUPLICATES = []


@DBOS.workflow(name="callback_flow")
def callback_flow():
    token = DBOS.workflow_id
    DBOS.retrieve_queue("tasks").enqueue(task, token)
    # As long as a burst may queue its tasks (a waitForCallback step waits without a timeout by default).
    result = DBOS.recv("result", timeout_seconds=3600)
    if result is None:
        raise RuntimeError("no report within an hour")
    return result


@DBOS.workflow(name="task")
def task(token):
    if token in REPORTS:
        DUPLICATES.append(token)
    else:
        REPORTS[token] = time.time()  # the report time, taken just before the report is sent
    DBOS.send(token, {"key": "value"}, topic="result")


def _launch(queues):
    config: DBOSConfig = {
        "name": "bench-callback",
        "system_database_url": URL,
        "notification_listener_polling_interval_sec": POLL_S,
        "log_level": "WARNING",
    }
    DBOS(config=config)
    if queues is not None:
        DBOS.listen_queues(queues)
    DBOS.launch()


def setup():
    _launch(None)
    DBOS.register_queue("flows", polling_interval_sec=POLL_S)
    DBOS.register_queue("tasks", polling_interval_sec=POLL_S, worker_concurrency=1)
    DBOS.destroy()
    return {"queues": ["flows", "tasks"]}


def _run_until(queues, stop_file, deadline):
    cpu0 = cpu_s()
    _launch(queues)
    while not os.path.exists(stop_file) and time.time() < deadline:
        time.sleep(0.05)  # the DBOS threads do the work; this one only watches for the stop file
    DBOS.destroy(workflow_completion_timeout_sec=5)
    return cpu_s() - cpu0


def serve(stop_file, deadline):
    return {"cpu_s": _run_until(["flows"], stop_file, deadline)}


def worker(stop_file, deadline):
    cpu = _run_until(["tasks"], stop_file, deadline)
    return {
        "reported": len(REPORTS),
        "report_times": list(REPORTS.values()),
        "tokens": list(REPORTS),
        "duplicate_runs": len(DUPLICATES),
        "cpu_s": cpu,
    }


def _enqueue(client, name):
    return client.enqueue(EnqueueOptions(queue_name="flows", workflow_name="callback_flow", workflow_id=name))


def start(prefix, n, mode, poll_s):
    cpu0 = cpu_s()
    names = [f"{prefix}-{i}" for i in range(n)]
    out = {"names": names}
    client = DBOSClient(system_database_url=URL)
    if mode == "seq":
        visible, statuses = [], []
        for name in names:
            handle = _enqueue(client, name)
            handle.get_result(polling_interval_sec=poll_s)
            visible.append(time.time())
            statuses.append(handle.get_status().status)
        out.update(visible_times=visible, statuses=statuses)
    else:

        def starter(part):
            for name in part:
                _enqueue(client, name)

        threads = [threading.Thread(target=starter, args=(names[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        def running():
            active = ["ENQUEUED", "PENDING"]
            return len(client.list_workflows(name="callback_flow", status=active, limit=1, load_input=False))

        wait_all(running, time.time() + 60 + n / 2)
        rows = {w.workflow_id: w for w in client.list_workflows(workflow_ids=names, load_input=False)}
        out["times"] = [(rows[x].status, rows[x].created_at / 1000, rows[x].updated_at / 1000) for x in names]
    client.destroy()
    out["cpu_s"] = cpu_s() - cpu0
    return out


if __name__ == "__main__":
    main(setup=setup, serve=serve, worker=worker, start=start)
