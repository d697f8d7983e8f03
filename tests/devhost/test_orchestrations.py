"""Orchestrations through the SDK's own replay: every action kind, recorded as Azure does."""

from __future__ import annotations

import json
from datetime import datetime

from devhost.durable.history import EventType
from tests.devhost.support import (
    WEBHOOKS,
    history,
    kinds,
    raise_event,
    raw_history,
    run,
    settle,
    start,
    status,
    unique,
)


def test_activity_sequence_returns_each_result_in_order(host):
    body = run(host, "hello_sequence", "Ann")

    assert body["runtimeStatus"] == "Completed"
    # The greeting comes from local.settings.json, which devhost put into the environment.
    assert body["output"] == [
        "Hello Ann in Tokyo!",
        "Hello Ann in Seattle!",
        "Hello Ann in London!",
    ]
    events = body["historyEvents"]
    assert kinds(events) == [
        "ExecutionStarted",
        "TaskCompleted",
        "TaskCompleted",
        "TaskCompleted",
        "ExecutionCompleted",
    ]
    # ExecutionStarted's Name becomes FunctionName (DurableClient, GetDurableOrchestrationStatus)
    assert events[0]["FunctionName"] == "hello_sequence"
    assert "Name" not in events[0]
    assert events[0]["Input"] == json.dumps(json.dumps("Ann"))  # as stored: JSON text
    assert [e["FunctionName"] for e in events[1:4]] == ["say_hello"] * 3
    assert [e["Result"] for e in events[1:4]] == body["output"]
    assert events[-1]["OrchestrationStatus"] == "Completed"
    assert events[-1]["Result"] == body["output"]


def test_history_output_and_input_are_shown_only_when_asked(host):
    instance_id = run(host, "hello_sequence", "Bo")["instanceId"]

    plain = status(host, instance_id).json()
    assert "historyEvents" not in plain
    assert plain["input"] == json.dumps("Bo")
    quiet = status(host, instance_id, showHistory="true", showInput="false").json()
    assert quiet["input"] is None
    assert all("Result" not in event for event in quiet["historyEvents"])
    assert all("Input" not in event for event in quiet["historyEvents"])
    assert kinds(quiet["historyEvents"])[0] == "ExecutionStarted"


def test_unanswered_scheduling_stays_in_the_history_until_its_completion(host):
    """GetDurableOrchestrationStatusAsync removes a SubOrchestrationInstanceCreated (or
    TaskScheduled) only when AddScheduledEventDataAndAggregate finds its completion: while the
    child runs, the parent's history shows it was started, with its name and instance id."""
    instance_id = start(host, "waits_on_child", unique("waits-on-child"))
    child = f"{instance_id}-child"
    host.wait_for(child, statuses=("Running",))
    events = host.wait_until(
        lambda: [e for e in history(host, instance_id) if e["EventType"].endswith("Created")],
        message="the child's creation in the parent's history",
    )
    assert [(e["EventType"], e["Name"], e["InstanceId"]) for e in events] == [
        ("SubOrchestrationInstanceCreated", "approval", child)
    ]
    assert raise_event(host, child, "Approval", "yes").status_code == 202
    done = host.wait_for(instance_id, showHistory="true")
    assert kinds(done["historyEvents"]) == [
        "ExecutionStarted",
        "SubOrchestrationInstanceCompleted",
        "ExecutionCompleted",
    ]


def test_replayed_history_carries_the_extension_fields(host):
    instance_id = run(host, "hello_sequence", "Cy")["instanceId"]

    events = raw_history(host.hub, instance_id)
    started = next(e for e in events if e["EventType"] == 0)
    assert started["Version"] == ""
    assert started["Name"] == "hello_sequence"
    assert started["OrchestrationInstance"]["InstanceId"] == instance_id
    scheduled = [e for e in events if e["EventType"] == 4]
    completed = [e for e in events if e["EventType"] == 5]
    assert [e["EventId"] for e in scheduled] == [0, 1, 2]
    assert [e["TaskScheduledId"] for e in completed] == [0, 1, 2]
    # Each episode is framed by OrchestratorStarted (12) and OrchestratorCompleted (13).
    assert events[0]["EventType"] == 12
    assert events[-1]["EventType"] == 13


def test_fan_out_fan_in_collects_every_result(host):
    body = run(host, "fan_out", 40)

    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == sum(range(40))
    completions = [e for e in body["historyEvents"] if e["EventType"] == "TaskCompleted"]
    assert sorted(e["Result"] for e in completions) == list(range(40))


def test_activity_retry_succeeds_after_failures(host):
    instance_id = unique("retry-ok")
    start(host, "flaky_with_retry", instance_id, {"key": instance_id, "failures": 2})

    body = settle(host, instance_id)

    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == {"result": "succeeded on attempt 3"}
    events = body["historyEvents"]
    assert kinds(events) == [
        "ExecutionStarted",
        "TaskFailed",
        "TimerCreated",
        "TimerFired",
        "TaskFailed",
        "TimerCreated",
        "TimerFired",
        "TaskCompleted",
        "ExecutionCompleted",
    ]
    assert [e["Reason"] for e in events if e["EventType"] == "TaskFailed"] == [
        "Activity function 'flaky' failed:  RuntimeError: attempt 1 failed",
        "Activity function 'flaky' failed:  RuntimeError: attempt 2 failed",
    ]
    # Each retry is scheduled only once the retry timer before it has fired.
    for index, event in enumerate(events):
        if event["EventType"] == "TimerFired":
            assert events[index + 1]["ScheduledTime"] >= event["FireAt"]


def test_activity_retry_exhausted_records_the_final_extra_timer(host):
    instance_id = unique("retry-fail")
    start(host, "flaky_with_retry", instance_id, {"key": instance_id, "failures": 10})

    body = settle(host, instance_id)

    assert body["runtimeStatus"] == "Completed"
    assert "attempt 3 failed" in body["output"]["failed"]
    retry = ["TaskFailed", "TimerCreated", "TimerFired"]
    assert kinds(body["historyEvents"]) == ["ExecutionStarted", *retry * 3, "ExecutionCompleted"]
    # Underneath, as the extension records it: TaskScheduled(n) -> TaskFailed(n) ->
    # TimerCreated(n+1) -> TimerFired(n+1) -> TaskScheduled(n+2) ...
    sequence = [
        (e["EventType"], e.get("TaskScheduledId", e.get("TimerId", e["EventId"])))
        for e in raw_history(host.hub, instance_id)
        if e["EventType"] in (4, 6, 10, 11)
    ]
    assert sequence == [
        (4, 0), (6, 0), (10, 1), (11, 1),
        (4, 2), (6, 2), (10, 3), (11, 3),
        (4, 4), (6, 4), (10, 5), (11, 5),
    ]  # fmt: skip


def sub_orchestrations(host, instance_id: str) -> list[dict]:
    """The status of every sub-orchestration the instance created, found in its history."""
    created = [
        event["InstanceId"]
        for event in raw_history(host.hub, instance_id)
        if event["EventType"] == EventType.SUB_ORCHESTRATION_CREATED
    ]
    return [status(host, child).json() for child in created]


def test_sub_orchestrations_with_given_and_generated_ids(host):
    body = run(host, "parent", prefix="parent")
    instance_id = body["instanceId"]

    assert body["runtimeStatus"] == "Completed"
    output = body["output"]
    assert output["named"] == [f"Hello child in {c}!" for c in ("Tokyo", "Seattle", "London")]
    assert output["generated"] == [f"Hello anon in {c}!" for c in ("Tokyo", "Seattle", "London")]
    assert "the books do not balance" in output["failure"]
    assert kinds(body["historyEvents"]) == [
        "ExecutionStarted",
        "SubOrchestrationInstanceCompleted",
        "SubOrchestrationInstanceCompleted",
        "SubOrchestrationInstanceFailed",
        "ExecutionCompleted",
    ]
    children = {row["instanceId"]: row for row in sub_orchestrations(host, instance_id)}
    assert len(children) == 3
    named = children.pop(f"{instance_id}-c")
    assert (named["name"], named["runtimeStatus"], named["input"]) == (
        "hello_sequence",
        "Completed",
        json.dumps("child"),
    )
    by_name = {row["name"]: row for row in children.values()}
    assert by_name["hello_sequence"]["input"] == json.dumps("anon")
    assert by_name["hello_sequence"]["runtimeStatus"] == "Completed"
    assert by_name["always_fails"]["runtimeStatus"] == "Failed"


def test_orchestrator_exception_fails_the_instance_with_its_message(host):
    body = run(host, "always_fails")

    assert body["runtimeStatus"] == "Failed"
    assert "the books do not balance" in body["output"]
    last = body["historyEvents"][-1]
    assert last["EventType"] == "ExecutionCompleted"
    assert last["OrchestrationStatus"] == "Failed"


def test_continue_as_new_restarts_with_fresh_history(host):
    body = run(host, "counter_loop", 0)

    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == 3
    assert body["input"] == json.dumps(3)  # the SDK's JSON text, stored as a string
    assert kinds(body["historyEvents"]) == ["ExecutionStarted", "ExecutionCompleted"]
    assert body["historyEvents"][0]["Input"] == json.dumps(json.dumps(3))


def test_sdk_serialisable_objects_cross_the_activity_boundary(host):
    body = run(host, "money_flow", 250)

    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == {"cents": 500, "currency": "EUR", "type": "Money"}


def test_events_raised_before_the_orchestrator_waits_are_buffered_in_order(host):
    instance_id = start(host, "collect_events", unique("buffered"), 3)
    for value in ({"n": 1}, [2], "three"):
        assert raise_event(host, instance_id, "Item", value).status_code == 202

    body = host.wait_for(instance_id, showHistory="true", showHistoryOutput="true")

    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == [{"n": 1}, [2], "three"]
    raised = [e for e in body["historyEvents"] if e["EventType"] == "EventRaised"]
    assert [(e["Name"], e["Input"]) for e in raised] == [
        ("Item", '{"n":1}'),
        ("Item", "[2]"),
        ("Item", '"three"'),
    ]


def test_events_that_arrive_while_suspended_replay_in_one_episode(host):
    instance_id = start(host, "collect_events", unique("suspended"), 3)
    host.wait_for(instance_id, statuses=("Running",))
    assert host.http.post(f"{WEBHOOKS}/instances/{instance_id}/suspend").status_code == 202
    host.wait_for(instance_id, statuses=("Suspended",))
    for value in (1, 2, 3):
        assert raise_event(host, instance_id, "Item", value).status_code == 202

    assert status(host, instance_id).json()["runtimeStatus"] == "Suspended"
    assert "EventRaised" not in kinds(history(host, instance_id))
    assert host.http.post(f"{WEBHOOKS}/instances/{instance_id}/resume").status_code == 202
    body = host.wait_for(instance_id, showHistory="true", showHistoryOutput="true")

    assert body["output"] == [1, 2, 3]
    assert kinds(body["historyEvents"]) == [
        "ExecutionStarted",
        "ExecutionSuspended",
        "ExecutionResumed",
        "EventRaised",
        "EventRaised",
        "EventRaised",
        "ExecutionCompleted",
    ]
    raw = [e["EventType"] for e in raw_history(host.hub, instance_id)]
    first = raw.index(15)
    assert raw[first - 1] == 12  # one OrchestratorStarted ...
    assert raw[first : first + 3] == [15, 15, 15]  # ... then all three events together


def test_task_any_and_task_all_with_the_host_clock(host):
    instance_id = start(host, "race", unique("race"))
    host.wait_for(instance_id, statuses=("Running",))
    now = host.advance(0)
    assert raise_event(host, instance_id, "Go", "go!").status_code == 202

    body = host.wait_for(instance_id)

    assert body["runtimeStatus"] == "Completed"
    assert body["output"]["first"] == "go!"
    assert body["output"]["both"] == ["Hello A!", "Hello B!"]
    assert datetime.fromisoformat(body["output"]["now"]) == datetime.fromisoformat(now)


def test_sub_orchestration_retry_records_failures_and_timers(host):
    instance_id = unique("sub-retry")
    start(host, "parent_with_retry", instance_id, {"key": instance_id, "failures": 2})

    body = settle(host, instance_id)

    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == {"result": "succeeded on attempt 3"}
    assert kinds(body["historyEvents"]) == [
        "ExecutionStarted",
        "SubOrchestrationInstanceFailed",
        "TimerCreated",
        "TimerFired",
        "SubOrchestrationInstanceFailed",
        "TimerCreated",
        "TimerFired",
        "SubOrchestrationInstanceCompleted",
        "ExecutionCompleted",
    ]
    children = sub_orchestrations(host, instance_id)
    assert sorted(row["runtimeStatus"] for row in children) == ["Completed", "Failed", "Failed"]
    assert {row["name"] for row in children} == {"flaky_child"}
