"""The checks the Durable extension applies to what an orchestrator episode decided, before any
of it is scheduled, with the extension's own wording.

Where Azure is visible (a custom status over 16 KB, a signal to an entity the app lacks) the
orchestration fails as it does there. Where Azure is silent (an activity, sub-orchestrator or
entity call the app lacks, a sub-orchestration id the extension refuses:
DurableOrchestrationContext.CallDurableTaskFunctionAsync throws inside a task that
OutOfProcOrchestrationShim.ProcessAsyncActionsV2 awaits and ignores, so nothing is scheduled
and the instance waits forever) devhost fails the instance and says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from devhost.app.loader import FunctionIndex
from devhost.durable.decisions import (
    CallEntity,
    Decision,
    ScheduleActivity,
    SignalEntity,
    StartSubOrchestration,
    Work,
)
from devhost.durable.entities import split_entity_id
from devhost.hub.store import Instance

MAX_CUSTOM_STATUS_KB = 16  # DurableOrchestrationContext.SetCustomStatus
HANGS_ON_AZURE = (
    " devhost fails the instance here; on Azure it would hang waiting for it (the extension "
    "drops the call, DurableOrchestrationContext.CallDurableTaskFunctionAsync)."
)


def swapped_argument_error(param: str, text: str) -> str:
    """The message of `new ArgumentException(nameof(param), text)`: the extension passes the
    two arguments the other way round, so .NET reports the name as the message and the text
    as the parameter."""
    return f"{param} (Parameter '{text}')"


def unknown_function(kind: str, name: str, known: Iterable[str]) -> str:
    """DurableTaskExtension.GetInvalid{Activity,Orchestrator,Entity}FunctionMessage."""
    message = f"The function '{name}' doesn't exist, is disabled, or is not an {kind} function. "
    names = list(known)
    if names:
        return (
            message
            + f"Additional info: The following are the known {kind} functions: "
            + ("'" + "', '".join(names) + "'.")
        )
    return message + f"Additional info: No {kind} functions are currently registered!"


def custom_status_problem(custom_status: str | None) -> str | None:
    """MessagePayloadDataConverter.Serialize(value, 16): the compact JSON, counted in UTF-16."""
    if custom_status is None:
        return None
    compact = json.dumps(json.loads(custom_status), separators=(",", ":"), ensure_ascii=False)
    size_kb = len(compact.encode("utf-16-le")) // 1024
    if size_kb <= MAX_CUSTOM_STATUS_KB:
        return None
    return (
        "The UTF-16 size of the JSON-serialized payload must not exceed "
        f"{MAX_CUSTOM_STATUS_KB:,} KB. The current payload size is {size_kb:,} KB."
    )


def missing_function_problem(index: FunctionIndex, work: Iterable[Work]) -> str | None:
    """The failure for the first piece of new work that names a function the app lacks,
    matching names ignoring case as the extension's FunctionName does. A disabled function's
    name is known to the extension (its trigger binding registered it), so a call passes
    ThrowIfFunctionDoesNotExist; a sub-orchestrator then fails on its own
    (OrchestrationMiddleware finds no executor), a signal is accepted, while an activity or
    an entity call would wait forever (the extension has no executor to run it)."""
    for item in work:
        if isinstance(item, ScheduleActivity) and not index.activities.runnable(item.name):
            return unknown_function("activity", item.name, index.activities) + HANGS_ON_AZURE
        if isinstance(item, StartSubOrchestration) and item.name not in index.orchestrators:
            return unknown_function("orchestrator", item.name, index.orchestrators) + HANGS_ON_AZURE
        if isinstance(item, (CallEntity, SignalEntity)):
            name, _ = split_entity_id(item.entity_id)
            signal = isinstance(item, SignalEntity)
            if index.entities.runnable(name) or (signal and name in index.entities):
                continue
            message = unknown_function("entity", name, index.entities)
            # A signal throws synchronously (DurableOrchestrationContext.SignalEntity), which
            # fails the orchestration on Azure too.
            return message if signal else message + HANGS_ON_AZURE
    return None


def child_id_problem(
    instance: Instance, work: Iterable[Work], lookup: Callable[[str], Instance | None]
) -> str | None:
    """CallDurableTaskFunctionAsync's checks of a sub-orchestration's chosen id: neither this
    instance's nor its parent's (ignoring case), and not starting with @. An id another
    instance runs under passes them, but TaskOrchestrationDispatcher drops the child's
    ExecutionStarted there as a "Duplicate start event", so the parent waits forever too."""
    family = {instance.id.lower(), (instance.parent_id or "").lower()}
    for item in work:
        if not isinstance(item, StartSubOrchestration) or item.instance_id is None:
            continue
        if item.instance_id.lower() in family:
            return (
                "The instance ID of a sub-orchestration must be different than the instance ID "
                "of a parent orchestration." + HANGS_ON_AZURE
            )
        if item.instance_id.startswith("@"):
            problem = "Orchestration instance ids must not start with @"
            return swapped_argument_error("instanceId", problem) + HANGS_ON_AZURE
        existing = lookup(item.instance_id)
        if existing is not None and not existing.finished:
            return (
                f"An instance with ID '{item.instance_id}' is already {existing.status}; devhost "
                "fails this instance here, while on Azure the child's start would be dropped as "
                "a duplicate and this instance would wait for it forever "
                '(TaskOrchestrationDispatcher: "Duplicate start event").'
            )
    return None


def episode_problem(
    index: FunctionIndex,
    decision: Decision,
    instance: Instance,
    lookup: Callable[[str], Instance | None],
) -> tuple[str, bool] | None:
    """(failure, custom status accepted) when the extension would not accept the decision;
    `lookup` finds an instance by id."""
    too_large = custom_status_problem(decision.custom_status)
    if too_large:
        return too_large, False
    refused = missing_function_problem(index, decision.work) or child_id_problem(
        instance, decision.work, lookup
    )
    return (refused, True) if refused else None
