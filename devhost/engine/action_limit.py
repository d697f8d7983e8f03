"""host.json's `durableTask.maxOrchestrationActions`: how many actions one execution of an
orchestration may take before the extension ends it.

The extension counts every action the orchestrator's code takes as the out-of-process shim
replays it into DurableOrchestrationContext (an activity or sub-orchestration with its retries
counted once, a timer, an entity call or signal; not a wait for an event), across the whole
execution, and throws on the one past the limit
(DurableOrchestrationContext.IncrementActionsOrThrowException, azure-functions-durable-extension
2024-10-23, default 100,000 in DurableTaskOptions.MaxOrchestrationActions); the orchestration
fails with that message. The worker counts the same actions in the SDK's action list
(`Decision.actions`, devhost/worker/replay.py).
"""

from __future__ import annotations

from devhost.durable.decisions import Decision


def too_many_actions(decision: Decision, limit: int) -> str | None:
    """The extension's failure when the execution's actions pass `limit`, else None."""
    if decision.actions <= limit:
        return None
    return (
        f"Maximum amount of orchestration actions ({limit}) has been reached. This value can "
        "be configured in host.json file as MaxOrchestrationActions."
    )


def within_action_limit(decision: Decision, limit: int) -> Decision:
    """The decision, or the failure that replaces it when it takes too many actions."""
    problem = too_many_actions(decision, limit)
    return decision if problem is None else Decision(failure=problem)
