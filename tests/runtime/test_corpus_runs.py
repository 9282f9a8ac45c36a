"""Corpus flows run to completion on a real SQLite store, driven by a :class:`Runtime` in-process.

Each test runs one flow of ``tests/data/fdl-corpus`` with the stand-in functions of ``corpus_functions/``
and asserts the final status, the exact output and (for most) the path taken through the steps. Flows with
long constant waits or retry intervals run on a fast clock (see ``helpers``); the others on the real one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.runtime.helpers import Harness, calls, copy_functions, corpus_text, run_cli
from tests.waiting import wait_until
from tidegate.store import ExecutionNotFound

TRIP = "awesome-fnf__trip-booking-order-processing__flows__tripOrderProcessing.flow"
TRIP_OK = {
    "trip_order_id": "happy-trip-id-1",
    "book_train_ticket_result": "succeeded",
    "book_flight_result": "succeeded",
    "book_hotel_result": "succeeded",
    "cancel_flight_result": "succeeded",
    "cancel_train_ticket_result": "succeeded",
}


def test_trip_booking_success_applies_the_flow_output_mappings(tmp_path: Path) -> None:
    with Harness(tmp_path) as h:
        run = h.run(TRIP, TRIP_OK)
    assert run.status == "Succeeded"
    assert run.output == {
        "trip_order_id": "happy-trip-id-1",
        "book_train_ticket_transaction_id": "train-tx-1",
        "book_flight_transaction_id": "flight-tx-1",
        "book_hotel_transaction_id": "hotel-tx-1",
    }
    assert run.entered() == ["BookTrainTicket", "BookFlight", "BookHotel", "OrderSucceeded"]
    assert run.types == [
        "ExecutionStarted",
        *["StepEntered", "TaskScheduled", "TaskSucceeded", "StepSucceeded", "StepExited"] * 3,
        *["StepEntered", "StepSucceeded", "StepExited"],
        "ExecutionSucceeded",
    ]
    assert [e.event_id for e in run.events] == list(range(1, len(run.events) + 1))


def test_trip_booking_hotel_failure_compensates_then_fails(tmp_path: Path) -> None:
    # BookHotel raises BookHotelError -> CancelFlight -> CancelTrainTicket -> OrderFailed1.
    with Harness(tmp_path) as h:
        run = h.run(TRIP, {**TRIP_OK, "book_hotel_result": "failed"})
    assert run.status == "Failed"
    assert run.output is None  # the flow outputMappings apply only on success
    assert run.entered() == [
        "BookTrainTicket",
        "BookFlight",
        "BookHotel",
        "CancelFlight",
        "CancelTrainTicket",
        "OrderFailed1",
    ]
    [failed] = run.of("BookHotel", "TaskFailed")
    assert (failed["error"], failed["cause"]) == ("BookHotelError", "bookHotel failed: result=failed")
    # The function's invocation is in the event too: its request id and the stack of the raise.
    assert len(failed["requestId"]) == 36 and "bookHotel.py" in failed["stackTrace"][-1]
    # The compensations get the transaction ids the bookings produced.
    assert run.task_inputs("CancelFlight") == [{"result": "succeeded", "transaction_id": "flight-tx-1"}]
    assert run.task_inputs("CancelTrainTicket") == [{"result": "succeeded", "transaction_id": "train-tx-1"}]
    assert (run.record.error, run.record.cause) == ("FnF.Failed", "")
    assert run.types[-1] == "ExecutionFailed"


def test_trip_booking_retry_then_catch_invokes_four_times(tmp_path: Path) -> None:
    # BookTrainTicketError is retried 3 times after 1 s, 2 s and 4 s, then caught -> OrderFailed.
    with Harness(tmp_path, speed=50) as h:
        run = h.run(TRIP, {**TRIP_OK, "book_train_ticket_result": "failed"})
    assert run.status == "Failed"
    assert run.entered() == ["BookTrainTicket", "OrderFailed"]
    assert len(calls(h.functions, "tripOrderProcessingService", "bookTrainTicket")) == 4
    assert [d["attempt"] for d in run.of("BookTrainTicket", "TaskScheduled")] == [1, 2, 3, 4]
    assert len(run.of("BookTrainTicket", "TaskFailed")) == 4
    scheduled = [e.time_ms for e in run.events if e.type == "TaskScheduled"]
    failed = [e.time_ms for e in run.events if e.type == "TaskFailed"]
    gaps = [s - f for f, s in zip(failed, scheduled[1:], strict=False)]
    assert [g >= want for g, want in zip(gaps, (1000, 2000, 4000), strict=True)] == [True] * 3, gaps
    assert calls(h.functions, "tripOrderProcessingService", "bookFlight") == []


ML = "awesome-fnf__machine-learning-pipeline__flows__machine-learning-pipeline.flow"
ML_INPUT = {
    "k8sClusterID": "c-1",
    "trainJobNamePrefix": "train",
    "deploymentNamePrefix": "deploy",
    "serviceNamePrefix": "svc",
    "demoVersion": "v3",
    "trainImage": "img/train",
    "servingImage": "img/serve",
    "ossBucket": "models",
}


@pytest.mark.parametrize(("decision", "status"), [("approved", "Succeeded"), ("rejected", "Failed")])
def test_machine_learning_pipeline_polls_then_waits_for_approval(tmp_path: Path, decision: str, status: str) -> None:
    # Three polling loops (wait 10 s / 5 s -> status task -> choice goto wait) and a waitForCallback approval.
    with Harness(tmp_path, speed=200) as h:
        eid = h.start(corpus_text(ML), ML_INPUT, flow="ml")
        [token] = h.submitted_tokens(eid, "RunTestCasesAndWaitForManualDecision", 1)
        h.service.report_task_succeeded(token, json.dumps({"decision": decision}))
        run = h.wait(eid)
    assert run.status == status
    loops = ["Wait10s", "GetTrainStatus", "IsTrainComplete"] * 3
    loops += ["StartDeployment"] + ["Wait5s", "GetDeploymentStatus", "IsDeploymentComplete"] * 2
    loops += ["ExposeService"] + ["Wait5sService", "GetServicetStatus", "IsServiceComplete"] * 2
    final = "NotifySucceess" if decision == "approved" else "NotifyFailed"
    assert run.entered() == ["StartTraining", *loops, "RunTestCasesAndWaitForManualDecision", "IsModelApproved", final]
    [approval] = run.task_inputs("RunTestCasesAndWaitForManualDecision")
    assert approval["servingEndpoint"] == "http://10.0.0.7:8501/v1/models/mnist"
    if status == "Succeeded":
        assert run.output == {
            "trainJob": "train-v3",
            "status": "succeeded",
            "deployment": "deploy-v3",
            "deploymentStatus": "succeeded",
            "service": "svc-v3",
            "serviceStatus": "succeeded",
            "servingEndpoint": "http://10.0.0.7:8501/v1/models/mnist",
            "decision": "approved",
        }
    else:
        assert (run.record.error, run.output) == ("FnF.Failed", None)


RESTORE = "awesome-fnf__oss-restore__subflow"


def test_oss_restore_poll_loop_terminates_after_running_reports(tmp_path: Path) -> None:
    # foreach restore -> wait $.pollInterval -> GetJobStatus -> choice: running -> goto Wait; success -> end.
    with Harness(tmp_path) as h:
        run = h.run(RESTORE, {"files": ["a.txt", "b.txt"], "pollInterval": 0.05, "runningPolls": 3})
    assert run.status == "Succeeded"
    assert run.output == {"status": "success", "polls": 4}
    assert run.entered() == [
        "retoreForeach",
        "restoreTask",
        "restoreTask",
        *["Wait", "GetJobStatus", "CheckJobComplete"] * 4,
        "JobSucceeded",
    ]
    assert sorted(i["fileName"] for i in run.task_inputs("restoreTask")) == ["a.txt", "b.txt"]
    # Each poll waited its 50 ms: the timer fired no earlier than scheduled.
    starts = [e.time_ms for e in run.events if e.type == "StepEntered" and e.step_name == "Wait"]
    ends = [e.time_ms for e in run.events if e.type == "StepSucceeded" and e.step_name == "Wait"]
    assert all(b - a >= 50 for a, b in zip(starts, ends, strict=True))


def test_oss_restore_choice_without_default_falls_through(tmp_path: Path) -> None:
    # A status that matches no choice and no default continues with the next sibling.
    with Harness(tmp_path) as h:
        run = h.run(RESTORE, {"files": [], "pollInterval": 0, "runningPolls": 1, "finalStatus": "archived"})
    assert run.status == "Succeeded"
    assert run.output == {"status": "archived", "polls": 2}
    assert run.entered() == ["retoreForeach", *["Wait", "GetJobStatus", "CheckJobComplete"] * 2, "JobSucceeded"]
    assert run.of("CheckJobComplete", "StepSucceeded") == [{"output": {}}, {"output": {}}]


def test_oss_unzip_single_file_loops_on_marker_then_falls_through(tmp_path: Path) -> None:
    with Harness(tmp_path) as h:
        run = h.run(
            "awesome-fnf__oss-unzip__flows__unzip-single-file",
            {"src_bucket": "a", "dest_bucket": "b", "key": "c.zip", "event_name": "ObjectCreated:PutObject"},
        )
    assert run.status == "Succeeded"
    assert run.output == {"marker": "", "unzipped": "c.zip/part-2"}
    assert run.entered() == ["init", "unzip", "hasMoreFiles", "unzip", "hasMoreFiles"]
    assert [i["marker"] for i in run.task_inputs("unzip")] == ["", "c.zip/part-2"]


def test_oss_unzip_multiple_files_pages_and_loops_inside_foreach(tmp_path: Path) -> None:
    with Harness(tmp_path) as h:
        run = h.run(
            "awesome-fnf__oss-unzip__flows__unzip-multiple-files",
            {"src_bucket": "src", "dest_bucket": "dst", "prefix": "in/", "delimiter": "/", "marker": ""},
        )
    assert run.status == "Succeeded"
    assert run.output == {"marker": "", "keys": ["c.zip"], "has_more": False}
    assert [i["marker"] for i in run.task_inputs("listZipFiles")] == ["", "b.zip"]
    assert [i["keys_threshold"] for i in run.task_inputs("listZipFiles")] == [50, 50]
    unzips = sorted((i["key"], i["marker"]) for i in run.task_inputs("unzip"))
    assert unzips == [(k, m) for k in ("a.zip", "b.zip", "c.zip") for m in ("", f"{k}/part-2")]
    top = [e.step_name for e in run.events if e.type == "StepEntered" and e.schedule_event_id == 1]
    # hasMoreFiles: `$.has_more` -> goto listZipFiles once, then the default goto final.
    assert top == ["init", *["listZipFiles", "unzipFiles", "hasMoreFiles"] * 2, "final"]
    assert run.types.count("IterationEntered") == 3


def test_parallel_branches_output_in_branch_order(tmp_path: Path) -> None:
    # parallel-wait-any-demo's child flow: three callback tasks; outputMappings `$local[*].status`.
    with Harness(tmp_path) as h:
        run = h.run("awesome-fnf__parallel-wait-any-demo__flows__subflow.flow", {"task_token": "parent-token"})
    assert run.status == "Succeeded"
    assert run.output == {"result": ["key1 done", "key2 done", "key3 done"]}
    assert run.types.count("BranchEntered") == 3
    assert run.types.count("BranchExited") == 3
    assert [run.task_inputs(f"task{i}") for i in (1, 2, 3)] == [
        [{"key": f"key{i}", "task_token": "parent-token"}] for i in (1, 2, 3)
    ]


VSCODE = "alibaba__serverless-vscode__resources__web__flow__src__mocks__mock_ts__flowDefinition"


def test_vscode_sample_merges_parallel_output_into_the_choice_input(tmp_path: Path) -> None:
    # Parallel -> wait 10 s -> choice on the merged input -> fail.
    with Harness(tmp_path, speed=100) as h:
        failed = h.run(VSCODE, {"key": "process_failed"})
        passed = h.run(VSCODE, {"key": "anything"})
    assert failed.status == "Failed"
    assert failed.entered() == [
        "PreProcess",
        "ParallelProcess",
        "WorkerStep1",
        "WorkerStep2-1",
        "WorkerStep2-2",
        "Wait10s",
        "CheckStatus",
        "ProcessFailed",
    ]
    assert failed.of("CheckStatus", "StepEntered") == [
        {"input": {"key": "process_failed", "key1": "value1", "key2": "value2"}}
    ]
    assert (failed.record.error, failed.record.cause) == ("FnF.Failed", "")
    assert passed.status == "Succeeded"
    assert passed.output == {"key1": "value1", "key2": "value2"}
    assert passed.entered()[-2:] == ["CheckStatus", "ProcessSucceeded"]
    wait_ms = [e.time_ms for e in passed.events if e.step_name == "Wait10s" and e.type != "StepExited"]
    assert wait_ms[1] - wait_ms[0] >= 10_000


FORK = "awesome-fnf__fork-flows__flows__main"


def test_fork_flows_foreach_of_callbacks_projects_local_values(tmp_path: Path) -> None:
    # Three waitForCallback iterations; reported in reverse order, the values keep key order.
    with Harness(tmp_path) as h:
        eid = h.start(corpus_text(FORK), {"executionName": "run1", "subflowName": "sub", "keys": ["a", "b", "c"]})
        tokens = h.submitted_tokens(eid, "startSubflow", 3)
        by_key = {}
        for row in h.history(eid):
            if row.type == "TaskScheduled":
                task_input = json.loads(row.detail)["input"]
                by_key[task_input["key"]] = task_input["taskToken"]
        assert sorted(by_key.values()) == sorted(tokens)
        for i, key in enumerate(reversed("abc")):
            h.service.report_task_succeeded(by_key[key], json.dumps({"value": {"key": key, "time": i}}))
        run = h.wait(eid)
    values = [{"key": "a", "time": 2}, {"key": "b", "time": 1}, {"key": "c", "time": 0}]
    assert run.status == "Succeeded"
    assert run.output == {"values": values}
    assert run.of("join", "StepEntered") == [{"input": {"my_values": values}}]
    assert run.types.count("TaskSubmitted") == 3


FORK_SUB = "awesome-fnf__fork-flows__flows__subflow"


def test_fork_flows_subflow_end_true_skips_the_failure_branch(tmp_path: Path) -> None:
    with Harness(tmp_path) as h:
        ok = h.run(FORK_SUB, {"key": "abc", "taskToken": "tok-1"})
        bad = h.run(FORK_SUB, {"key": "bad", "taskToken": "tok-2"})
    assert ok.status == "Succeeded"
    assert ok.entered() == ["doWork", "reportTaskSucceeded"]
    value = {"key": "abc", "length": 3}
    assert ok.output == {
        "value": value,
        "reported": "succeeded",
        "reportedOutput": {"value": value},
        "token": "tok-1",
    }
    # catch FnF.ALL -> goto reportTaskFailed; the caught step contributes nothing to the flow local.
    assert bad.status == "Succeeded"
    assert bad.entered() == ["doWork", "reportTaskFailed"]
    assert [(d["error"], d["cause"]) for d in bad.of("doWork", "TaskFailed")] == [("WorkError", "cannot work on bad")]
    assert bad.output == {
        "reported": "failed",
        "error": "SubflowError",
        "cause": "Failed to execute subflow",
        "token": "tok-2",
    }


def test_etl_foreach_of_shards_then_reduce_with_end_true(tmp_path: Path) -> None:
    with Harness(tmp_path) as h:
        run = h.run(
            "awesome-fnf__ETL-DataProcessing__flow__demo-etl-flow", {"records": [1, 2, 3, 4, 5], "shardSize": 2}
        )
    assert run.status == "Succeeded"
    assert run.output == {
        "shards": [[1, 2], [3, 4], [5]],
        "shard_ids": [0, 1, 2],
        "reduced": 3,
        "keys": ["shard_ids"],
    }
    assert sorted(i["shard"] for i in run.task_inputs("singleMappingJob")) == [[1, 2], [3, 4], [5]]
    assert sorted(d["output"]["sum"] for d in run.of("singleMappingJob", "TaskSucceeded")) == [3, 5, 7]
    assert "retryFailed" not in run.entered()


def test_order_management_foreach_runs_two_tasks_per_order(tmp_path: Path) -> None:
    with Harness(tmp_path) as h:
        run = h.run("awesome-fnf__Order-Management__flow__order-management-flow", {"date": "2020-01-01"})
    assert run.status == "Succeeded"
    assert run.output == {"order_ids": ["o-1", "o-2", "o-3"]}
    stock = sorted(run.of("manageStock", "TaskSucceeded"), key=lambda d: d["output"]["restocked"])
    assert [d["output"] for d in stock] == [{"restocked": f"o-{i}", "after": f"refund-o-{i}"} for i in (1, 2, 3)]
    assert run.types.count("IterationEntered") == 3
    assert run.of("cancelorders", "StepSucceeded") == [{"output": {}}]


AUDIT = "awesome-fnf__subflow-best-practice__Flow__audit"


def test_audit_waits_then_maps_output_and_catches_invalid_local(tmp_path: Path) -> None:
    with Harness(tmp_path, speed=100) as h:
        ok = h.run(AUDIT, {"auditMessage": "release 1.2"})
        bad = h.run(AUDIT, {"auditMessage": "garbage"})
    assert ok.status == "Succeeded"
    assert ok.output == {"audited": True, "result": "approved: release 1.2"}
    assert ok.entered() == ["notify", "doAudit", "auditFinishedandDoOtherJobs"]
    # A non-object function result fails the task with FnF.InvalidLocal, which the flow catches.
    assert bad.status == "Failed"
    assert bad.entered() == ["notify", "doAudit", "ErrUnknown"]
    assert [d["error"] for d in bad.of("doAudit", "TaskFailed")] == ["FnF.InvalidLocal"]
    assert (bad.record.error, bad.record.cause) == ("AuditUnknown", "unknown error occurs")


def test_wait_for_callback_output_becomes_the_flow_output(tmp_path: Path) -> None:
    # The reported Output, not the function's own result, is the task's $local.
    with Harness(tmp_path) as h:
        eid = h.start(
            corpus_text("awesome-fnf__wait-for-callback-task__wait-for-callback-task.flow"),
            {"serviceName": "S", "functionName": "F"},
        )
        [token] = h.submitted_tokens(eid, "test", 1)
        before = h.store.get_execution_by_id(eid)
        assert (before.status, before.output or "") == ("Running", "")
        h.service.report_task_succeeded(token, json.dumps({"status": f"report task with token: {token}"}))
        run = h.wait(eid)
    assert run.status == "Succeeded"
    assert run.output == {"status": f"report task with token: {token}"}
    assert run.types[-5:] == ["TaskSubmitted", "TaskSucceeded", "StepSucceeded", "StepExited", "ExecutionSucceeded"]


def test_oss_batch_process_catches_a_failed_object_inside_foreach(tmp_path: Path) -> None:
    with Harness(tmp_path) as h:
        run = h.run("awesome-fnf__oss-batch-process__flows__oss-flow", {"bucket": "photos", "prefix": ""})
    assert run.status == "Succeeded"
    assert run.output == {"marker": "dog.jpg", "keys": ["dog.jpg"], "hasMore": False}
    assert sorted(calls(h.functions, "fnf-samples", "resize")) == ["broken.jpg", "cat.jpg", "dog.jpg"]
    # broken.jpg's resize fails, is caught (FnF.ALL) and jumps to `ignore`: detectFaces never sees it.
    assert sorted(calls(h.functions, "fnf-samples", "detectFaces")) == ["cat.jpg", "dog.jpg"]
    assert [d["error"] for d in run.of("resize", "TaskFailed")] == ["ImageError"]
    assert run.entered().count("ignore") == 3


# --- child flows (acs:fnf:::flow/NAME) in the same store ----------------------------------------------------


@pytest.mark.parametrize(("message", "audited"), [("release 1.2", True), ("garbage", False)])
def test_subflow_best_practice_sync_child_output_and_custom_error(tmp_path: Path, message: str, audited: bool) -> None:
    # main runs the audit flow as a sync child: its output feeds `$local.audited`; its fail step's error
    # (AuditUnknown) is caught by the parent by name.
    with Harness(tmp_path, speed=100) as h:
        h.add_flow("audit_child", corpus_text(AUDIT))
        run = h.run("awesome-fnf__subflow-best-practice__Flow__main", {"auditMessage": message})
        [child] = h.store.list_executions("audit_child").items
    assert run.status == "Succeeded"
    if audited:
        # `$.audited == "true"` holds for the JSON boolean true (the loose comparison of docs/flow-language.md).
        assert run.output == {"audited": True}
        assert run.entered() == ["triggerAudit", "check_status", "auditPassedDoJobs", "notifyDeveloper"]
        assert (child.status, json.loads(child.output or "")) == (
            "Succeeded",
            {"audited": True, "result": "approved: release 1.2"},
        )
    else:
        assert run.output == {}
        assert run.entered() == ["triggerAudit", "notifyDeveloper"]
        assert run.of("triggerAudit", "TaskFailed") == [{"error": "AuditUnknown", "cause": "unknown error occurs"}]
        assert (child.status, child.error) == ("Failed", "AuditUnknown")
    assert json.loads(child.input) == {"auditMessage": message}


def test_oss_restore_main_pages_through_sync_child_restores(tmp_path: Path) -> None:
    with Harness(tmp_path) as h:
        h.add_flow("restore_subflow", corpus_text(RESTORE))
        run = h.run(
            "awesome-fnf__oss-restore__template__mainRestoreFlow",
            {"endpoint": "oss", "bucketName": "logs", "prefix": "2020/", "maxKeys": 2, "pollInterval": 0.02},
        )
        children = h.store.list_executions("restore_subflow").items
    assert run.status == "Succeeded"
    # restoreStatusFunction's counter is shared by both children: the first polls 4 times, the second once.
    assert run.output == {
        "endpoint": "oss",
        "bucketName": "logs",
        "prefix": "2020/",
        "maxKeys": 2,
        "pollInterval": 0.02,
        "marker": "",
        "files": ["c.log"],
        "end": True,
        "status": "success",
        "polls": 5,
    }
    assert run.entered() == ["init", *["listArchiveFiles", "invokeRestoreFlow", "checkEnd"] * 2, "success"]
    assert [c.status for c in children] == ["Succeeded", "Succeeded"]
    assert [json.loads(c.input)["files"] for c in children] == [["a.log", "b.log"], ["c.log"]]


def test_post_execution_actions_parent_catches_the_stopped_childs_error(tmp_path: Path) -> None:
    # StopExecution(child, Error=AnyCustomError) -> the parent catches it -> postAction -> {}.
    with Harness(tmp_path) as h:
        h.add_flow("post-actions-subflow", corpus_text("awesome-fnf__post-execution-actions__flows__child.flow"))
        eid = h.start(
            corpus_text("awesome-fnf__post-execution-actions__flows__main.flow"),
            {"subflowExecName": "run10", "subflowInput": "test"},
            flow="main1",
        )

        def child_running() -> bool:
            try:
                child = h.store.get_execution("post-actions-subflow", "run10")
            except ExecutionNotFound:
                return False
            return any(e.type == "TaskScheduled" for e in h.history(child.id))

        wait_until(child_running, message="the child's long-running task", notifier=h.store.notifier)
        h.service.stop_execution("post-actions-subflow", "run10", error="AnyCustomError", cause="stopped by test")
        run = h.wait(eid)
        (h.functions / "post-actions-service" / "release").touch()
        child = h.store.get_execution("post-actions-subflow", "run10")
    assert (child.status, child.error, child.output or "") == ("Stopped", "AnyCustomError", "")
    assert json.loads(child.input) == {"subflowExecName": "run10", "subflowInput": "test"}
    assert run.status == "Succeeded"
    assert run.output == {}
    assert run.entered() == ["startChildFlow", "postAction"]
    assert run.of("startChildFlow", "TaskFailed") == [{"error": "AnyCustomError", "cause": "stopped by test"}]


# --- through the `tidegate run` CLI, as a subprocess -------------------------------------------------------


def test_cli_runs_trip_booking_and_prints_describe_fields_and_history(tmp_path: Path) -> None:
    res = run_cli(tmp_path, TRIP, TRIP_OK, functions=copy_functions(tmp_path))
    assert res.code == 0, res.stderr
    r = res.result
    assert (r["Name"], r["Status"]) == ("run1", "Succeeded")
    assert json.loads(r["Input"]) == TRIP_OK
    assert res.output == {
        "trip_order_id": "happy-trip-id-1",
        "book_train_ticket_transaction_id": "train-tx-1",
        "book_flight_transaction_id": "flight-tx-1",
        "book_hotel_transaction_id": "hotel-tx-1",
    }
    assert "Error" not in r and r["StoppedTime"] >= r["StartedTime"]
    assert [e["EventId"] for e in r["Events"]] == list(range(1, len(r["Events"]) + 1))
    assert res.entered() == ["BookTrainTicket", "BookFlight", "BookHotel", "OrderSucceeded"]
    assert r["Events"][-1]["Type"] == "ExecutionSucceeded"
    assert json.loads(r["Events"][-1]["EventDetail"]) == {"output": res.output}


def test_cli_resolves_a_qualified_service_arn(tmp_path: Path) -> None:
    # acs:fc:<region>:<account>:services/demo-service.LATEST/functions/demo-function (ROS template flow).
    res = run_cli(
        tmp_path,
        "aliyun__ros-templates__transform__serverless__flow__MyFlow",
        {"who": "ros"},
        functions=copy_functions(tmp_path),
    )
    assert res.code == 0, res.stderr
    assert res.output == {
        "greeting": "hello ros",
        "service": "demo-service",
        "qualifier": "LATEST",
        "function": "demo-function",
    }


@pytest.mark.parametrize(
    ("corpus", "input", "error", "cause"),
    [
        (
            "awesome-fnf__task-mns-topics__template__Flow",
            {"messageBody": "hi"},
            "FnF.IntegrationUnavailable",
            "acs:mns:::/topics/orders-topic/messages: step mns-topic-task has no local answer: give one with "
            "--respond mns-topic-task=JSON, --responses FILE or --worker module:function",
        ),
        (
            "awesome-fnf__ID-card-Identification__flow__definition",
            {"imageURL": "https://example.com/id.jpg"},
            "FnF.IntegrationUnavailable",
            "ocr:RecognizeIdentityCard: this API action is not integrated (only fnf:StartExecution)",
        ),
        (
            # Child flows run in the same store under `tidegate run`: a missing one is named, not a crash.
            "awesome-fnf__post-execution-actions__flows__main.flow",
            {"subflowExecName": "run10", "subflowInput": "test"},
            "FnF.FlowNotExists",
            "Flow 'post-actions-subflow' does not exist",
        ),
    ],
    ids=["mns-topic", "ocr-action", "missing-child-flow"],
)
def test_cli_fails_unreachable_targets_clearly(
    tmp_path: Path, corpus: str, input: dict[str, str], error: str, cause: str
) -> None:
    res = run_cli(tmp_path, corpus, input)
    assert res.code == 1, res.stderr
    r = res.result
    assert (r["Status"], r["Error"], r["Cause"]) == ("Failed", error, cause)
    assert r["Output"] == ""
    failed = [json.loads(e["EventDetail"]) for e in r["Events"] if e["Type"] == "TaskFailed"]
    # (a local queue or topic task's event also shows the message it built: messageBody)
    assert [{"error": d["error"], "cause": d["cause"]} for d in failed] == [{"error": error, "cause": cause}]
    assert [e["Type"] for e in r["Events"]][-3:] == ["StepFailed", "StepExited", "ExecutionFailed"]
    assert "Traceback" not in res.stderr
