"""What an episode's decision does to the task hub, as the extension records it: the checks it
makes first, the new work it queues, the history the episode appends, and the instance's end.

This is the engine's side of the seam with app code. A worker replays an episode and answers
with a Decision (devhost/durable/decisions.py); `Applier.apply(instance, decision, new, now)`
turns it into history events, queued messages and the instance's new status, inside the
commit that also removes the messages the episode consumed. It neither runs code nor waits.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from devhost.app.loader import FunctionIndex
from devhost.app.versioning import Versioning
from devhost.durable import failures
from devhost.durable import history as h
from devhost.durable.clock import to_wire
from devhost.durable.decisions import (
    CallEntity,
    CallHttp,
    CreateTimer,
    Decision,
    ScheduleActivity,
    SignalEntity,
    StartSubOrchestration,
    Work,
)
from devhost.engine.checks import episode_problem
from devhost.engine.instances import Instances
from devhost.hub.store import Instance, TaskHub


class Applier:
    """Records episodes' decisions, terminations and failures in the hub."""

    def __init__(
        self,
        hub: TaskHub,
        instances: Instances,
        functions: Callable[[], FunctionIndex],
        versioning: Versioning,
    ) -> None:
        self.hub = hub
        self.instances = instances
        self.functions = functions
        self.versioning = versioning

    def apply(
        self, instance: Instance, decision: Decision, new: list[dict[str, Any]], now: datetime
    ) -> None:
        """Record what the episode of `new` events decided for `instance`."""
        epoch = now.timestamp()
        problem = episode_problem(self.functions(), decision, instance, self.hub.instance)
        if problem:
            failure, keeps_custom_status = problem
            custom = decision.custom_status if keeps_custom_status else None
            decision = Decision(failure=failure, custom_status=custom)
        appended = list(new)
        for work in decision.work:
            appended.append(self._schedule(instance, work, now, epoch))
        custom = (
            decision.custom_status if decision.custom_status is not None else instance.custom_status
        )
        if decision.failure is not None:
            result, details = failures.orchestrator_failure(
                instance.name, decision.failure, decision.failure_stack
            )
            self.fail(instance, appended, json.dumps(result), custom, now, details)
            return
        if decision.continued:
            self._continue_as_new(instance, decision, custom, now)
            return
        if decision.done:
            appended.append(
                h.event(
                    h.EventType.EXECUTION_COMPLETED,
                    now,
                    OrchestrationStatus="Completed",
                    Result=decision.output,
                )
            )
        appended.append(h.event(h.EventType.ORCHESTRATOR_COMPLETED, now))
        self.instances.append(instance.id, appended)
        self.hub.update_instance(
            instance.id, status=_status_after(new), custom_status=custom, updated_at=to_wire(now)
        )
        if decision.done:
            self._finish(instance, "Completed", decision.output, now)

    def terminate(
        self,
        instance: Instance,
        terminated: dict[str, Any],
        events: list[dict[str, Any]],
        now: datetime,
    ) -> None:
        """TaskOrchestrationContext.HandleExecutionTerminatedEvent: the instance completes as
        Terminated with the reason as its result; the episode's other events are dropped."""
        started = [e for e in events if e["EventType"] == h.EventType.EXECUTION_STARTED]
        completed = h.event(
            h.EventType.EXECUTION_COMPLETED,
            now,
            OrchestrationStatus="Terminated",
            Result=terminated.get("Input"),
        )
        self.instances.append(
            instance.id,
            [
                h.event(h.EventType.ORCHESTRATOR_STARTED, now),
                *started,
                terminated,
                completed,
                h.event(h.EventType.ORCHESTRATOR_COMPLETED, now),
            ],
        )
        self._finish(instance, "Terminated", terminated.get("Input"), now)

    def fail(
        self,
        instance: Instance,
        appended: list[dict[str, Any]],
        output: str,
        custom: str | None,
        now: datetime,
        details: str | None = None,
    ) -> None:
        """Close the episode with a failed ExecutionCompleted and finish the instance."""
        completed = h.event(
            h.EventType.EXECUTION_COMPLETED,
            now,
            OrchestrationStatus="Failed",
            Result=output,
            Details=details,
        )
        appended.append(completed)
        appended.append(h.event(h.EventType.ORCHESTRATOR_COMPLETED, now))
        self.instances.append(instance.id, appended)
        self.hub.update_instance(instance.id, custom_status=custom)
        self._finish(instance, "Failed", output, now, details)

    def _finish(
        self,
        instance: Instance,
        status: str,
        output: str | None,
        now: datetime,
        details: str | None = None,
    ) -> None:
        """Record a terminal status, drop pending timers and tell a waiting parent.

        A failed or terminated child answers its parent with its own result as the reason and
        its failure details (TaskOrchestrationDispatcher.ProcessWorkflowCompletedTaskDecision).
        """
        self.hub.update_instance(instance.id, status=status, output=output, updated_at=to_wire(now))
        # Pending timers and events die with the instance; activities it scheduled still run,
        # as they do on Azure, and their results are then ignored.
        self.instances.drop_messages(instance.id, lambda m: m.queue == "orchestrator")
        if instance.parent_id is None or instance.parent_task_id is None:
            return
        if status == "Completed":
            event = h.sub_orchestration_completed(now, instance.parent_task_id, output)
        else:
            reason = json.loads(output) if output else None
            if reason is not None and not isinstance(reason, str):
                reason = output
            event = h.sub_orchestration_failed(now, instance.parent_task_id, reason, details)
        self.instances.send(instance.parent_id, event, now.timestamp())

    def _continue_as_new(
        self, instance: Instance, decision: Decision, custom: str | None, now: datetime
    ) -> None:
        """Start a fresh generation: new history, same id; stale completions are ignored."""
        self.instances.clear_history(instance.id)
        execution_id = uuid.uuid4().hex
        self.instances.drop_messages(
            instance.id, lambda m: m.queue == "orchestrator" and bool(m.body.get("execution"))
        )
        self.hub.update_instance(
            instance.id,
            status="Running",
            input=decision.continue_as_new,
            custom_status=custom,
            execution_id=execution_id,
            updated_at=to_wire(now),
        )
        started = h.execution_started(
            now,
            instance.name,
            instance.id,
            decision.continue_as_new,
            execution_id,
            version=instance.version,
        )
        self.instances.send(instance.id, started, now.timestamp(), execution_id)

    def _schedule(
        self, instance: Instance, work: Work, now: datetime, epoch: float
    ) -> dict[str, Any]:
        """Queue one piece of new work and return the history event that records it. The
        built-in HTTP activity is queued as any activity is (it shares their concurrency
        limit, as in DurableTask's activity dispatcher); devhost/engine/activities.py runs it
        in the host."""
        if isinstance(work, (ScheduleActivity, CallHttp)):
            self.hub.enqueue(
                "activity",
                instance.id,
                {
                    "name": work.name,
                    "input": work.input,
                    "taskId": work.task_id,
                    "execution": instance.execution_id,
                },
                epoch,
            )
            return h.event(
                h.EventType.TASK_SCHEDULED, now, work.task_id, Name=work.name, Input=work.input
            )
        if isinstance(work, CreateTimer):
            fire_at = to_wire(work.fire_at)
            fired = h.timer_fired(work.fire_at, work.task_id, fire_at)
            self.instances.send(instance.id, fired, work.fire_at.timestamp(), instance.execution_id)
            return h.event(h.EventType.TIMER_CREATED, now, work.task_id, FireAt=fire_at)
        if isinstance(work, StartSubOrchestration):
            # TaskOrchestrationContext.CreateSubOrchestrationInstanceCore's default id.
            child_id = work.instance_id or f"{instance.execution_id}:{work.task_id}"
            self._start_child(instance, work, child_id, now)
            return h.event(
                h.EventType.SUB_ORCHESTRATION_CREATED,
                now,
                work.task_id,
                Name=work.name,
                InstanceId=child_id,
                Input=work.input,
            )
        signal = isinstance(work, SignalEntity)
        assert isinstance(work, (CallEntity, SignalEntity))
        request = self.instances.send_entity(
            work.entity_id,
            work.operation,
            work.input,
            signal=signal,
            epoch=epoch,
            parent=instance.id,
        )
        return h.event(
            h.EventType.EVENT_SENT,
            now,
            work.task_id,
            Name="op",
            InstanceId=work.entity_id,
            Input=json.dumps(request),
        )

    def _start_child(
        self, parent: Instance, work: StartSubOrchestration, child_id: str, now: datetime
    ) -> None:
        existing = self.hub.instance(child_id)
        if existing and not existing.finished:
            problem = f"An instance with ID '{child_id}' already exists and is {existing.status}."
            failed = h.sub_orchestration_failed(now, work.task_id, problem, problem)
            self.instances.send(parent.id, failed, now.timestamp(), parent.execution_id)
            return
        version = self.versioning.version_for_new(work.version)
        self.instances.create(work.name, child_id, work.input, (parent.id, work.task_id), version)


def _status_after(events: list[dict[str, Any]]) -> str:
    """Running, or Suspended when the episode's last suspend/resume event suspended it."""
    for event in reversed(events):
        if event["EventType"] == h.EventType.EXECUTION_SUSPENDED:
            return "Suspended"
        if event["EventType"] == h.EventType.EXECUTION_RESUMED:
            return "Running"
    return "Running"
