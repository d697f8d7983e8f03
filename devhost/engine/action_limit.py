"""host.json's `durableTask.maxOrchestrationActions`: how many actions one execution of an
orchestration may take before the extension ends it.

The extension counts every action the orchestrator's code takes as the out-of-process shim
replays it into DurableOrchestrationContext (activity, sub-orchestration, timer, entity call or
signal, event sent), across the whole execution, and throws on the one past the limit
(DurableOrchestrationContext.IncrementActionsOrThrowException, azure-functions-durable-extension
2024-10-23, default 100,000 in DurableTaskOptions.MaxOrchestrationActions); the orchestration
fails with that message.
"""

from __future__ import annotations

from typing import Any

from devhost.durable import history as h
from devhost.durable.decisions import Decision

ACTION_EVENTS = frozenset(
    {
        h.EventType.TASK_SCHEDULED,
        h.EventType.SUB_ORCHESTRATION_CREATED,
        h.EventType.TIMER_CREATED,
        h.EventType.EVENT_SENT,
    }
)


def too_many_actions(history: list[dict[str, Any]], decision: Decision, limit: int) -> str | None:
    """The extension's failure when the actions taken so far and this episode's new ones pass
    `limit`, else None."""
    taken = sum(event["EventType"] in ACTION_EVENTS for event in history)
    if taken + len(decision.work) <= limit:
        return None
    return (
        f"Maximum amount of orchestration actions ({limit}) has been reached. This value can "
        "be configured in host.json file as MaxOrchestrationActions."
    )


def within_action_limit(history: list[dict[str, Any]], decision: Decision, limit: int) -> Decision:
    """The decision, or the failure that replaces it when it takes too many actions."""
    problem = too_many_actions(history, decision, limit)
    return decision if problem is None else Decision(failure=problem)
