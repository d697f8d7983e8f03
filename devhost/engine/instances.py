"""Instances as the engine writes them: their committed histories, kept in memory, and the
messages that reach them and their entities.

Every part of the engine that starts an instance, queues an event for one or appends to its
history does it here, inside the transaction of a client write or of a dispatcher step.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devhost.durable import history as h
from devhost.durable.clock import Clock, to_wire
from devhost.hub.store import Instance, Message, TaskHub
from devhost.worker.pool import Worker

#: Histories the host keeps in memory; the rest are read from the hub when needed.
CACHED_HISTORIES = 5000
#: Orchestrator messages one dispatcher pass reads (five times as many entity messages).
BATCH = 200


@dataclass
class CommittedHistory:
    """An instance's committed history, and which worker holds how much of it parsed."""

    events: list[dict[str, Any]]
    holder: Worker | None = None
    held: int = 0


class Instances:
    """The task hub's instances, with their histories cached as they commit."""

    def __init__(self, hub: TaskHub, clock: Clock) -> None:
        self.hub = hub
        self.clock = clock
        self.histories: OrderedDict[str, CommittedHistory] = OrderedDict()

    def now(self) -> tuple[datetime, float]:
        """Host time, and the same moment in epoch seconds (as messages are due)."""
        now = self.clock.now()
        return now, now.timestamp()

    # -- histories ---------------------------------------------------------------------------

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        return self.committed(instance_id).events

    def committed(self, instance_id: str) -> CommittedHistory:
        """The instance's history from the cache, read from the hub on a miss."""
        cached = self.histories.get(instance_id)
        if cached is None:
            cached = CommittedHistory(self.hub.history(instance_id))
            self.histories[instance_id] = cached
            while len(self.histories) > CACHED_HISTORIES:
                self.histories.popitem(last=False)
        return cached

    def append(self, instance_id: str, events: list[dict[str, Any]]) -> None:
        committed = self.committed(instance_id)
        self.hub.append_history(instance_id, len(committed.events), events)
        committed.events.extend(events)

    def rewrite_history(self, instance_id: str, events: list[dict[str, Any]]) -> None:
        """Replace the whole history (a rewind); workers then receive it afresh."""
        self.hub.clear_history(instance_id)
        self.hub.append_history(instance_id, 0, events)
        self.histories[instance_id] = CommittedHistory(events)

    def clear_history(self, instance_id: str) -> None:
        """Start a new generation's history (continue-as-new)."""
        self.hub.clear_history(instance_id)
        self.histories.pop(instance_id, None)

    @contextlib.contextmanager
    def rollback_guard(self) -> Iterator[None]:
        """The in-memory history cache must not outlive a rolled-back transaction."""
        try:
            yield
        except BaseException:
            self.histories.clear()
            raise

    # -- starting and removing ---------------------------------------------------------------

    def create(
        self,
        name: str,
        instance_id: str,
        input_json: str | None,
        parent: tuple[str, int] | None,
        version: str,
    ) -> None:
        """A new instance (replacing any of the same id) and its ExecutionStarted, queued."""
        now, epoch = self.now()
        self.delete(instance_id)
        execution_id = uuid.uuid4().hex
        self.hub.put_instance(
            Instance(
                id=instance_id,
                name=name,
                status="Pending",
                input=input_json,
                output=None,
                custom_status=None,
                parent_id=parent[0] if parent else None,
                parent_task_id=parent[1] if parent else None,
                execution_id=execution_id,
                created_at=to_wire(now),
                updated_at=to_wire(now),
                version=version,
            )
        )
        parent_info = None
        if parent:
            parent_info = {
                "OrchestrationInstance": {"InstanceId": parent[0]},
                "TaskScheduleId": parent[1],
            }
        started = h.execution_started(
            now, name, instance_id, input_json, execution_id, parent_info, version
        )
        self.send(instance_id, started, epoch, execution_id)

    def delete(self, instance_id: str) -> None:
        """The instance, its history and its queued work are gone."""
        self.hub.delete_instance(instance_id)
        self.histories.pop(instance_id, None)

    # -- messages ----------------------------------------------------------------------------

    def send(
        self,
        instance_id: str,
        event: dict[str, Any],
        visible_at: float,
        execution_id: str | None = None,
    ) -> None:
        """Queue an event for an orchestration (`execution_id` pins it to one generation)."""
        self.hub.enqueue(
            "orchestrator", instance_id, {"event": event, "execution": execution_id}, visible_at
        )

    def send_entity(
        self,
        entity_id: str,
        operation: str,
        input_json: str | None,
        *,
        signal: bool,
        epoch: float,
        parent: str | None = None,
    ) -> dict[str, Any]:
        """Queue an operation for an entity; the request, whose id a call's answer carries."""
        request = {
            "id": str(uuid.uuid4()),
            "op": operation,
            "signal": signal,
            "input": input_json,
            "parent": parent,
        }
        self.hub.enqueue("entity", entity_id, request, epoch)
        return request

    def drop_messages(self, target: str, unwanted: Callable[[Message], bool]) -> None:
        self.hub.delete_messages([m.id for m in self.hub.pending_messages(target) if unwanted(m)])

    def ready(
        self, queue: str, epoch: float, count: int, running: dict[str, Any], limit: int, **only: Any
    ) -> dict[str, list[Message]]:
        """Due messages of `queue` (at most `count`, `only` filtering them as TaskHub.ready
        does) by target, for targets not `running` and no more of them than `limit` leaves
        room for: each may then start one piece of work."""
        room = limit - len(running)
        if room <= 0:
            return {}
        messages = self.hub.ready(queue, epoch, count, busy=running.keys(), targets=room, **only)
        return _by_target(messages)


def _by_target(messages: list[Message]) -> dict[str, list[Message]]:
    """Messages grouped by instance or entity, each group in arrival order."""
    groups: dict[str, list[Message]] = {}
    for message in messages:
        groups.setdefault(message.target, []).append(message)
    return groups
