"""The dispatcher: turns queued messages into orchestrator episodes, entity batches and
activity runs, and commits what they decided in group-committed transactions.

Everything that touches the task hub runs on the event loop's thread, so there is a single
writer and no locking. App code runs in the worker processes (devhost/worker/pool.py): the
dispatcher hands each piece of work to a worker and records the answer at the next commit. An
instance or entity has at most one piece of work in flight; its messages stay queued until
the answer commits, so work lost with a worker simply runs again.

`Engine` wires the parts, each in its own module: client operations (client.py), episodes
(episodes.py) and what their decisions write (apply.py), entity batches (entities.py),
activities (activities.py), and host time and idleness (idle.py). This module holds the loop
and the group commit that all of them feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from devhost.app.config import Limits
from devhost.app.loader import FunctionIndex
from devhost.app.versioning import UNVERSIONED, Versioning
from devhost.durable.clock import Clock
from devhost.engine.activities import Activities
from devhost.engine.apply import Applier
from devhost.engine.client import ClientOperations
from devhost.engine.entities import EntityBatches
from devhost.engine.episodes import Episodes
from devhost.engine.idle import HostTime
from devhost.engine.instances import Instances
from devhost.engine.pending import Pending
from devhost.hub.store import TaskHub
from devhost.worker.pool import WorkerPool

log = logging.getLogger("devhost")


class Engine:
    """Owns the task hub and runs all durable work.

    Its callers use its parts: `client` for DurableClient's operations (the Durable HTTP API),
    `time` for the clock and idleness (devhost's own endpoints), `workers` for HTTP triggers.
    """

    def __init__(
        self,
        hub: TaskHub,
        index: FunctionIndex,
        clock: Clock,
        workers: WorkerPool,
        limits: Limits | None = None,
        versioning: Versioning = UNVERSIONED,
        *,
        replace_running: bool = False,
        function_timeout: float | None = None,
    ) -> None:
        self.hub = hub
        self.index = index
        self.clock = clock
        self.workers = workers
        self.accepting = True
        self._wakeup = asyncio.Event()
        self._stopped = asyncio.Event()
        limits = limits or Limits()
        functions = self.functions
        self.instances = Instances(hub, clock)
        self.pending = Pending(self.wake)
        self.client = ClientOperations(
            hub,
            self.instances,
            self.pending,
            functions,
            versioning,
            replace_running=replace_running,
        )
        applier = Applier(hub, self.instances, functions, versioning)
        self.episodes = Episodes(
            hub, self.instances, applier, workers, self.pending, functions, limits, versioning
        )
        self.batches = EntityBatches(
            hub, self.instances, workers, self.pending, functions, limits, function_timeout
        )
        self.activities = Activities(
            hub, self.instances, workers, limits, function_timeout, self.wake
        )
        self.time = HostTime(
            hub,
            clock,
            index.timers,
            workers,
            self.pending,
            self.episodes,
            self.batches,
            self.activities,
            self.wake,
        )

    def functions(self) -> FunctionIndex:
        """The app's functions now (watch mode replaces them)."""
        return self.index

    def use_index(self, index: FunctionIndex) -> None:
        """Run a reloaded app's functions (watch mode); a timer trigger whose schedule is
        refused is left out with the host's error, as at start."""
        self.time.use_timers(index.timers)
        self.index = index
        self.wake()

    def use_client_binding(self, binding: str) -> None:
        """The durableClient binding JSON for functions no request brings (activities, timer
        triggers): the host's own address."""
        self.activities.client_binding = self.time.client_binding = binding

    # -- the loop ----------------------------------------------------------------------------

    def wake(self) -> None:
        self.time.quiet.clear()
        self._wakeup.set()

    async def run(self) -> None:
        """Process work until `stop()`; idle waits end at the next due timer."""
        self.workers.attach()
        self.time.save_clock()
        while self.accepting:
            self._wakeup.clear()
            try:
                progressed = self._step()
            except Exception:
                log.exception("dispatcher step failed; retrying")
                await asyncio.sleep(0.5)
                continue
            if progressed:
                self.time.quiet.clear()
                await asyncio.sleep(0)  # let what arrived during the step be received
                continue
            if self.time.settled():
                if self.clock.auto and self.time.jump_to_next_timer():
                    continue
                self.time.quiet.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self.time.idle_timeout())
        self.time.save_clock()
        self._stopped.set()

    async def stop(self, grace: float) -> None:
        """Stop taking work; give running activities `grace` seconds to finish and record them."""
        self.accepting = False
        self.wake()
        await self._stopped.wait()
        pending = [
            *self.activities.running.values(),
            *self.episodes.running.values(),
            *self.batches.running.values(),
        ]
        if pending:
            await asyncio.wait(pending, timeout=grace)
        self._step(orchestrate=False)

    def _step(self, orchestrate: bool = True) -> bool:
        """One pass over every queue; True if anything ran.

        Client writes and the workers' answers commit first, together (group commit), and
        callers hear back only after that commit, so an accepted request is always durable.
        The dispatch then runs in a second transaction: it hands episodes, entity batches and
        activities to the workers, and itself only writes what settles without app code (a
        termination, a version refused). Whatever arrives while a step runs joins the next.
        """
        progressed = self._commit()
        if orchestrate:
            with self.instances.rollback_guard(), self.hub.transaction():
                progressed |= self.episodes.dispatch()
                progressed |= self.batches.dispatch()
            progressed |= self.activities.dispatch()
            progressed |= self.time.start_timer_triggers()
        return progressed

    # -- the group commit --------------------------------------------------------------------

    def _commit(self) -> bool:
        """Client writes, activity results and the answers of episodes and entity batches,
        in one transaction; an answer's instance or entity is free again after it."""
        pending = self.pending
        if not pending.writes and not self.activities.finished and not pending.results:
            return False
        writes, pending.writes = pending.writes, []
        results, pending.results = pending.results, []
        outcomes: list[tuple[asyncio.Future[Any], bool, Any]] = []
        try:
            with self.instances.rollback_guard(), self.hub.transaction():
                for operation, future in writes:
                    outcomes.append((future, *self._apply_write(operation)))
                recorded = self.activities.record_results()
                for _, key, record in results:
                    succeeded, problem = self._apply_write(record)
                    if not succeeded:
                        log.error("recording the work of %s failed: %r", key, problem)
        except BaseException as error:
            for _, future in writes:
                if not future.done():
                    future.set_exception(error)
            raise
        finally:
            for running, key, _ in results:
                running.pop(key, None)
        for future, succeeded, value in outcomes:
            if future.done():
                continue
            if succeeded:
                future.set_result(value)
            else:
                future.set_exception(value)
        return bool(writes) or recorded or bool(results)

    def _apply_write(self, operation: Callable[[], Any]) -> tuple[bool, Any]:
        """Run one write under a savepoint so a refused one leaves the others intact."""
        self.hub.db.execute("SAVEPOINT client_write")
        try:
            value = operation()
        except Exception as error:
            self.hub.db.execute("ROLLBACK TO client_write")
            self.hub.db.execute("RELEASE client_write")
            return False, error
        self.hub.db.execute("RELEASE client_write")
        return True, value
