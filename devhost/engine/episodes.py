"""Orchestrator episodes: which instances run next, their replay in a worker, and the decision
handed on to the next commit.

An instance has at most one episode in flight; its messages stay queued until the episode's
decision commits, so an episode lost with its worker simply runs again. A worker keeps the
histories it replayed, so each episode sends it only the committed events it does not hold.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devhost.app.config import Limits
from devhost.app.loader import FunctionIndex
from devhost.app.versioning import MISMATCH_OUTPUT, FailureStrategy, Versioning
from devhost.durable import history as h
from devhost.durable.decisions import Decision
from devhost.engine.action_limit import within_action_limit
from devhost.engine.apply import Applier
from devhost.engine.checks import unknown_function
from devhost.engine.instances import BATCH, Instances
from devhost.engine.pending import Pending
from devhost.hub.store import Instance, Message, TaskHub
from devhost.worker.messages import Episode
from devhost.worker.pool import WorkerFailed, WorkerLost, WorkerPool

log = logging.getLogger("devhost")


@dataclass
class EpisodeWork:
    """An episode handed to a worker: what it replays and the messages it consumes."""

    instance: Instance
    messages: list[Message]
    new: list[dict[str, Any]]
    now: datetime


class Episodes:
    """Runs episodes in the workers, up to maxConcurrentOrchestratorFunctions at once."""

    def __init__(
        self,
        hub: TaskHub,
        instances: Instances,
        applier: Applier,
        workers: WorkerPool,
        pending: Pending,
        functions: Callable[[], FunctionIndex],
        limits: Limits,
        versioning: Versioning,
    ) -> None:
        self.hub = hub
        self.instances = instances
        self.applier = applier
        self.workers = workers
        self.pending = pending
        self.functions = functions
        self.limit = limits.orchestrations
        self.max_actions = limits.orchestration_actions
        self.versioning = versioning
        self.running: dict[str, asyncio.Future[Any]] = {}  # by instance id
        self.rejected: set[int] = set()  # messages of instances this host's version refuses
        self.timers_fired = 0

    def still_rejected(self) -> int:
        """How many queued messages this host's version refuses: they wait for another host."""
        self.rejected = self.hub.runnable_among(self.rejected)
        return len(self.rejected)

    def dispatch(self) -> bool:
        """Hand an episode to a worker for each instance with messages, up to the limit; True
        if any message was read."""
        now, epoch = self.instances.now()
        ready = self.instances.ready(
            "orchestrator",
            epoch,
            BATCH,
            self.running,
            self.limit,
            exclude=self.rejected,
            skip_suspended=True,
        )
        loop = asyncio.get_running_loop()
        for instance_id, group in ready.items():
            instance = self.hub.instance(instance_id)
            if self._refused(instance, group):
                continue
            batch = _until_suspended(group)  # what arrived after a suspension waits for resume
            work = self._episode(instance, batch, now)
            if work is None:
                self.hub.delete_messages([m.id for m in batch])
                continue
            self.running[instance_id] = loop.create_task(
                self._replay(work), name=f"episode {instance_id}"
            )
        return bool(ready)

    def _refused(self, instance: Instance | None, batch: list[Message]) -> bool:
        """Apply versionMatchStrategy/versionFailureStrategy before an instance runs.

        Reject leaves the work queued, as the extension abandons the work item for a worker
        of a suitable version; this process never becomes one, so it says so and stops
        picking those messages up. Fail ends the instance as DurableTask.Core does.
        """
        if instance is None or instance.finished or self.versioning.accepts(instance.version):
            return False
        if self.versioning.failure is FailureStrategy.FAIL:
            now, _ = self.instances.now()
            new = [h.event(h.EventType.ORCHESTRATOR_STARTED, now)]
            new += [m.body["event"] for m in batch]
            output = json.dumps(MISMATCH_OUTPUT)
            self.applier.fail(instance, new, output, instance.custom_status, now)
            self.hub.delete_messages([m.id for m in batch])
            return True
        self.rejected.update(m.id for m in batch)
        log.warning(
            "instance %s has version '%s' and this host's defaultVersion is '%s' "
            "(versionMatchStrategy %s, versionFailureStrategy Reject): its work stays queued "
            "until a host whose version accepts it runs; in Azure it waits the same way",
            instance.id,
            instance.version,
            self.versioning.default_version or "",
            self.versioning.match.value,
        )
        return True

    def _episode(
        self, instance: Instance | None, messages: list[Message], now: datetime
    ) -> EpisodeWork | None:
        """The episode these messages make, or None when it needs no replay (nothing to run,
        a termination, an orchestrator missing from the app), which is then settled here."""
        if instance is None or instance.finished:
            return None
        events = [
            m.body["event"]
            for m in messages
            if m.body.get("execution") in (None, instance.execution_id)
        ]
        if not self.instances.committed(instance.id).events:
            events.sort(key=lambda e: e["EventType"] != h.EventType.EXECUTION_STARTED)
            if not events or events[0]["EventType"] != h.EventType.EXECUTION_STARTED:
                return None
        if not events:
            return None
        self.timers_fired += sum(e["EventType"] == h.EventType.TIMER_FIRED for e in events)
        terminated = next(
            (e for e in events if e["EventType"] == h.EventType.EXECUTION_TERMINATED), None
        )
        if terminated is not None:
            self.applier.terminate(instance, terminated, events, now)
            return None
        new = [h.event(h.EventType.ORCHESTRATOR_STARTED, now), *events]
        orchestrators = self.functions().orchestrators
        if not orchestrators.runnable(instance.name):
            # DurableTaskExtension.OrchestrationMiddleware: no executor (gone, or disabled).
            failure = unknown_function("orchestrator", instance.name, orchestrators)
            self.applier.apply(instance, Decision(failure=failure), new, now)
            return None
        return EpisodeWork(instance, messages, new, now)

    async def _replay(self, work: EpisodeWork) -> None:
        """Run the episode in the instance's worker; its decision commits with the next group.
        A worker lost meanwhile leaves the messages queued, so the episode runs again."""
        instance_id = work.instance.id
        try:
            decision = within_action_limit(await self._decide(work), self.max_actions)
        except WorkerLost as lost:
            log.warning("the episode of %s runs again: %s", instance_id, lost)
            self.pending.answered(self.running, instance_id, None)
            return
        except WorkerFailed as problem:
            decision = Decision(failure=str(problem))
        self.pending.answered(self.running, instance_id, lambda: self._record(work, decision))

    async def _decide(self, work: EpisodeWork) -> Decision:
        """Ask the worker, sending only the committed events it does not hold yet."""
        instance = work.instance
        committed = self.instances.committed(instance.id)
        slot = self.workers.slot_for(instance.id)
        while True:
            worker = self.workers.worker_in(slot)
            known = committed.held if committed.holder is worker else 0
            unseen = committed.events[known:]
            episode = Episode(
                instance.id,
                instance.name,
                instance.parent_id,
                instance.input,
                known,
                unseen,
                work.new,
            )
            decision = await self.workers.call(episode, slot=slot)
            if decision is not None:
                committed.holder, committed.held = worker, known + len(unseen)
                return decision
            committed.holder = None  # the worker no longer had it: send everything

    def _record(self, work: EpisodeWork, decision: Decision) -> None:
        instance = self.hub.instance(work.instance.id)
        same_run = instance is not None and instance.execution_id == work.instance.execution_id
        if same_run and instance is not None and not instance.finished:
            self.applier.apply(instance, decision, work.new, work.now)
        self.hub.delete_messages([m.id for m in work.messages])


def _until_suspended(batch: list[Message]) -> list[Message]:
    """The batch up to and including its first suspension event."""
    for position, message in enumerate(batch):
        if message.body.get("event", {}).get("EventType") == h.EventType.EXECUTION_SUSPENDED:
            return batch[: position + 1]
    return batch
