"""devhost behaves as the Azure Functions host with the Durable extension does.

Each test names the extension (Azure/azure-functions-durable-extension) or DurableTask
(Azure/durabletask) source it mirrors.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from devhost.durable.history import EventType
from devhost.testing import command
from tests.devhost.support import (
    DURABLE,
    SAMPLER,
    WEBHOOKS,
    assert_error,
    assert_no_body,
    raise_event,
    raw_history,
    run,
    start,
    status,
    unique,
)

CONTINUATION = "x-ms-continuation-token"


def test_an_activity_with_a_durable_client_binding_drives_other_instances(host):
    """DurableTaskExtension.Initialize registers the `DurableClientAttribute` binding rule with
    no restriction on the trigger, and BindingHelper.DurableOrchestrationClientToString builds
    the same payload (creation and management URLs, base and RPC URLs) for every function that
    declares it: an activity may raise events on, and read, other instances as an HTTP trigger
    does."""
    target = start(host, "collect_events", unique("target"), 1)

    relay = run(host, "relay", {"target": target, "event": "Item", "data": {"n": 7}})

    assert relay["runtimeStatus"] == "Completed", relay
    # The SDK's raise_event encodes its payload once more (SDK issue #295), as from HTTP.
    [received] = host.wait_for(target)["output"]
    assert json.loads(received) == {"n": 7}
    assert relay["output"]["targetStatus"] in ("Running", "Completed")
    # The management URLs in the binding point at this host and carry the system key.
    status_uri = relay["output"]["statusUri"]
    assert status_uri.startswith(f"http://127.0.0.1:{host.port}/runtime/webhooks/durabletask/")
    assert httpx.get(status_uri).json()["instanceId"] == target


def waiting_instances(host, count: int, prefix: str) -> list[str]:
    """`count` instances that stay Running, each waiting for an event."""
    ids = [start(host, "collect_events", f"{prefix}-{n:04d}", 1) for n in range(count)]
    for instance_id in ids:
        host.wait_for(instance_id, statuses=("Running",))
    return ids


def test_instance_listing_answers_pages_of_100_with_a_continuation_token(host):
    """HttpApiHandler.HandleGetStatusRequestAsync: `top` (OrchestrationStatusQueryCondition
    .PageSize, default 100) rows per answer and the next page's token in the
    x-ms-continuation-token response header, read back from the same request header."""
    prefix = unique("page")
    created = waiting_instances(host, 130, prefix)
    params = {"instanceIdPrefix": prefix}

    first = host.http.get(f"{WEBHOOKS}/instances", params=params)
    assert first.status_code == 200
    assert len(first.json()) == 100
    token = first.headers[CONTINUATION]
    rest = host.http.get(f"{WEBHOOKS}/instances", params=params, headers={CONTINUATION: token})
    assert len(rest.json()) == 30
    assert not rest.headers.get(CONTINUATION)
    listed = [row["instanceId"] for row in first.json() + rest.json()]
    assert sorted(listed) == sorted(created)

    sized = host.http.get(f"{WEBHOOKS}/instances", params={**params, "top": "7"})
    assert len(sized.json()) == 7 and sized.headers[CONTINUATION]


def test_the_sdk_client_sees_only_the_first_page_as_on_azure(host):
    """DurableOrchestrationClient.get_status_by sends no `top` and ignores the continuation
    header, so an app that lists through it sees at most 100 instances
    (HttpApiHandler.HandleGetStatusRequestAsync, OrchestrationStatusQueryCondition.PageSize)."""
    waiting_instances(host, 105, unique("sdk"))

    seen = host.http.get("/api/query", params={"status": "Running"}).json()

    assert len(seen) == 100


def test_listing_filters_are_parsed_as_the_extension_parses_them(host):
    """HttpApiHandler.TryGetIEnumerableQueryParameterValue uses Enum.TryParse (exact names or
    numbers; values that do not parse are skipped, and none left means no filter);
    TryGetDateTimeQueryParameterValue and TryGetIntQueryParameterValue skip what does not parse."""
    prefix = unique("filters")
    running = start(host, "collect_events", f"{prefix}-running", 1)
    host.wait_for(running, statuses=("Running",))
    done = start(host, "hello_sequence", f"{prefix}-done", "x")
    host.wait_for(done)

    def ids(**query: str) -> set[str]:
        response = host.http.get(
            f"{WEBHOOKS}/instances", params={"instanceIdPrefix": prefix, **query}
        )
        assert response.status_code == 200, response.text
        return {row["instanceId"] for row in response.json()}

    assert ids(runtimeStatus="Completed") == {done}
    assert ids(runtimeStatus="1") == {done}
    assert ids(runtimeStatus="Sleepy,Running") == {running}
    assert ids(runtimeStatus="running") == {running, done}
    assert ids(createdTimeFrom="soon") == {running, done}
    assert ids(top="zero") == {running, done}


@pytest.mark.parametrize("kind", ["activity", "orchestrator", "entity"])
def test_a_call_to_a_function_the_app_lacks_fails_loudly_where_azure_would_hang(host, kind):
    """DurableOrchestrationContext.CallDurableTaskFunctionAsync throws from
    DurableTaskExtension.ThrowIfFunctionDoesNotExist inside the task it returns, and
    OutOfProcOrchestrationShim.ProcessAsyncActionsV2 awaits that task and ignores the error: on
    Azure nothing is scheduled and the instance waits forever. devhost fails it and says so."""
    body = run(host, "calls_missing_kind", kind)

    assert body["runtimeStatus"] == "Failed"
    output = body["output"]
    assert output.startswith(
        f"Orchestrator function 'calls_missing_kind' failed: The function 'no_such_{kind}' "
        f"doesn't exist, is disabled, or is not an {kind} function. Additional info: The "
        f"following are the known {kind} functions: "
    )
    assert output.endswith(
        "on Azure it would hang waiting for it (the extension drops the call, "
        "DurableOrchestrationContext.CallDurableTaskFunctionAsync)."
    )


@pytest.mark.parametrize(
    ("chosen", "refusal"),
    [
        (
            "self",
            "The instance ID of a sub-orchestration must be different than the instance ID of a "
            "parent orchestration.",
        ),
        ("@child", "instanceId (Parameter 'Orchestration instance ids must not start with @')"),
    ],
)
def test_a_sub_orchestration_id_the_extension_refuses_fails_loudly_where_azure_would_hang(
    host, chosen, refusal
):
    """DurableOrchestrationContext.CallDurableTaskFunctionAsync refuses a child id equal to its
    own or its parent's (ignoring case) or starting with @ (its ArgumentException arguments
    swapped) inside the task it returns, which OutOfProcOrchestrationShim.ProcessAsyncActionsV2
    ignores: on Azure the instance waits forever. devhost fails it and says so."""
    body = run(host, "names_its_child", chosen)

    assert body["runtimeStatus"] == "Failed"
    assert body["output"] == (
        f"Orchestrator function 'names_its_child' failed: {refusal} devhost fails the instance "
        "here; on Azure it would hang waiting for it (the extension drops the call, "
        "DurableOrchestrationContext.CallDurableTaskFunctionAsync)."
    )
    scheduled = [e["EventType"] for e in body["historyEvents"]]
    assert "SubOrchestrationInstanceCreated" not in scheduled


def test_a_sub_orchestration_under_a_running_instances_id_fails_loudly_where_azure_would_hang(
    host,
):
    """The extension's checks pass an id another instance runs under, but
    TaskOrchestrationDispatcher drops the child's ExecutionStarted at that instance as a
    "Duplicate start event": on Azure the parent waits forever. devhost fails the parent, says
    so, and leaves the running instance alone."""
    busy = start(host, "collect_events", unique("busy"), 1)
    host.wait_for(busy, statuses=("Running",))

    body = run(host, "names_its_child", busy)

    assert body["runtimeStatus"] == "Failed"
    assert body["output"] == (
        f"Orchestrator function 'names_its_child' failed: An instance with ID '{busy}' is "
        "already Running; devhost fails this instance here, while on Azure the child's start "
        "would be dropped as a duplicate and this instance would wait for it forever "
        '(TaskOrchestrationDispatcher: "Duplicate start event").'
    )
    untouched = status(host, busy).json()
    assert (untouched["name"], untouched["runtimeStatus"]) == ("collect_events", "Running")


def test_signalling_an_entity_the_app_lacks_fails_the_orchestration_as_on_azure(host):
    """DurableOrchestrationContext.SignalEntity rethrows ThrowIfFunctionDoesNotExist's error
    synchronously, so TaskOrchestrationShim.InvokeUserCodeAndHandleResults fails the
    orchestration with it."""
    body = run(host, "calls_missing_kind", "signal")

    assert body["runtimeStatus"] == "Failed"
    assert body["output"] == (
        "Orchestrator function 'calls_missing_kind' failed: The function 'no_such_entity' doesn't "
        "exist, is disabled, or is not an entity function. Additional info: The following are "
        "the known entity functions: 'counter', 'ledger'."
    )


def test_signalling_an_unknown_entity_over_http_is_a_400_and_queues_nothing(host):
    """DurableClient.SignalEntityAsyncInternal calls ThrowIfFunctionDoesNotExist; HttpApiHandler
    answers the ArgumentException with 400 and its message."""
    response = host.http.post(f"{WEBHOOKS}/entities/no_such_entity/k", params={"op": "add"}, json=1)

    body = assert_error(response, 400)
    assert body["Message"].startswith(
        "The function 'no_such_entity' doesn't exist, is disabled, or is not an entity function."
    )
    assert host.http.get(f"{WEBHOOKS}/entities/no_such_entity/k").status_code == 404


def test_a_custom_status_over_16_kb_in_utf16_fails_the_orchestration(host):
    """DurableOrchestrationContext.SetCustomStatus serializes with a 16 KB limit
    (MessagePayloadDataConverter.Serialize counts the compact JSON's UTF-16 bytes, whole KB):
    a string of 8,701 characters fits, 8,702 do not."""
    fits = run(host, "sets_status", 8701)
    assert fits["runtimeStatus"] == "Completed"
    assert len(fits["customStatus"]) == 8701

    too_big = run(host, "sets_status", 8702)
    assert too_big["runtimeStatus"] == "Failed"
    assert too_big["output"] == (
        "Orchestrator function 'sets_status' failed: The UTF-16 size of the JSON-serialized "
        "payload must not exceed 16 KB. The current payload size is 17 KB."
    )


def test_an_activity_failure_reaches_the_orchestrator_worded_as_on_azure(host):
    """The Python worker reports `ExceptionType: message` (dispatcher._serialize_exception),
    the host's RpcException puts it after "\\nException:", and TaskActivityShim.RunAsync keeps
    the text after that label (its leading space included): the orchestrator's exception reads
    "{Reason} \\n {Details}" (the SDK's TaskOrchestrationExecutor)."""
    body = run(host, "reports_activity_failure")

    assert body["runtimeStatus"] == "Completed"
    assert body["output"].startswith(
        "Activity function 'flaky' failed:  RuntimeError: attempt 1 failed \n {"
    )


def test_a_sub_orchestration_failure_carries_the_childs_own_result(host):
    """TaskOrchestrationDispatcher.ProcessWorkflowCompletedTaskDecision answers the parent with
    SubOrchestrationInstanceFailed(Reason = the child's result, Details = its details)."""
    body = run(host, "parent")

    assert body["output"]["failure"].startswith(
        "Orchestrator function 'always_fails' failed: the books do not balance \n Message: "
        "the books do not balance, StackTrace: "
    )


def test_an_orchestrator_exception_without_a_message_reads_as_on_azure(host):
    """The SDK's TaskOrchestrationExecutor reports str(type(e)) when str(e) is empty, and
    OutOfProcOrchestrationShim.ScheduleDurableTaskEvents prefixes it."""
    body = run(host, "fails_without_message")

    assert body["runtimeStatus"] == "Failed"
    assert body["output"] == (
        "Orchestrator function 'fails_without_message' failed: <class 'ValueError'>"
    )


def test_a_sub_orchestration_without_an_id_gets_the_durabletask_default(host):
    """TaskOrchestrationContext.CreateSubOrchestrationInstanceCore names a child started without
    an id `{parent execution id}:{task id}`."""
    parent = run(host, "parent")["instanceId"]

    events = raw_history(host.hub, parent)
    [started] = [e for e in events if e["EventType"] == EventType.EXECUTION_STARTED]
    execution = started["OrchestrationInstance"]["ExecutionId"]
    created = [
        e["InstanceId"] for e in events if e["EventType"] == EventType.SUB_ORCHESTRATION_CREATED
    ]
    assert created == [f"{parent}-c", f"{execution}:1", f"{execution}:2"]
    assert status(host, f"{execution}:1").json()["input"] == json.dumps("anon")


def test_a_running_instance_status_asks_to_retry_after_5_seconds_at_its_own_url(host):
    """HttpApiHandler.HandleGetStatusRequestAsync: 202 with Location = the request URI and
    Retry-After 5 while running; 404 without a body for an unknown instance."""
    instance_id = start(host, "collect_events", unique("retry"), 1)
    host.wait_for(instance_id, statuses=("Running",))

    response = status(host, instance_id, showInput="false")

    assert response.status_code == 202
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Location"] == str(response.request.url)
    assert_no_body(status(host, unique("never")), 404)


def test_a_failed_instance_is_500_when_the_caller_asks_for_it(host):
    """HandleGetStatusRequestAsync answers a Failed instance 200, or 500 with
    returnInternalServerErrorOnFailure=true (bool.TryParse: any case)."""
    failed = run(host, "always_fails")["instanceId"]

    assert status(host, failed).status_code == 200
    assert status(host, failed, returnInternalServerErrorOnFailure="True").status_code == 500
    assert status(host, failed, returnInternalServerErrorOnFailure="yes").status_code == 200


def test_start_with_timeout_and_polling_interval_waits_for_the_outcome(host):
    """HandleStartOrchestratorRequestAsync with `timeout` and `pollingInterval` calls
    WaitForCompletionOrCreateCheckStatusResponseAsync: 200 with the output when the instance
    completes in time, its status when it fails, 202 and the check-status payload when not,
    and 400 when the interval exceeds the timeout."""
    wait = {"timeout": "30", "pollingInterval": "0.05"}
    done = host.http.post(
        f"{WEBHOOKS}/orchestrators/hello_sequence/{unique('wait')}", params=wait, json='"Wu"'
    )
    assert (done.status_code, done.json()[0]) == (200, "Hello Wu in Tokyo!")

    failed = host.http.post(f"{WEBHOOKS}/orchestrators/always_fails/{unique('wait')}", params=wait)
    assert (failed.status_code, failed.json()["runtimeStatus"]) == (200, "Failed")

    short = {"timeout": "0.2", "pollingInterval": "0.05"}
    waiting = host.http.post(
        f"{WEBHOOKS}/orchestrators/collect_events/{unique('wait')}", params=short, json="1"
    )
    assert waiting.status_code == 202 and "statusQueryGetUri" in waiting.json()

    backwards = {"timeout": "1", "pollingInterval": "2"}
    refused = host.http.post(
        f"{WEBHOOKS}/orchestrators/hello_sequence/{unique('wait')}", params=backwards, json="x"
    )
    assert assert_error(refused, 400)["ExceptionMessage"] == (
        "Total timeout 1 should be bigger than retry timeout 2"
    )


def test_rewind_reruns_what_failed_and_only_that(host):
    """HttpApiHandler.HandleRewindInstanceRequestAsync and AzureTableTrackingStore
    .RewindHistoryAsync: the failed TaskScheduled/TaskFailed pair and the failed completion
    become GenericEvents ("Rewound: ..."), failed children are rewound too, and the deepest
    failed instance is woken; the rewound activity runs again. 410 for a completed instance,
    500 from DurableClient.RewindAsync for a running one."""
    parent = unique("rewind")
    start(host, "parent_of_flaky", parent, {"key": parent, "failures": 1})
    assert host.wait_for(parent)["runtimeStatus"] == "Failed"

    response = host.http.post(f"{WEBHOOKS}/instances/{parent}/rewind", params={"reason": "fixed"})

    assert response.status_code == 202
    body = host.wait_for(parent, showHistory="true")
    assert (body["runtimeStatus"], body["output"]) == ("Completed", "succeeded on attempt 2")
    [child] = [
        e["InstanceId"]
        for e in raw_history(host.hub, parent)
        if e["EventType"] == EventType.SUB_ORCHESTRATION_CREATED
    ]
    child_events = raw_history(host.hub, child)
    rewound = [e.get("Reason") for e in child_events if e["EventType"] == EventType.GENERIC]
    assert "Rewound: TaskScheduled" in rewound and "Rewound: TaskFailed" in rewound
    assert_no_body(host.http.post(f"{WEBHOOKS}/instances/{parent}/rewind"), 410)
    running = start(host, "collect_events", unique("rewind-running"), 1)
    host.wait_for(running, statuses=("Running",))
    refused = assert_error(host.http.post(f"{WEBHOOKS}/instances/{running}/rewind"), 500)
    assert refused["ExceptionMessage"] == (
        "The rewind operation is only supported on failed orchestration instances."
    )


def test_restart_starts_the_same_orchestrator_and_input_again(host):
    """HandleRestartInstanceRequestAsync and DurableClient.RestartAsync: a new instance id by
    default, the same one with restartWithNewInstanceId=false; 400 for an unknown instance;
    the SDK's client.restart goes the same way."""
    first = run(host, "hello_sequence", "Ro")["instanceId"]

    again = host.http.post(f"{WEBHOOKS}/instances/{first}/restart")
    assert again.status_code == 202
    fresh = again.json()["id"]
    assert fresh != first
    assert host.wait_for(fresh)["output"][0] == "Hello Ro in Tokyo!"

    same = host.http.post(
        f"{WEBHOOKS}/instances/{first}/restart", params={"restartWithNewInstanceId": "false"}
    )
    assert same.json()["id"] == first
    assert host.wait_for(first)["runtimeStatus"] == "Completed"

    unknown = assert_error(host.http.post(f"{WEBHOOKS}/instances/{unique('none')}/restart"), 400)
    assert unknown["Message"] == "InstanceId does not match a valid orchestration instance."

    through_sdk = host.http.post(f"/api/client/{first}", params={"op": "restart", "fresh": "false"})
    assert through_sdk.json()["id"] == first


def test_the_sdk_client_rewinds_a_failed_instance(host):
    """DurableOrchestrationClient.rewind posts to instances/{id}/rewind on the RPC endpoint."""
    instance_id = unique("sdk-rewind")
    start(host, "flaky_child", instance_id, {"key": instance_id, "failures": 1})
    assert host.wait_for(instance_id)["runtimeStatus"] == "Failed"

    assert host.http.post(f"/api/client/{instance_id}", params={"op": "rewind"}).status_code == 202

    assert host.wait_for(instance_id)["output"] == "succeeded on attempt 2"


def test_entities_are_listed_in_pages_and_deleted_over_http(host):
    """HttpApiHandler.HandleListEntitiesRequestAsync (GET entities/{name} without a key):
    DurableEntityStatus rows, state only with fetchState=true, `top` rows per page and the
    continuation token; HandlePostEntityOperationRequestAsync turns DELETE into a `delete`
    signal, which this counter answers by deleting itself."""
    keys = sorted(unique("listed") for _ in range(3))
    for n, key in enumerate(keys):
        signal = host.http.post(f"{WEBHOOKS}/entities/counter/{key}", params={"op": "add"}, json=n)
        assert signal.status_code == 202
    for key in keys:
        host.wait_until(
            lambda key=key: host.http.get(f"{WEBHOOKS}/entities/counter/{key}").status_code == 200,
            message=f"counter {key}",
        )

    listed = host.http.get(f"{WEBHOOKS}/entities/counter", params={"fetchState": "true"}).json()
    rows = {row["entityId"]["key"]: row for row in listed if row["entityId"]["key"] in keys}
    assert [rows[key]["state"] for key in keys] == [0, 1, 2]
    assert all(row["entityId"]["name"] == "counter" and row["lastOperationTime"] for row in listed)
    assert {row["state"] for row in host.http.get(f"{WEBHOOKS}/entities/counter").json()} == {None}

    first = host.http.get(f"{WEBHOOKS}/entities/counter", params={"top": "1"})
    assert len(first.json()) == 1 and first.headers[CONTINUATION]

    assert host.http.delete(f"{WEBHOOKS}/entities/counter/{keys[0]}").status_code == 202
    host.wait_until(
        lambda: host.http.get(f"{WEBHOOKS}/entities/counter/{keys[0]}").status_code == 404,
        message="the deleted counter",
    )


@pytest.fixture(scope="module")
def gates(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gates")


@pytest.fixture(scope="module")
def durable(devhost_factory, gates):
    """The `durable` app: gated activities that record each call; 2 run at a time."""
    return devhost_factory(DURABLE, env={"DURABLE_DIR": str(gates)})


def gated_calls(folder: Path, instance_id: str) -> int:
    log = folder / "calls.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return sum(line.startswith(f"gated {instance_id}:") for line in lines)


def test_terminate_takes_effect_when_processed_and_scheduled_work_still_runs(durable, gates):
    """DurableClient.TerminateAsync sends an ExecutionTerminated message
    (TaskHubClient.TerminateInstanceAsync); TaskOrchestrationContext
    .HandleExecutionTerminatedEvent completes the instance as Terminated with the reason as its
    result. The ten activities already in the work-item queue still run, with their side
    effects; their results are ignored."""
    (gates / "hold").touch()
    instance_id = start(durable, "gated_fan", unique("terminated"), 10)
    durable.wait_until(lambda: gated_calls(gates, instance_id) >= 1, message="a first activity")

    response = durable.http.post(
        f"{WEBHOOKS}/instances/{instance_id}/terminate", params={"reason": "stop"}
    )

    assert response.status_code == 202
    body = durable.wait_for(instance_id, showHistory="true")
    assert (body["runtimeStatus"], body["output"]) == ("Terminated", "stop")
    (gates / "hold").unlink()
    durable.wait_until(lambda: gated_calls(gates, instance_id) == 10, message="all ten activities")
    events = status(durable, instance_id, showHistory="true").json()["historyEvents"]
    assert [e["EventType"] for e in events][-2:] == ["ExecutionTerminated", "ExecutionCompleted"]
    assert events[-2]["Input"] == "stop"  # the reason as given: TerminateInstanceAsync
    assert "TaskCompleted" not in [e["EventType"] for e in events]


def test_suspend_holds_results_of_work_already_running_until_resume(durable, gates):
    """DurableClient.SuspendAsync sends ExecutionSuspended; while suspended,
    TaskOrchestrationExecutor buffers what arrives (HandleEventWhileSuspended) and the
    activities already scheduled still run; ExecutionResumed replays what was held."""
    (gates / "hold").touch()
    instance_id = start(durable, "gated_fan", unique("suspended"), 3)
    durable.wait_until(lambda: gated_calls(gates, instance_id) >= 1, message="a first activity")

    suspend = durable.http.post(f"{WEBHOOKS}/instances/{instance_id}/suspend")

    assert suspend.status_code == 202
    durable.wait_for(instance_id, statuses=("Suspended",))
    (gates / "hold").unlink()
    durable.wait_until(lambda: gated_calls(gates, instance_id) == 3, message="all three activities")
    assert status(durable, instance_id).json()["runtimeStatus"] == "Suspended"
    again = durable.http.post(f"{WEBHOOKS}/instances/{instance_id}/suspend")
    assert assert_error(again, 500)["ExceptionMessage"] == (
        f"Cannot suspend the orchestration instance {instance_id} because instance is in the "
        "Suspended state."
    )

    assert durable.http.post(f"{WEBHOOKS}/instances/{instance_id}/resume").status_code == 202
    body = durable.wait_for(instance_id)
    assert body["output"] == [f"done {instance_id}:{n}" for n in range(3)]


@pytest.fixture(scope="module")
def past_the_timeout(host) -> dict[str, str]:
    """The two instances whose work outlives host.json's functionTimeout (the sampler's is
    3 s), started together so that their tests share those seconds of real time."""
    key, other = unique("stalled"), unique("never-signalled")
    return {
        "activity": start(host, "outlives_timeout", unique("outlives_timeout")),
        "entity": start(host, "entity_outlives_timeout", unique("entity_timeout"), [key, other]),
        "unsignalled": other,
    }


def test_an_activity_past_the_function_timeout_fails_as_the_host_fails_it(host, past_the_timeout):
    """host.json functionTimeout: FunctionExecutor throws FunctionTimeoutException("Timeout
    value of {TimeSpan} was exceeded by function: Functions.{name}") and
    TaskActivityShim.RunAsync fails the task with it."""
    body = host.wait_for(past_the_timeout["activity"])

    assert body["runtimeStatus"] == "Completed"
    assert body["output"].startswith(
        "Activity function 'overruns' failed: Timeout value of 00:00:03 was exceeded by "
        "function: Functions.overruns \n "
    )


def test_an_entity_batch_past_the_function_timeout_fails_every_operation_and_keeps_the_state(
    host, past_the_timeout
):
    """TaskEntityShim.ExecuteOutOfProcBatch: when the invocation loses the race against the
    timeout, every operation of the batch fails with the FunctionTimeoutException's message,
    the entity keeps the state it had before the batch, and the batch's signals are dropped."""
    body = host.wait_for(past_the_timeout["entity"])

    assert body["runtimeStatus"] == "Completed", body
    assert "Timeout value of 00:00:03 was exceeded by function: Functions.counter" in (
        body["output"]["problem"] or ""
    ), body["output"]
    assert body["output"]["total"] == 2  # the stalled operation's change was not kept
    host.idle()
    unsignalled = past_the_timeout["unsignalled"]
    assert host.http.get(f"{WEBHOOKS}/entities/counter/{unsignalled}").status_code == 404


def app_with_host_json(folder: Path, function_timeout: str | None = None, **durable_task) -> Path:
    """A copy of the sampler app whose host.json durableTask section is `durable_task` (and
    functionTimeout `function_timeout`, if given)."""
    app = folder / "app"
    shutil.copytree(SAMPLER, app)
    settings = json.loads((SAMPLER / "host.json").read_text())
    settings["extensions"]["durableTask"] = durable_task
    if function_timeout is not None:
        settings["functionTimeout"] = function_timeout
    (app / "host.json").write_text(json.dumps(settings))
    return app


def start_refused(app: Path, folder: Path) -> str:
    """`devhost start` on an app the host refuses: exit 1 and the one line it printed."""
    result = command("start", "--app", str(app), "--hub", str(folder / "h"), timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr.strip()


@pytest.mark.parametrize(
    ("hub", "shown"),
    [("bad-name", "bad-name"), ("ab", "ab"), ("%NO_SUCH_SETTING%", "%NO_SUCH_SETTING%")],
)
def test_a_task_hub_name_azure_storage_refuses_stops_the_host(tmp_path, hub, shown):
    """AzureStorageDurabilityProviderFactory.EnsureDefaultClientSettingsInitialized calls
    AzureStorageOptions.ValidateHubName (container, table and queue name rules, at most 50
    characters) on the name DurableTaskOptions.ResolveAppSettingOptions resolved (a `%NAME%`
    only as a whole value, left as it is when no such setting exists)."""
    message = start_refused(app_with_host_json(tmp_path, hubName=hub), tmp_path)

    assert (
        f"Task hub name '{shown}' should contain only alphanumeric characters, start with a "
        "letter, and have length between 3 and 45."
    ) in message


@pytest.mark.parametrize("limit", ["00:00:00.5", "-00:05:00"])
def test_a_function_timeout_under_a_second_stops_the_host(tmp_path, limit):
    """ScriptJobHostOptionsSetup.ValidateTimeoutValue: below MinFunctionTimeout (one second) the
    host does not start."""
    app = app_with_host_json(tmp_path, limit, hubName="timeouts")

    message = start_refused(app, tmp_path)

    assert (
        "FunctionTimeout must be greater than 00:00:01 and less than 10675199.02:48:05.4775807."
    ) in message


def test_functions_time_out_after_30_minutes_unless_host_json_says_otherwise(
    host, durable, devhost_factory, tmp_path
):
    """ScriptJobHostOptionsSetup.ConfigureFunctionTimeout outside Windows Consumption (Linux,
    Flex Consumption): DefaultFunctionTimeout, 30 minutes, when host.json sets none; its own
    value when it does; no limit for minus one day ("-1", "-1.00:00:00"). The banner says
    which applies."""
    assert "batches time out after 00:30:00" in durable.log.read_text()  # none in host.json
    assert "batches time out after 00:00:03" in host.log.read_text()  # the sampler's

    unlimited = devhost_factory(app_with_host_json(tmp_path, "-1.00:00:00", hubName="unlimited"))

    assert "batches run without a time limit" in unlimited.log.read_text()


def test_concurrency_limits_must_be_positive(tmp_path):
    """DurableTaskOptions.Validate: each maxConcurrent... setting a positive integer."""
    app = app_with_host_json(tmp_path, hubName="limits", maxConcurrentEntityFunctions=0)

    message = start_refused(app, tmp_path)

    assert "MaxConcurrentEntityFunctions must be a positive integer value." in message


def test_any_state_lets_a_start_replace_a_running_instance(devhost_factory, tmp_path):
    """overridableExistingInstanceStates AnyState: DurableClient.GetStatusesNotToOverride gives
    no dedupe statuses, so a start replaces the running instance (NonRunningStates, the
    default, refuses it)."""
    app = app_with_host_json(
        tmp_path, hubName="anystate", overridableExistingInstanceStates="AnyState"
    )
    replacing = devhost_factory(app, "--clock", "manual")
    instance_id = start(replacing, "collect_events", unique("replaced"), 1)
    replacing.wait_for(instance_id, statuses=("Running",))

    start(replacing, "hello_sequence", instance_id, "again")

    body = replacing.wait_for(instance_id)
    assert (body["name"], body["output"][0]) == ("hello_sequence", "Hello again in Tokyo!")


def test_an_sdk_started_input_is_stored_as_azure_stores_it_and_reaches_the_orchestrator(host):
    """The SDK's DurableOrchestrationClient.start_new posts `df_dumps(input)` as the JSON body,
    a JSON string of JSON. HttpApiHandler.HandleStartOrchestratorRequestAsync (the RPC start
    endpoint) reads it with JsonConvert.DeserializeObject, a string, and DurableClient
    .StartNewAsync stores that string serialized: the status (ConvertOrchestrationStateToStatus,
    ParseToJToken) shows `input` as text (SDK issue #195). The orchestrator gets the object
    back: OrchestrationContextToString puts the stored input in the context as a token
    (GetInputAsJson), and the SDK's `get_input` decodes that text. A plain JSON body on the HTTP
    API is stored and shown as the object it is."""
    order = {"orderId": "MO-1", "tasks": [{"taskId": "T1"}]}
    through_sdk = unique("sdk-input")
    response = host.http.post(f"/api/start/echo_input/{through_sdk}", json=order)
    assert response.status_code == 202, response.text
    done = host.wait_for(through_sdk)
    assert done["input"] == json.dumps(order)
    assert done["output"] == order
    seen = host.http.get(f"/api/client/{through_sdk}", params={"op": "status"}).json()
    assert seen["input"] == json.dumps(order)

    through_api = unique("api-input")
    plain = host.http.post(f"{WEBHOOKS}/orchestrators/echo_input/{through_api}", json=order)
    assert plain.status_code == 202
    done = host.wait_for(through_api)
    assert (done["input"], done["output"]) == (order, order)


def test_sub_orchestration_and_continue_as_new_inputs_are_stored_as_azure_stores_them(host):
    """The SDK's CallSubOrchestratorAction and ContinueAsNewAction carry `df_dumps(input)`, JSON
    text, in the action's `input`; OutOfProcOrchestrationShim reads it as a plain string
    (AsyncAction.Input) and InvokeAPIFromAction hands that string to
    TaskOrchestrationContext.CreateSubOrchestrationInstanceCore and ContinueAsNewCore, which
    serialize it once more. So the child's and the new generation's status `input` is text
    (DurableClient.ConvertOrchestrationStateToStatus, ParseToJToken), history rows keep each
    Input as stored (DurableClient.GetDurableOrchestrationStatusAsync parses only Result), and
    `get_input` still returns the value (OrchestrationContextToString passes the stored string
    as a token; the SDK decodes its text)."""
    parent = unique("hands-on")
    first = {"generation": 0, "tags": ["a", "b"]}
    response = host.http.post(f"/api/start/hands_input_on/{parent}", json=first)
    assert response.status_code == 202, response.text

    done = host.wait_for(parent, showHistory="true")

    last = {**first, "generation": 2}
    assert done["output"] == {"fromChild": last, "mine": last}
    assert done["input"] == json.dumps(last)
    stored = json.dumps(json.dumps(last))
    rows = {row["EventType"]: row for row in done["historyEvents"]}
    assert rows["ExecutionStarted"]["Input"] == stored
    # Not in the parent's history: storeInputsInOrchestrationHistory is off.
    assert rows["SubOrchestrationInstanceCompleted"]["Input"] is None
    child = host.wait_for(f"{parent}-child", showHistory="true")
    assert (child["input"], child["output"]) == (json.dumps(last), last)
    assert child["historyEvents"][0]["Input"] == stored
    seen = host.http.get(f"/api/client/{parent}-child", params={"op": "status"}).json()
    assert seen["input"] == json.dumps(last)


def test_history_rows_show_each_input_as_it_is_stored(host, devhost_factory, tmp_path):
    """DurableClient.GetDurableOrchestrationStatusAsync parses only Result; every Input stays
    the stored JSON text. HandleStartOrchestratorRequestAsync and HandleRaiseEventRequestAsync
    store a parsed body re-serialized compact (MessagePayloadDataConverter.Serialize,
    Formatting.None). A completion shows its TaskScheduled's Input
    (AddScheduledEventDataAndAggregate), which TaskOrchestrationDispatcher
    .ProcessScheduleTaskDecision records only with IncludeParameters (host.json
    storeInputsInOrchestrationHistory, off by default): then it is the parameters array that
    TaskOrchestrationContext.ScheduleTaskInternal serializes around the SDK's JSON text."""
    waiting = start(host, "collect_events", unique("stored"), 1)
    raised = raise_event(host, waiting, "Item", {"n": 1, "by": "Zoë"})
    assert raised.status_code == 202
    events = host.wait_for(waiting, showHistory="true")["historyEvents"]
    rows = {row["EventType"]: row for row in events}
    assert rows["ExecutionStarted"]["Input"] == '"1"'  # the helper posts as start_new does
    assert rows["EventRaised"]["Input"] == '{"n":1,"by":"Zoë"}'

    def first_call_input(on) -> object:
        events = run(on, "hello_sequence", "Zoë")["historyEvents"]
        return next(row for row in events if row["EventType"] == "TaskCompleted")["Input"]

    assert first_call_input(host) is None
    storing = devhost_factory(
        app_with_host_json(tmp_path, hubName="storing", storeInputsInOrchestrationHistory=True)
    )
    assert first_call_input(storing) == json.dumps(
        [json.dumps("Zoë in Tokyo")], separators=(",", ":")
    )


def test_the_management_urls_a_client_is_handed_are_served(host):
    """HttpApiHandler.GetClientResponseLinks builds every management URL of
    HttpManagementPayload (rewindPostUri with `?reason={text}`, restartPostUri, ...) with the
    system key; each one answers as its handler does (HandleRewindInstanceRequestAsync,
    HandleRestartInstanceRequestAsync)."""
    failed = unique("advertised")
    start(host, "flaky_child", failed, {"key": failed, "failures": 1})
    assert host.wait_for(failed)["runtimeStatus"] == "Failed"
    payload = host.http.get(f"/api/client/{failed}", params={"op": "payload"}).json()

    rewound = httpx.post(payload["rewindPostUri"].replace("{text}", "fixed"))

    assert rewound.status_code == 202
    assert host.wait_for(failed)["output"] == "succeeded on attempt 2"
    restarted = httpx.post(payload["restartPostUri"])
    assert restarted.status_code == 202
    assert host.wait_for(restarted.json()["id"])["output"] == "succeeded on attempt 3"


def test_max_concurrent_orchestrator_functions_bounds_the_episodes_in_flight(
    devhost_factory, tmp_path
):
    """DurableTaskOptions.MaxConcurrentOrchestratorFunctions becomes DurableTask's
    MaxConcurrentTaskOrchestrationWorkItems (AzureStorageDurabilityProviderFactory): with 1,
    a second instance waits while one episode runs, however long it runs."""
    app = app_with_host_json(
        tmp_path, hubName="%SAMPLER_HUB%", maxConcurrentOrchestratorFunctions=1
    )
    host = devhost_factory(app, clock="manual")
    paths = {"blocking": str(tmp_path / "blocking"), "release": str(tmp_path / "release")}
    blocked = start(host, "blocks_until_released", unique("blocked"), paths)
    host.wait_until(lambda: Path(paths["blocking"]).exists(), message="the episode to block")
    waiting = start(host, "hello_sequence", unique("waiting"))

    busy = host.http.get("/devhost/idle", params={"timeout": "0"})
    assert busy.status_code == 408
    assert f"orchestrator episodes running: {blocked}" in busy.text
    assert status(host, waiting).json()["runtimeStatus"] == "Pending"

    Path(paths["release"]).touch()
    assert host.wait_for(blocked)["runtimeStatus"] == "Completed"
    assert host.wait_for(waiting)["runtimeStatus"] == "Completed"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ('"Ann"', "Expecting value: line 1 column 1 (char 0)"),
        ("3", "the JSON object must be str, bytes or bytearray, not int"),
        ("[1]", "the JSON object must be str, bytes or bytearray, not list"),
    ],
)
def test_a_bare_value_started_over_http_is_what_get_input_cannot_read(host, body, error):
    """HandleStartOrchestratorRequestAsync stores the body's value and OrchestrationContextToString
    hands it to the worker as a bare token (GetInputAsJson): the SDK re-encodes only an object
    (DurableOrchestrationContext.__init__) and `get_input` decodes with df_loads, so a bare
    string, number or list fails the orchestrator. Its JSON text in a JSON string (what
    start_new posts) reaches it as the value."""
    instance_id = unique("bare")
    response = host.http.post(
        f"{WEBHOOKS}/orchestrators/echo_input/{instance_id}",
        content=body.encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 202

    done = host.wait_for(instance_id)

    assert (done["runtimeStatus"], done["output"]) == (
        "Failed",
        f"Orchestrator function 'echo_input' failed: {error}",
    )
    encoded = start(host, "echo_input", unique("encoded"), json.loads(body))
    assert host.wait_for(encoded)["output"] == json.loads(body)
