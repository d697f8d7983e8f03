"""Entity batches: each entity with queued operations runs them as one batch in a worker, and
the outcome (its new state, the answers to callers, the signals it sent) commits together.

An entity has at most one batch in flight, and always in the same worker slot; its messages
stay queued until the outcome commits, so a batch lost with its worker runs again.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from devhost.app.config import Limits
from devhost.app.loader import FunctionIndex
from devhost.durable import failures
from devhost.durable import history as h
from devhost.durable.clock import to_wire
from devhost.durable.entities import BatchOutcome, failed, reply, split_entity_id
from devhost.engine.checks import unknown_function
from devhost.engine.instances import BATCH, Instances
from devhost.engine.pending import Pending
from devhost.hub.store import Message, TaskHub
from devhost.worker.messages import EntityBatch
from devhost.worker.pool import WorkerFailed, WorkerLost, WorkerPool

log = logging.getLogger("devhost")


class EntityBatches:
    """Runs batches in the workers, up to maxConcurrentEntityFunctions at once."""

    def __init__(
        self,
        hub: TaskHub,
        instances: Instances,
        workers: WorkerPool,
        pending: Pending,
        functions: Callable[[], FunctionIndex],
        limits: Limits,
        function_timeout: float | None,
    ) -> None:
        self.hub = hub
        self.instances = instances
        self.workers = workers
        self.pending = pending
        self.functions = functions
        self.limit = limits.entities
        self.function_timeout = function_timeout
        self.running: dict[str, asyncio.Future[Any]] = {}  # by entity id

    def dispatch(self) -> bool:
        """Hand a batch to a worker for each entity with messages, up to the limit; True if
        any message was read."""
        now, epoch = self.instances.now()
        ready = self.instances.ready("entity", epoch, BATCH * 5, self.running, self.limit)
        loop = asyncio.get_running_loop()
        for entity_id, batch in ready.items():
            name, _ = split_entity_id(entity_id)
            requests = [m.body for m in batch]
            exists = self.hub.entity_exists(entity_id)
            state = self.hub.entity_state(entity_id) if exists else None
            entities = self.functions().entities
            if not entities.runnable(name):  # gone, or disabled
                message = json.dumps(unknown_function("entity", name, entities))
                outcome = failed(message, len(requests), exists, state)
                self._record(entity_id, batch, outcome, now)
                continue
            self.running[entity_id] = loop.create_task(
                self._run(entity_id, batch, exists, state, now),
                name=f"entity {entity_id}",
            )
        return bool(ready)

    async def _run(
        self,
        entity_id: str,
        batch: list[Message],
        exists: bool,
        state: str | None,
        now: datetime,
    ) -> None:
        """Run the batch in a worker. Past functionTimeout every operation fails with the
        timeout's message and the state stays as it was (TaskEntityShim
        .ExecuteOutOfProcBatch); a worker lost meanwhile leaves the batch queued."""
        name, _ = split_entity_id(entity_id)
        requests = [m.body for m in batch]
        slot = self.workers.slot_for(entity_id)
        call = self.workers.call(EntityBatch(name, entity_id, exists, state, requests), slot=slot)
        try:
            outcome = await asyncio.wait_for(call, timeout=self.function_timeout)
        except TimeoutError:
            assert self.function_timeout is not None
            log.warning("entity %s exceeded functionTimeout", entity_id)
            message = failures.timed_out(name, self.function_timeout)
            outcome = failed(message, len(requests), exists, state)
        except WorkerLost as lost:
            log.warning("the batch of entity %s runs again: %s", entity_id, lost)
            self.pending.answered(self.running, entity_id, None)
            return
        except WorkerFailed as problem:
            outcome = failed(json.dumps(str(problem)), len(requests), exists, state)
        record = functools.partial(self._record, entity_id, batch, outcome, now)
        self.pending.answered(self.running, entity_id, record)

    def _record(
        self, entity_id: str, batch: list[Message], outcome: BatchOutcome, now: datetime
    ) -> None:
        name, key = split_entity_id(entity_id)
        if outcome.exists:
            self.hub.put_entity(entity_id, name, key, outcome.state, to_wire(now))
        else:
            self.hub.delete_entity(entity_id)
        epoch = now.timestamp()
        for target, operation, input_json in outcome.signals:
            self.instances.send_entity(target, operation, input_json, signal=True, epoch=epoch)
        for message, result in zip(batch, outcome.results, strict=True):
            request = message.body
            if request["signal"] or not request.get("parent"):
                continue
            answer = h.event_raised(now, request["id"], reply(result))
            self.instances.send(request["parent"], answer, epoch)
        self.hub.delete_messages([m.id for m in batch])
