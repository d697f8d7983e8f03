"""Client operations: what the extension's DurableClient does for the Durable HTTP API and the
SDK's client (start, raise an event, terminate, suspend, resume, rewind, purge, signal).

Each is a write that waits for the next group commit (devhost/engine/pending.py), so it is
durable once it returns; what it refuses, it refuses as DurableClient does
(devhost/engine/refusals.py). An operation on an instance queues an event: the instance acts on
it in its next episode, as on Azure.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from devhost.app.loader import FunctionIndex
from devhost.app.versioning import Versioning
from devhost.durable import history as h
from devhost.durable.clock import to_wire
from devhost.engine.checks import unknown_function
from devhost.engine.instances import Instances
from devhost.engine.pending import Pending
from devhost.engine.refusals import (
    InstanceFinished,
    InstanceNotFound,
    InvalidArgument,
    InvalidOperation,
)
from devhost.hub.store import TERMINAL, Instance, TaskHub

#: Failure events and the event that scheduled the failed work.
FAILURES = {
    h.EventType.TASK_FAILED: h.EventType.TASK_SCHEDULED,
    h.EventType.SUB_ORCHESTRATION_FAILED: h.EventType.SUB_ORCHESTRATION_CREATED,
}
SCHEDULED_BY = set(FAILURES.values())


class ClientOperations:
    """DurableClient's operations on the task hub. `functions()` is the app's current index."""

    def __init__(
        self,
        hub: TaskHub,
        instances: Instances,
        pending: Pending,
        functions: Callable[[], FunctionIndex],
        versioning: Versioning,
        *,
        replace_running: bool = False,
    ) -> None:
        self.hub = hub
        self.instances = instances
        self.pending = pending
        self.functions = functions
        self.versioning = versioning
        self.replace_running = replace_running  # overridableExistingInstanceStates AnyState

    def now(self) -> datetime:
        return self.instances.clock.now()

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        return self.instances.history(instance_id)

    # -- reading -----------------------------------------------------------------------------

    def require(self, instance_id: str) -> Instance:
        instance = self.hub.instance(instance_id)
        if instance is None:
            raise InstanceNotFound(instance_id)
        return instance

    def require_status(self, instance_id: str) -> str:
        """The instance's runtime status (InstanceNotFound when there is none)."""
        status = self.hub.status(instance_id)
        if status is None:
            raise InstanceNotFound(instance_id)
        return status

    def require_live(self, instance_id: str) -> str:
        """The status of an instance that exists and has not finished."""
        status = self.require_status(instance_id)
        if status in TERMINAL:
            raise InstanceFinished(f"Instance '{instance_id}' is already {status}.")
        return status

    # -- instances ---------------------------------------------------------------------------

    async def start(
        self,
        name: str,
        instance_id: str | None,
        input_json: str | None,
        version: str | None = None,
    ) -> str:
        orchestrators = self.functions().orchestrators
        if name not in orchestrators:
            raise InvalidArgument(unknown_function("orchestrator", name, orchestrators))
        chosen = instance_id or uuid.uuid4().hex

        def create() -> str:
            existing = self.hub.instance(chosen)
            if existing and not existing.finished and not self.replace_running:
                # AzureStorageOrchestrationService.CreateTaskOrchestrationAsync with the dedupe
                # statuses of overridableExistingInstanceStates NonRunningStates.
                raise InvalidOperation(
                    f"An Orchestration instance with the status {existing.status} already exists."
                )
            version_for_new = self.versioning.version_for_new(version)
            self.instances.create(name, chosen, input_json, None, version_for_new)
            return chosen

        return await self.pending.write(create)

    async def raise_event(self, instance_id: str, name: str, data_json: str | None) -> None:
        def deliver() -> None:
            self.require_live(instance_id)
            now, epoch = self.instances.now()
            self.instances.send(instance_id, h.event_raised(now, name, data_json), epoch)

        await self.pending.write(deliver)

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        """Queue the termination; it takes effect when the instance processes it, and work
        already scheduled still runs (TaskHubClient.TerminateInstanceAsync)."""

        def terminate() -> None:
            self.require_live(instance_id)
            now, epoch = self.instances.now()
            event = h.event(h.EventType.EXECUTION_TERMINATED, now, Input=json.dumps(reason))
            self.instances.send(instance_id, event, epoch)

        await self.pending.write(terminate)

    async def suspend(self, instance_id: str, reason: str | None) -> None:
        await self.pending.write(lambda: self._suspension(instance_id, reason, suspended=True))

    async def resume(self, instance_id: str, reason: str | None) -> None:
        await self.pending.write(lambda: self._suspension(instance_id, reason, suspended=False))

    def _suspension(self, instance_id: str, reason: str | None, suspended: bool) -> None:
        """Queue a suspend or resume event, which takes effect when the instance processes
        it. DurableClient.SuspendAsync/ResumeAsync refuse an instance in the wrong state."""
        status = self.require_live(instance_id)
        allowed = ("Running", "Pending") if suspended else ("Suspended",)
        if status not in allowed:
            verb = "suspend" if suspended else "resume"
            raise InvalidOperation(
                f"Cannot {verb} the orchestration instance {instance_id} because instance is in "
                f"the {status} state."
            )
        now, epoch = self.instances.now()
        kind = h.EventType.EXECUTION_SUSPENDED if suspended else h.EventType.EXECUTION_RESUMED
        self.instances.send(instance_id, h.event(kind, now, Reason=reason), epoch)

    async def rewind(self, instance_id: str, reason: str | None) -> None:
        """Clear a failed instance's failures and run it again (AzureTableTrackingStore
        .RewindHistoryAsync): failed tasks are scheduled anew, failed children rewound."""

        def rewind() -> None:
            instance = self.require(instance_id)
            if instance.status != "Failed":
                raise InvalidOperation(
                    "The rewind operation is only supported on failed orchestration instances."
                )
            now, epoch = self.instances.now()
            for leaf in self._rewind_history(instance):
                self.instances.send(leaf, h.event(h.EventType.GENERIC, now, Data=reason), epoch)

        await self.pending.write(rewind)

    def _rewind_history(self, instance: Instance) -> list[str]:
        """Mark the failures `Rewound`; return the instances to wake (the deepest failed)."""
        events = [dict(event) for event in self.instances.history(instance.id)]
        by_id = {
            (e["EventType"], e["EventId"]): e for e in events if e["EventType"] in SCHEDULED_BY
        }
        leaves: list[str] = []
        failed_child = False
        for event in events:
            kind = event["EventType"]
            failed_run = kind == h.EventType.EXECUTION_COMPLETED and (
                event.get("OrchestrationStatus") == "Failed"
            )
            if kind not in FAILURES and not failed_run:
                continue
            origin = by_id.get((FAILURES.get(kind), event.get("TaskScheduledId")))
            if kind == h.EventType.TASK_FAILED and origin is not None:
                _mark_rewound(origin, generic=True)
            if kind == h.EventType.SUB_ORCHESTRATION_FAILED and origin is not None:
                failed_child = True
                _mark_rewound(origin, generic=False)
                child = self.hub.instance(origin["InstanceId"])
                if child is not None and child.status == "Failed":
                    leaves += self._rewind_history(child)
            _mark_rewound(event, generic=True)
        self.instances.rewrite_history(instance.id, events)
        now, _ = self.instances.now()
        self.hub.update_instance(
            instance.id, status="Pending", output=None, updated_at=to_wire(now)
        )
        return leaves if failed_child else [instance.id]

    async def purge(self, instance_ids: list[str]) -> int:
        def purge() -> int:
            for instance_id in instance_ids:
                self.instances.delete(instance_id)
            return len(instance_ids)

        return await self.pending.write(purge)

    # -- entities ----------------------------------------------------------------------------

    async def signal_entity(self, entity_id: str, operation: str, input_json: str | None) -> None:
        def send() -> None:
            _, epoch = self.instances.now()
            self.instances.send_entity(entity_id, operation, input_json, signal=True, epoch=epoch)

        await self.pending.write(send)


def _mark_rewound(event: dict[str, Any], *, generic: bool) -> None:
    """What RewindHistoryAsync writes over a cleared event: replay skips a GenericEvent."""
    event["Reason"] = f"Rewound: {h.event_name(h.EventType(event['EventType']))}"
    if generic:
        event["EventType"] = int(h.EventType.GENERIC)
