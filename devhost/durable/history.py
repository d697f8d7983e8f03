"""History events exactly as the Durable extension hands them to the Python SDK.

Field names are PascalCase and `EventType` numbers follow DurableTask.Core's
`EventType` enum; completions are matched by `TaskScheduledId`, `TimerId` or `Name`.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Any

from devhost.durable.clock import to_wire


class EventType(IntEnum):
    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_CREATED = 7
    SUB_ORCHESTRATION_COMPLETED = 8
    SUB_ORCHESTRATION_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    GENERIC = 17
    HISTORY_STATE = 18
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20


def event_name(kind: EventType) -> str:
    """DurableTask.Core's EventType name."""
    names = {
        EventType.SUB_ORCHESTRATION_CREATED: "SubOrchestrationInstanceCreated",
        EventType.SUB_ORCHESTRATION_COMPLETED: "SubOrchestrationInstanceCompleted",
        EventType.SUB_ORCHESTRATION_FAILED: "SubOrchestrationInstanceFailed",
        EventType.CONTINUE_AS_NEW: "ContinueAsNew",
        EventType.GENERIC: "GenericEvent",
    }
    return names.get(kind) or "".join(p.capitalize() for p in kind.name.split("_"))


#: Events that schedule work under an EventId the SDK chose.
SCHEDULING_EVENTS = {
    EventType.TASK_SCHEDULED,
    EventType.TIMER_CREATED,
    EventType.SUB_ORCHESTRATION_CREATED,
    EventType.EVENT_SENT,
}


def event(kind: EventType, at: datetime, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    """One history event; `IsPlayed` is set by the replay adapter, not stored."""
    return {"EventType": int(kind), "EventId": event_id, "Timestamp": to_wire(at), **fields}


def execution_started(
    at: datetime,
    name: str,
    instance_id: str,
    input_json: str | None,
    execution_id: str,
    parent: dict[str, Any] | None = None,
    version: str = "",
) -> dict[str, Any]:
    """`Version` must be present (the SDK reads it into `context.version`), "" when unversioned."""
    return event(
        EventType.EXECUTION_STARTED,
        at,
        Name=name,
        Version=version,
        Input=input_json,
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        ParentInstance=parent,
    )


def task_completed(at: datetime, task_id: int, result: str | None) -> dict[str, Any]:
    return event(EventType.TASK_COMPLETED, at, TaskScheduledId=task_id, Result=result)


def task_failed(at: datetime, task_id: int, reason: str, details: str) -> dict[str, Any]:
    return event(EventType.TASK_FAILED, at, TaskScheduledId=task_id, Reason=reason, Details=details)


def timer_fired(at: datetime, timer_id: int, fire_at: str) -> dict[str, Any]:
    return event(EventType.TIMER_FIRED, at, TimerId=timer_id, FireAt=fire_at)


def event_raised(at: datetime, name: str, input_json: str | None) -> dict[str, Any]:
    return event(EventType.EVENT_RAISED, at, Name=name, Input=input_json)


def sub_orchestration_completed(at: datetime, task_id: int, result: str | None) -> dict[str, Any]:
    return event(EventType.SUB_ORCHESTRATION_COMPLETED, at, TaskScheduledId=task_id, Result=result)


def sub_orchestration_failed(
    at: datetime, task_id: int, reason: str | None, details: str | None
) -> dict[str, Any]:
    return event(
        EventType.SUB_ORCHESTRATION_FAILED,
        at,
        TaskScheduledId=task_id,
        Reason=reason,
        Details=details,
    )
