"""External events reach an orchestration as the Durable extension and DurableTask.Core deliver
them on Azure, and the real Python SDK (azure-functions-durable 1.7.0) then hands them out.

Sources (Azure/durabletask, Azure/azure-functions-durable-extension):

- HttpApiHandler.HandleRaiseEventRequestAsync parses the body (MessagePayloadDataConverter
  .ConvertToJToken) and calls DurableClient.RaiseEventAsync; RaiseEventInternalAsync clears the
  execution id and calls TaskHubClient.RaiseEventAsync, which queues one TaskMessage holding
  `new EventRaisedEvent(-1, serializedInput) { Name = eventName }`: a name and the payload's
  JSON text, whoever waits for it.
- Azure Storage hands an instance every message that reached it as one work item:
  OrchestrationSessionManager.AddMessageToPendingOrchestration appends each message to the
  instance's PendingMessageBatch, or, while the instance's session is active (an episode
  running), to that session (OrchestrationSession.AddOrReplaceMessages, fetched together by
  FetchNewOrchestrationMessagesAsync for the next episode); ControlQueue.GetMessagesAsync sorts
  what it dequeues by insertion time and the client's sequence number (MessageOrderingComparer)
  "to preserve insertion order".
- TaskOrchestrationDispatcher.OnProcessWorkItemAsync adds one OrchestratorStartedEvent and
  ReconcileMessagesWithState then adds every message's event of the work item to the runtime
  state, in order, with no regard to what the orchestration waits for: an EventRaised nobody
  waits for is history like any other and is saved with it.
- DurableTaskExtension.OrchestrationMiddleware sets `context.History =
  orchestrationRuntimeState.Events`, which OrchestrationTriggerAttributeBindingProvider
  .OrchestrationContextToString sends to the Python worker as `history`; the SDK replays it.

What the SDK does with a replayed EventRaised (TaskOrchestrationExecutor.set_task_value,
DurableOrchestrationContext._add_to_open_tasks): it completes the open waiter of that name; with
none open it keeps the event in `deferred_tasks[name]`, one slot that a later event of the name
replaces and that is never emptied, so every waiter of that name yielded later in the replay
completes at once with the kept event (azure-functions-durable-python issue #507). The .NET
in-process context (DurableOrchestrationContext.RaiseEvent / WaitForExternalEvent) queues such
events per name instead, one per waiter; the Python worker on Azure does not, and neither does
devhost, which runs the same SDK. orchestrators/inbox.py avoids it by never waiting twice for
one name.

Raising to a finished instance (410) is pinned in test_management_api.py.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from devhost.durable.history import EventType
from tests.devhost.support import APPS, history, raise_event, raw_history, start, status, unique

EVENTS = APPS / "events"


@pytest.fixture(scope="module")
def gates(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("event-gates")


@pytest.fixture(scope="module")
def events_host(devhost_factory, gates):
    """The `events` app: one orchestrator episode at a time, orchestrators that can be held."""
    return devhost_factory(EVENTS, env={"EVENTS_DIR": str(gates)})


def hold(host, gates: Path, name: str, instance_id: str) -> Path:
    """Start `name` held at its gate; return once its first episode is blocked there."""
    gate = gates / f"{instance_id}.hold"
    os.mkfifo(gate)
    start(host, name, instance_id)
    reached = gates / f"{instance_id}.reached"
    host.wait_until(reached.exists, message=f"{instance_id} to reach its gate")
    return gate


def release(gate: Path) -> None:
    """Let the held episode go: open the FIFO's other end, remove it (so the instance's next
    replay passes its gate), then close the end, which ends the gate's read."""
    end = os.open(gate, os.O_WRONLY)
    gate.unlink()
    os.close(end)


def episodes(raw: list[dict[str, Any]]) -> list[list[int]]:
    """The stored history's event types, one list per episode (each opens with an
    OrchestratorStarted)."""
    split: list[list[int]] = []
    for event in raw:
        if event["EventType"] == EventType.ORCHESTRATOR_STARTED or not split:
            split.append([])
        split[-1].append(event["EventType"])
    return split


def raised(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["Name"], e["Input"]) for e in events if e["EventType"] == "EventRaised"]


@pytest.mark.parametrize("held", ["its-episode-running", "not-yet-dispatched"])
def test_events_raised_together_arrive_in_one_episode_and_the_sdk_repeats_the_last(
    events_host, gates, held
):
    """Three "Item" events raised while the instance cannot take them (its own episode is
    running, or the dispatcher has not picked up its start because the only orchestrator slot
    is taken) reach it as one work item: consecutive EventRaised in raise order, each with its
    Name and Input as JSON text (TaskOrchestrationDispatcher.ReconcileMessagesWithState;
    OrchestrationSessionManager.AddMessageToPendingOrchestration, OrchestrationSession
    .AddOrReplaceMessages; TaskHubClient.RaiseEventAsync). A Pending instance takes events
    (DurableClient.IsOrchestrationRunning counts Pending), and they follow its
    ExecutionStarted (TaskOrchestrationDispatcher.EnsureExecutionStartedIsFirst).

    The SDK then completes the first wait with 1; 2 and 3 find no open waiter, so 3 replaces 2
    in `deferred_tasks["Item"]` (TaskOrchestrationExecutor.set_task_value); after the activity
    each of the three later waits completes at once with 3 (DurableOrchestrationContext
    ._add_to_open_tasks; SDK issue #507). 2 is never seen. On Azure the Python worker does the
    same: devhost reproduces the defect because it runs the real SDK."""
    instance_id = unique("same-name")
    if held == "its-episode-running":
        gate = hold(events_host, gates, "same_name", instance_id)
    else:
        gate = hold(events_host, gates, "occupier", unique("occupier"))
        start(events_host, "same_name", instance_id)
    try:
        for value in (1, 2, 3):
            assert raise_event(events_host, instance_id, "Item", value).status_code == 202
        assert status(events_host, instance_id).json()["runtimeStatus"] in ("Pending", "Running")
        assert "EventRaised" not in [e["EventType"] for e in history(events_host, instance_id)]
    finally:
        release(gate)

    body = events_host.wait_for(instance_id, showHistory="true", showHistoryOutput="true")

    assert body["runtimeStatus"] == "Completed", body
    assert raised(body["historyEvents"]) == [("Item", "1"), ("Item", "2"), ("Item", "3")]
    assert body["output"] == [1, 3, 3, 3]
    split = episodes(raw_history(events_host.hub, instance_id))
    [delivery] = [kinds for kinds in split if EventType.EVENT_RAISED in kinds]
    first = delivery.index(EventType.EVENT_RAISED)
    assert delivery[first : first + 3] == [EventType.EVENT_RAISED] * 3
    assert delivery.count(EventType.EVENT_RAISED) == 3
    # Before the events only what opened the episode: its OrchestratorStarted, and the start
    # when that had not been dispatched yet.
    opening = [EventType.ORCHESTRATOR_STARTED]
    if held == "not-yet-dispatched":
        opening.append(EventType.EXECUTION_STARTED)
    assert delivery[:first] == opening


def test_a_name_waited_for_once_takes_its_event_once_and_unwanted_events_stay_in_history(
    events_host,
):
    """orchestrators/inbox.py's rule: each wait listens under a name of its own ("Item",
    "Item_2", "Item_3"), published in the custom status, and each event is raised under the
    name that counts now. Every waiter then takes exactly its event, in order, because a name
    never has a second waiter for `deferred_tasks` to feed (TaskOrchestrationExecutor
    .set_task_value, DurableOrchestrationContext._add_to_open_tasks).

    An event nobody waits for (a late one under the spent name "Item", one under a name never
    waited for) changes nothing, yet is recorded in history and stays there after the instance
    completes: TaskOrchestrationDispatcher.ReconcileMessagesWithState adds every message's event
    to the runtime state whatever the orchestration waits for."""
    instance_id = start(events_host, "name_per_wait", unique("per-wait"))

    def raise_as() -> str | None:
        custom = status(events_host, instance_id).json().get("customStatus") or {}
        return custom.get("raiseAs")

    for value, name in enumerate(("Item", "Item_2", "Item_3"), start=1):
        events_host.wait_until(lambda name=name: raise_as() == name, message=f"a wait for {name}")
        if name == "Item_2":
            assert raise_event(events_host, instance_id, "Item", "late").status_code == 202
            assert raise_event(events_host, instance_id, "Nobody", "unwanted").status_code == 202
        assert raise_event(events_host, instance_id, name, value).status_code == 202

    body = events_host.wait_for(instance_id, showHistory="true", showHistoryOutput="true")

    assert body["runtimeStatus"] == "Completed", body
    assert body["output"] == [1, 2, 3]
    assert raised(body["historyEvents"]) == [
        ("Item", "1"),
        ("Item", '"late"'),
        ("Nobody", '"unwanted"'),
        ("Item_2", "2"),
        ("Item_3", "3"),
    ]
