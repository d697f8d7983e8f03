"""The dispatcher: turns queued messages into orchestrator episodes, entity batches and
activity runs, and commits what they decided in group-committed transactions.

Everything that touches the task hub runs on the event loop's thread, so there is a single
writer and no locking. App code runs in the worker processes (devhost/worker/pool.py): the
dispatcher hands each piece of work to a worker and records the answer at the next commit. An
instance or entity has at most one piece of work in flight; its messages stay queued until
the answer commits, so work lost with a worker simply runs again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from devhost.app.config import Limits
from devhost.app.loader import FunctionIndex, TimerFunction
from devhost.app.versioning import MISMATCH_OUTPUT, UNVERSIONED, FailureStrategy, Versioning
from devhost.durable import entities, failures
from devhost.durable import history as h
from devhost.durable.clock import Clock, ManualClock, from_epoch, to_wire
from devhost.durable.decisions import (
    CallEntity,
    CreateTimer,
    Decision,
    Outcome,
    ScheduleActivity,
    SignalEntity,
    StartSubOrchestration,
)
from devhost.engine import checks as extension_checks
from devhost.engine import schedules as schedule
from devhost.hub.store import TERMINAL, Instance, Message, TaskHub
from devhost.worker.messages import Activity, EntityBatch, Episode, TimerTrigger
from devhost.worker.pool import Worker, WorkerFailed, WorkerLost, WorkerPool

log = logging.getLogger("devhost")
T = TypeVar("T")
BATCH = 200
#: Histories the host keeps in memory; the rest are read from the hub when needed.
CACHED_HISTORIES = 5000


@dataclass
class CommittedHistory:
    """An instance's committed history, and which worker holds how much of it parsed."""

    events: list[dict[str, Any]]
    holder: Worker | None = None
    held: int = 0


@dataclass
class EpisodeWork:
    """An episode handed to a worker: what it replays and the messages it consumes."""

    instance: Instance
    messages: list[Message]
    new: list[dict[str, Any]]
    now: datetime


#: Work whose answer waits for the next commit: (its in-flight registry, key, apply).
Result = tuple[dict[str, Any], str, Callable[[], None]]


class HostError(Exception):
    """A request the host refuses; `status` is the HTTP status Azure would answer with.

    `summary` is the extension's `Message` when it differs from the exception's own text
    (HttpApiHandler.HandleRequestAsync wraps ArgumentExceptions and other failures).
    """

    status = 400

    def __init__(self, message: str, summary: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.summary = summary or message


ARGUMENTS_INCORRECT = "One or more of the arguments submitted is incorrect"
SOMETHING_WENT_WRONG = "Something went wrong while processing your request"


class ServerError(HostError):
    status = 500


class NotFound(HostError):
    status = 404

    @classmethod
    def instance(cls, instance_id: str) -> NotFound:
        return cls(f"No instance with ID '{instance_id}' was found.")


class Gone(HostError):
    status = 410


class StillBusy(HostError):
    """The host did not become idle in time; the message says what was still running."""

    status = 408


class Engine:
    """Owns the task hub and runs all durable work."""

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
        self.workers = workers
        self.replace_running = replace_running  # overridableExistingInstanceStates AnyState
        self.function_timeout = function_timeout
        self.clock = clock
        self.versioning = versioning
        self.rejected: set[int] = set()  # messages of instances this host's version refuses
        self.limits = limits or Limits()
        self.inflight: dict[int, asyncio.Future[Any]] = {}  # activities, by message id
        self.episodes: dict[str, asyncio.Future[Any]] = {}  # by instance id
        self.batches: dict[str, asyncio.Future[Any]] = {}  # entity batches, by entity id
        self.finished: list[tuple[Message, Outcome]] = []
        self._results: list[Result] = []
        self.histories: OrderedDict[str, CommittedHistory] = OrderedDict()
        self.client_binding: str | None = None  # for activities' durableClient bindings
        self.accepting = True
        self._wakeup = asyncio.Event()
        self._stopped = asyncio.Event()
        self._writes: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        self._quiet = asyncio.Event()  # the last pass found nothing to run and nothing running
        self._outside = 0  # HTTP and timer triggers running: they may still bring work
        self.timers_fired = 0
        self.schedules = schedule.Schedules(index.timers, clock.now())

    def use_index(self, index: FunctionIndex) -> None:
        """Run a reloaded app's functions (watch mode). An invalid timer schedule raises
        ConfigError before anything changes."""
        self.schedules = self.schedules.renewed(index.timers, self.clock.now())
        self.index = index
        self.wake()

    # -- the loop ----------------------------------------------------------------------------

    def wake(self) -> None:
        self._quiet.clear()
        self._wakeup.set()

    async def run(self) -> None:
        """Process work until `stop()`; idle waits end at the next due timer."""
        self.workers.attach()
        self._save_clock()
        while self.accepting:
            self._wakeup.clear()
            try:
                progressed = self._step()
            except Exception:
                log.exception("dispatcher step failed; retrying")
                await asyncio.sleep(0.5)
                continue
            if progressed:
                self._quiet.clear()
                await asyncio.sleep(0)  # let what arrived during the step be received
                continue
            if self._settled():
                if self.clock.auto and self._jump_to_next_timer():
                    continue
                self._quiet.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self._idle_timeout())
        self._save_clock()
        self._stopped.set()

    # -- idleness and host time ----------------------------------------------------------------

    def _settled(self) -> bool:
        """Nothing in flight that could still bring work: app code, writes, results, triggers."""
        return not (
            self.inflight
            or self.episodes
            or self.batches
            or self._writes
            or self.finished
            or self._results
            or self._outside
        )

    @contextlib.contextmanager
    def outside_work(self) -> Iterator[None]:
        """Mark work running outside the engine (an HTTP trigger): the host is not idle."""
        self._outside += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._outside -= 1
            self.wake()

    def busy(self) -> list[str]:
        """What keeps the host from being idle, in words; empty when it is idle."""
        reasons = []
        running = sorted(task.get_name() for task in self.inflight.values())
        if running:
            reasons.append(f"activities running: {', '.join(running)}")
        if self.episodes:
            reasons.append(f"orchestrator episodes running: {', '.join(sorted(self.episodes))}")
        if self.batches:
            reasons.append(f"entity batches running: {', '.join(sorted(self.batches))}")
        if self._outside:
            reasons.append(f"HTTP or timer triggers running: {self._outside}")
        waiting = len(self._writes) + len(self.finished) + len(self._results)
        if waiting:
            reasons.append(f"writes waiting to commit: {waiting}")
        reasons += [
            f"{queue} messages due: {count}" for queue, count in sorted(self._due().items())
        ]
        if not reasons and not self._quiet.is_set():
            reasons.append("the dispatcher has not finished its pass")
        return reasons

    def idle(self) -> bool:
        """Nothing runnable and nothing running (a real-clock timer may just have come due)."""
        return self._quiet.is_set() and not self._due()

    def _due(self) -> dict[str, int]:
        """Runnable messages due now, per queue, less those this host's version refuses: they
        wait for another host, so they do not keep this one busy; and timer triggers due."""
        now = self.clock.now()
        due = self.hub.due_by_queue(now.timestamp())
        self.rejected = self.hub.runnable_among(self.rejected)
        left = due.get("orchestrator", 0) - len(self.rejected)
        due.pop("orchestrator", None)
        scheduled = self.schedules.next_due()
        if scheduled is not None and scheduled <= now:
            due["timer trigger"] = 1
        return {**due, "orchestrator": left} if left > 0 else due

    async def wait_idle(self, timeout: float) -> None:
        """Return once the host is idle; StillBusy after `timeout` seconds, naming the work."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.idle():
            if self._quiet.is_set():
                self.wake()  # a timer came due on the real clock since the last pass
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                await asyncio.wait_for(self._quiet.wait(), timeout=max(remaining, 0))
            except TimeoutError:
                raise StillBusy(
                    f"The host is not idle after {timeout:g} s (host time "
                    f"{to_wire(self.clock.now())}): {'; '.join(self.busy())}."
                ) from None

    async def advance(self, seconds: float, timeout: float) -> tuple[datetime, int]:
        """Let `seconds` of host time pass: each timer due by then fires at its own time, in
        order, and the work it causes runs out before the clock moves on. Returns the new
        time and how many timers fired."""
        if not isinstance(self.clock, ManualClock):
            raise HostError("The clock is real; start devhost with --clock manual or auto.")
        fired = self.timers_fired
        target = self.clock.now() + timedelta(seconds=seconds)
        await self.wait_idle(timeout)
        while (due := self._next_due(after=self.clock.now().timestamp())) is not None:
            moment = from_epoch(due)
            if moment > target:
                break
            await self._write(lambda at=moment: self._move_clock(at))
            await self.wait_idle(timeout)
        await self._write(lambda: self._move_clock(target))
        await self.wait_idle(timeout)
        return self.clock.now(), self.timers_fired - fired

    def _jump_to_next_timer(self) -> bool:
        """Auto clock: move to the earliest pending timer, if any; True if time moved. A timer
        trigger due first fires first, but schedules alone never move the clock (endless)."""
        due = self.hub.next_due(after=self.clock.now().timestamp())
        if due is None:
            return False
        due = min(due, self._next_due(after=self.clock.now().timestamp()) or due)
        with self.hub.transaction():
            self._move_clock(from_epoch(due))
        return True

    def _move_clock(self, moment: datetime) -> None:
        """Record the new position in the hub first, so a crash never turns time back."""
        assert isinstance(self.clock, ManualClock)
        self.hub.save_clock(self.clock.mode, to_wire(max(moment, self.clock.now())))
        self.clock.move_to(moment)
        self.wake()

    def _save_clock(self) -> None:
        with self.hub.transaction():
            self.hub.save_clock(self.clock.mode, to_wire(self.clock.now()))

    def _step(self, orchestrate: bool = True) -> bool:
        """One pass over every queue; True if anything ran.

        Client writes and the workers' answers commit first, together (group commit), and
        callers hear back only after that commit, so an accepted request is always durable.
        The dispatch then runs in a second transaction: it hands episodes, entity batches and
        activities to the workers, and itself only writes what settles without app code (a
        termination, a version refused). Whatever arrives while a step runs joins the next.
        """
        progressed = self._commit_writes()
        if orchestrate:
            with self._rollback_guard(), self.hub.transaction():
                progressed |= self._run_orchestrations()
                progressed |= self._run_entities()
            progressed |= self._start_activities()
            progressed |= self._start_timer_triggers()
        return progressed

    def _start_timer_triggers(self) -> bool:
        """Run the timer triggers that came due; each counts as outside work until it ends."""
        runs = self.schedules.take_due(self.clock.now())
        for function, info in runs:
            self._outside += 1
            asyncio.get_running_loop().create_task(self._run_timer_trigger(function, info))
        return bool(runs)

    async def _run_timer_trigger(self, function: TimerFunction, info: str) -> None:
        try:
            await self.workers.call(TimerTrigger(function.name, info, self.client_binding))
        except (WorkerLost, WorkerFailed) as problem:
            log.error("timer trigger %s did not run to the end: %s", function.name, problem)
        finally:
            self._outside -= 1
            self.wake()

    @contextlib.contextmanager
    def _rollback_guard(self) -> Iterator[None]:
        """The in-memory history cache must not outlive a rolled-back transaction."""
        try:
            yield
        except BaseException:
            self.histories.clear()
            raise

    def _commit_writes(self) -> bool:
        """Client writes, activity results and the answers of episodes and entity batches,
        in one transaction; an answer's instance or entity is free again after it."""
        if not self._writes and not self.finished and not self._results:
            return False
        writes, self._writes = self._writes, []
        results, self._results = self._results, []
        outcomes: list[tuple[asyncio.Future[Any], bool, Any]] = []
        try:
            with self._rollback_guard(), self.hub.transaction():
                for operation, future in writes:
                    outcomes.append((future, *self._apply_write(operation)))
                recorded = self._record_activity_results()
                for _, key, apply in results:
                    succeeded, problem = self._apply_write(apply)
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
        """Run one client write under a savepoint so a refused one leaves the others intact."""
        self.hub.db.execute("SAVEPOINT client_write")
        try:
            value = operation()
        except Exception as error:
            self.hub.db.execute("ROLLBACK TO client_write")
            self.hub.db.execute("RELEASE client_write")
            return False, error
        self.hub.db.execute("RELEASE client_write")
        return True, value

    async def _write(self, operation: Callable[[], T]) -> T:
        """Queue a state change for the next group commit and wait until it is durable."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._writes.append((operation, future))
        self.wake()
        return await future

    async def stop(self, grace: float) -> None:
        """Stop taking work; give running activities `grace` seconds to finish and record them."""
        self.accepting = False
        self.wake()
        await self._stopped.wait()
        pending = [*self.inflight.values(), *self.episodes.values(), *self.batches.values()]
        if pending:
            await asyncio.wait(pending, timeout=grace)
        self._step(orchestrate=False)

    def _idle_timeout(self) -> float:
        if self.clock.manual:
            return 1.0
        # Work already due was done by the last step, or waits for a wake-up (a running
        # activity, a suspended instance); only future timers decide how long to sleep.
        now = self.clock.now().timestamp()
        due = self._next_due(after=now)
        return 1.0 if due is None else min(1.0, due - now)

    def _next_due(self, after: float) -> float | None:
        """The earliest durable timer or timer-trigger occurrence after `after` (epoch)."""
        scheduled = self.schedules.next_due()
        times = [self.hub.next_due(after=after), scheduled and scheduled.timestamp()]
        return min((t for t in times if t is not None), default=None)

    def _now(self) -> tuple[datetime, float]:
        now = self.clock.now()
        return now, now.timestamp()

    # -- public operations (management API, durable client) ----------------------------------

    async def start(
        self,
        name: str,
        instance_id: str | None,
        input_json: str | None,
        version: str | None = None,
    ) -> str:
        if name not in self.index.orchestrators:
            problem = extension_checks.unknown_function(
                "orchestrator", name, self.index.orchestrators
            )
            raise HostError(problem, ARGUMENTS_INCORRECT)
        chosen = instance_id or uuid.uuid4().hex

        def create() -> str:
            existing = self.hub.instance(chosen)
            if existing and not existing.finished and not self.replace_running:
                # AzureStorageOrchestrationService.CreateTaskOrchestrationAsync with the dedupe
                # statuses of overridableExistingInstanceStates NonRunningStates.
                raise ServerError(
                    f"An Orchestration instance with the status {existing.status} already exists.",
                    SOMETHING_WENT_WRONG,
                )
            self._create_instance(
                name, chosen, input_json, None, self.versioning.version_for_new(version)
            )
            return chosen

        return await self._write(create)

    def _create_instance(
        self,
        name: str,
        instance_id: str,
        input_json: str | None,
        parent: tuple[str, int] | None,
        version: str,
    ) -> None:
        now, epoch = self._now()
        self.hub.delete_instance(instance_id)
        self.histories.pop(instance_id, None)
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
        self._send(instance_id, started, epoch, execution_id)

    def _send(
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

    def require(self, instance_id: str) -> Instance:
        instance = self.hub.instance(instance_id)
        if instance is None:
            raise NotFound.instance(instance_id)
        return instance

    def require_status(self, instance_id: str) -> str:
        """The instance's runtime status (404 when there is none)."""
        status = self.hub.status(instance_id)
        if status is None:
            raise NotFound.instance(instance_id)
        return status

    def require_live(self, instance_id: str) -> str:
        """The status of an instance that exists and has not finished (404 / 410 otherwise)."""
        status = self.require_status(instance_id)
        if status in TERMINAL:
            raise Gone(f"Instance '{instance_id}' is already {status}.")
        return status

    async def raise_event(self, instance_id: str, name: str, data_json: str | None) -> None:
        def deliver() -> None:
            self.require_live(instance_id)
            now, epoch = self._now()
            self._send(instance_id, h.event_raised(now, name, data_json), epoch)

        await self._write(deliver)

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        """Queue the termination; it takes effect when the instance processes it, and work
        already scheduled still runs (TaskHubClient.TerminateInstanceAsync)."""

        def terminate() -> None:
            self.require_live(instance_id)
            now, epoch = self._now()
            event = h.event(h.EventType.EXECUTION_TERMINATED, now, Input=json.dumps(reason))
            self._send(instance_id, event, epoch)

        await self._write(terminate)

    async def suspend(self, instance_id: str, reason: str | None) -> None:
        await self._write(lambda: self._request_suspension(instance_id, reason, suspended=True))

    async def resume(self, instance_id: str, reason: str | None) -> None:
        await self._write(lambda: self._request_suspension(instance_id, reason, suspended=False))

    def _request_suspension(self, instance_id: str, reason: str | None, suspended: bool) -> None:
        """Queue a suspend or resume event, which takes effect when the instance processes
        it. DurableClient.SuspendAsync/ResumeAsync refuse an instance in the wrong state."""
        status = self.require_live(instance_id)
        allowed = ("Running", "Pending") if suspended else ("Suspended",)
        if status not in allowed:
            verb = "suspend" if suspended else "resume"
            raise ServerError(
                f"Cannot {verb} the orchestration instance {instance_id} because instance is in "
                f"the {status} state.",
                SOMETHING_WENT_WRONG,
            )
        now, epoch = self._now()
        kind = h.EventType.EXECUTION_SUSPENDED if suspended else h.EventType.EXECUTION_RESUMED
        self._send(instance_id, h.event(kind, now, Reason=reason), epoch)

    async def rewind(self, instance_id: str, reason: str | None) -> None:
        """Clear a failed instance's failures and run it again (AzureTableTrackingStore
        .RewindHistoryAsync): failed tasks are scheduled anew, failed children rewound."""

        def rewind() -> None:
            instance = self.require(instance_id)
            if instance.status != "Failed":
                raise ServerError(
                    "The rewind operation is only supported on failed orchestration instances.",
                    SOMETHING_WENT_WRONG,
                )
            now, epoch = self._now()
            for leaf in self._rewind_history(instance):
                self._send(leaf, h.event(h.EventType.GENERIC, now, Data=reason), epoch)

        await self._write(rewind)

    def _rewind_history(self, instance: Instance) -> list[str]:
        """Mark the failures `Rewound`; return the instances to wake (the deepest failed)."""
        events = [dict(event) for event in self.history(instance.id)]
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
        self.hub.clear_history(instance.id)
        self.hub.append_history(instance.id, 0, events)
        self.histories[instance.id] = CommittedHistory(events)
        now, _ = self._now()
        self.hub.update_instance(
            instance.id, status="Pending", output=None, updated_at=to_wire(now)
        )
        return leaves if failed_child else [instance.id]

    async def purge(self, instance_ids: list[str]) -> int:
        def purge() -> int:
            for instance_id in instance_ids:
                self.hub.delete_instance(instance_id)
                self.histories.pop(instance_id, None)
            return len(instance_ids)

        return await self._write(purge)

    async def signal_entity(self, entity_id: str, operation: str, input_json: str | None) -> None:
        def send() -> None:
            _, epoch = self._now()
            self._send_entity(entity_id, operation, input_json, signal=True, epoch=epoch)

        await self._write(send)

    def _send_entity(
        self,
        entity_id: str,
        operation: str,
        input_json: str | None,
        *,
        signal: bool,
        epoch: float,
        parent: str | None = None,
    ) -> dict[str, Any]:
        request = {
            "id": str(uuid.uuid4()),
            "op": operation,
            "signal": signal,
            "input": input_json,
            "parent": parent,
        }
        self.hub.enqueue("entity", entity_id, request, epoch)
        return request

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        return self._committed(instance_id).events

    def _committed(self, instance_id: str) -> CommittedHistory:
        """The instance's history from the cache, read from the hub on a miss."""
        cached = self.histories.get(instance_id)
        if cached is None:
            cached = CommittedHistory(self.hub.history(instance_id))
            self.histories[instance_id] = cached
            while len(self.histories) > CACHED_HISTORIES:
                self.histories.popitem(last=False)
        return cached

    def _append(self, instance_id: str, events: list[dict[str, Any]]) -> None:
        committed = self._committed(instance_id)
        self.hub.append_history(instance_id, len(committed.events), events)
        committed.events.extend(events)

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
        self._drop_messages(instance.id, lambda m: m.queue == "orchestrator")
        if instance.parent_id is None or instance.parent_task_id is None:
            return
        if status == "Completed":
            event = h.sub_orchestration_completed(now, instance.parent_task_id, output)
        else:
            reason = json.loads(output) if output else None
            if reason is not None and not isinstance(reason, str):
                reason = output
            event = h.sub_orchestration_failed(now, instance.parent_task_id, reason, details)
        self._send(instance.parent_id, event, now.timestamp())

    def _drop_messages(self, target: str, unwanted: Callable[[Message], bool]) -> None:
        self.hub.delete_messages([m.id for m in self.hub.pending_messages(target) if unwanted(m)])

    # -- orchestrations ----------------------------------------------------------------------

    def _run_orchestrations(self) -> bool:
        """Hand an episode to a worker for each instance with messages, up to the limit."""
        if len(self.episodes) >= self.limits.orchestrations:
            return False
        now, epoch = self._now()
        messages = self.hub.ready(
            "orchestrator",
            epoch,
            BATCH,
            exclude=self.rejected,
            skip_suspended=True,
            busy=self.episodes.keys(),
            targets=self.limits.orchestrations - len(self.episodes),
        )
        loop = asyncio.get_running_loop()
        for instance_id, group in _by_target(messages).items():
            if len(self.episodes) >= self.limits.orchestrations:
                break
            instance = self.hub.instance(instance_id)
            if self._refused(instance, group):
                continue
            batch = _until_suspended(group)  # what arrived after a suspension waits for resume
            work = self._episode(instance, batch, now)
            if work is None:
                self.hub.delete_messages([m.id for m in batch])
                continue
            self.episodes[instance_id] = loop.create_task(
                self._replay(work), name=f"episode {instance_id}"
            )
        return bool(messages)

    def _refused(self, instance: Instance | None, batch: list[Message]) -> bool:
        """Apply versionMatchStrategy/versionFailureStrategy before an instance runs.

        Reject leaves the work queued, as the extension abandons the work item for a worker
        of a suitable version; this process never becomes one, so it says so and stops
        picking those messages up. Fail ends the instance as DurableTask.Core does.
        """
        if instance is None or instance.finished or self.versioning.accepts(instance.version):
            return False
        if self.versioning.failure is FailureStrategy.FAIL:
            now, _ = self._now()
            new = [h.event(h.EventType.ORCHESTRATOR_STARTED, now)]
            new += [m.body["event"] for m in batch]
            self._fail(instance, new, json.dumps(MISMATCH_OUTPUT), instance.custom_status, now)
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
        instance_id = instance.id
        events = [
            m.body["event"]
            for m in messages
            if m.body.get("execution") in (None, instance.execution_id)
        ]
        if not self._committed(instance_id).events:
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
            self._terminate(instance, terminated, events, now)
            return None
        new = [h.event(h.EventType.ORCHESTRATOR_STARTED, now), *events]
        if instance.name not in self.index.orchestrators:
            failure = f"The orchestrator function '{instance.name}' is not in this app."
            self._apply(instance, Decision(failure=failure), new, now)
            return None
        return EpisodeWork(instance, messages, new, now)

    async def _replay(self, work: EpisodeWork) -> None:
        """Run the episode in the instance's worker; its decision commits with the next group.
        A worker lost meanwhile leaves the messages queued, so the episode runs again."""
        instance_id = work.instance.id
        try:
            decision = await self._decide(work)
        except WorkerLost as lost:
            log.warning("the episode of %s runs again: %s", instance_id, lost)
            self._answered(self.episodes, instance_id, None)
            return
        except WorkerFailed as problem:
            decision = Decision(failure=str(problem))
        self._answered(self.episodes, instance_id, lambda: self._record_episode(work, decision))

    def _answered(
        self, running: dict[str, Any], key: str, record: Callable[[], None] | None
    ) -> None:
        """Hand a worker's answer to the next commit, which frees `key`; None: the work was
        lost with its worker, stays queued, and `key` is free to run it again."""
        if record is None:
            running.pop(key, None)
        else:
            self._results.append((running, key, record))
        self.wake()

    async def _decide(self, work: EpisodeWork) -> Decision:
        """Ask the worker, sending only the committed events it does not hold yet."""
        instance = work.instance
        committed = self._committed(instance.id)
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

    def _record_episode(self, work: EpisodeWork, decision: Decision) -> None:
        instance = self.hub.instance(work.instance.id)
        same_run = instance is not None and instance.execution_id == work.instance.execution_id
        if same_run and not instance.finished:
            self._apply(instance, decision, work.new, work.now)
        self.hub.delete_messages([m.id for m in work.messages])

    def _terminate(
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
        self._append(
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

    def _apply(
        self, instance: Instance, decision: Decision, new: list[dict[str, Any]], now: datetime
    ) -> None:
        epoch = now.timestamp()
        problem = extension_checks.episode_problem(
            self.index, decision, instance, self.hub.instance
        )
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
            self._fail(instance, appended, json.dumps(result), custom, now, details)
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
        self._append(instance.id, appended)
        self.hub.update_instance(
            instance.id, status=_status_after(new), custom_status=custom, updated_at=to_wire(now)
        )
        if decision.done:
            self._finish(instance, "Completed", decision.output, now)

    def _fail(
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
        self._append(instance.id, appended)
        self.hub.update_instance(instance.id, custom_status=custom)
        self._finish(instance, "Failed", output, now, details)

    def _continue_as_new(
        self, instance: Instance, decision: Decision, custom: str | None, now: datetime
    ) -> None:
        """Start a fresh generation: new history, same id; stale completions are ignored."""
        self.hub.clear_history(instance.id)
        self.histories.pop(instance.id, None)
        execution_id = uuid.uuid4().hex
        self._drop_messages(
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
        self._send(instance.id, started, now.timestamp(), execution_id)

    def _schedule(
        self, instance: Instance, work: Any, now: datetime, epoch: float
    ) -> dict[str, Any]:
        """Queue one piece of new work and return the history event that records it."""
        if isinstance(work, ScheduleActivity):
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
            self._send(instance.id, fired, work.fire_at.timestamp(), instance.execution_id)
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
        request = self._send_entity(
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
            self._send(parent.id, failed, now.timestamp(), parent.execution_id)
            return
        version = self.versioning.version_for_new(work.version)
        self._create_instance(work.name, child_id, work.input, (parent.id, work.task_id), version)

    # -- entities ----------------------------------------------------------------------------

    def _run_entities(self) -> bool:
        """Hand a batch to a worker for each entity with messages, up to the limit."""
        if len(self.batches) >= self.limits.entities:
            return False
        now, epoch = self._now()
        messages = self.hub.ready(
            "entity",
            epoch,
            BATCH * 5,
            busy=self.batches.keys(),
            targets=self.limits.entities - len(self.batches),
        )
        loop = asyncio.get_running_loop()
        for entity_id, batch in _by_target(messages).items():
            if len(self.batches) >= self.limits.entities:
                break
            name, _ = entities.split_entity_id(entity_id)
            requests = [m.body for m in batch]
            exists = self.hub.entity_exists(entity_id)
            state = self.hub.entity_state(entity_id) if exists else None
            if name.lower() not in self.index.entities:
                message = json.dumps(f"The entity function '{name}' is not in this app.")
                outcome = entities.failed(message, len(requests), exists, state)
                self._record_batch(entity_id, batch, outcome, now)
                continue
            self.batches[entity_id] = loop.create_task(
                self._run_batch(entity_id, batch, exists, state, now),
                name=f"entity {entity_id}",
            )
        return bool(messages)

    async def _run_batch(
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
        name, _ = entities.split_entity_id(entity_id)
        requests = [m.body for m in batch]
        slot = self.workers.slot_for(entity_id)
        call = self.workers.call(EntityBatch(name, entity_id, exists, state, requests), slot=slot)
        try:
            outcome = await asyncio.wait_for(call, timeout=self.function_timeout)
        except TimeoutError:
            assert self.function_timeout is not None
            log.warning("entity %s exceeded functionTimeout", entity_id)
            message = failures.timed_out(name, self.function_timeout)
            outcome = entities.failed(message, len(requests), exists, state)
        except WorkerLost as lost:
            log.warning("the batch of entity %s runs again: %s", entity_id, lost)
            self._answered(self.batches, entity_id, None)
            return
        except WorkerFailed as problem:
            outcome = entities.failed(json.dumps(str(problem)), len(requests), exists, state)
        record = functools.partial(self._record_batch, entity_id, batch, outcome, now)
        self._answered(self.batches, entity_id, record)

    def _record_batch(
        self,
        entity_id: str,
        batch: list[Message],
        outcome: entities.BatchOutcome,
        now: datetime,
    ) -> None:
        name, key = entities.split_entity_id(entity_id)
        if outcome.exists:
            self.hub.put_entity(entity_id, name, key, outcome.state, to_wire(now))
        else:
            self.hub.delete_entity(entity_id)
        epoch = now.timestamp()
        for target, operation, input_json in outcome.signals:
            self._send_entity(target, operation, input_json, signal=True, epoch=epoch)
        for message, result in zip(batch, outcome.results, strict=True):
            request = message.body
            if request["signal"] or not request.get("parent"):
                continue
            answer = h.event_raised(now, request["id"], entities.reply(result))
            self._send(request["parent"], answer, epoch)
        self.hub.delete_messages([m.id for m in batch])

    # -- activities --------------------------------------------------------------------------

    def _start_activities(self) -> bool:
        room = self.limits.activities - len(self.inflight)
        if room <= 0:
            return False
        _, epoch = self._now()
        messages = self.hub.ready("activity", epoch, room, exclude=self.inflight.keys())
        loop = asyncio.get_running_loop()
        for message in messages:
            future = loop.create_task(self._invoke_activity(message), name=message.body["name"])
            self.inflight[message.id] = future
        return bool(messages)

    async def _invoke_activity(self, message: Message) -> None:
        """Run one activity in the least busy worker. Past functionTimeout it fails as the
        host fails it; a worker lost meanwhile leaves it queued, to run again (at least once,
        as on Azure)."""
        name = message.body["name"]
        call = self.workers.call(Activity(name, message.body["input"], self.client_binding))
        try:
            outcome = await asyncio.wait_for(call, timeout=self.function_timeout)
        except TimeoutError:
            assert self.function_timeout is not None
            # As FunctionExecutor's FunctionTimeoutException through TaskActivityShim. A
            # synchronous function's thread runs on in its worker; its answer is ignored.
            log.warning("activity %s exceeded functionTimeout", name)
            text = failures.timed_out(name, self.function_timeout)
            outcome = Outcome(failure=failures.host_failure(name, text))
        except WorkerLost as lost:
            log.warning("activity %s runs again: %s", name, lost)
            self.inflight.pop(message.id, None)
            self.wake()
            return
        except WorkerFailed as problem:
            outcome = Outcome(failure=(str(problem), str(problem)))
        self.finished.append((message, outcome))
        self.wake()

    def _record_activity_results(self) -> bool:
        if not self.finished:
            return False
        done, self.finished = self.finished, []
        now = self.clock.now()
        for message, outcome in done:
            self.inflight.pop(message.id, None)
            if not self.hub.take_message(message.id):
                continue  # its instance was purged or restarted meanwhile
            task_id = message.body["taskId"]
            if outcome.failure:
                event = h.task_failed(now, task_id, *outcome.failure)
            else:
                event = h.task_completed(now, task_id, outcome.result)
            self._send(message.target, event, now.timestamp(), message.body.get("execution"))
        return True


#: Failure events and the event that scheduled the failed work.
FAILURES = {
    h.EventType.TASK_FAILED: h.EventType.TASK_SCHEDULED,
    h.EventType.SUB_ORCHESTRATION_FAILED: h.EventType.SUB_ORCHESTRATION_CREATED,
}
SCHEDULED_BY = set(FAILURES.values())


def _mark_rewound(event: dict[str, Any], *, generic: bool) -> None:
    """What RewindHistoryAsync writes over a cleared event: replay skips a GenericEvent."""
    event["Reason"] = f"Rewound: {h.event_name(h.EventType(event['EventType']))}"
    if generic:
        event["EventType"] = int(h.EventType.GENERIC)


def _until_suspended(batch: list[Message]) -> list[Message]:
    """The batch up to and including its first suspension event."""
    for position, message in enumerate(batch):
        if message.body.get("event", {}).get("EventType") == h.EventType.EXECUTION_SUSPENDED:
            return batch[: position + 1]
    return batch


def _status_after(events: list[dict[str, Any]]) -> str:
    """Running, or Suspended when the episode's last suspend/resume event suspended it."""
    for event in reversed(events):
        if event["EventType"] == h.EventType.EXECUTION_SUSPENDED:
            return "Suspended"
        if event["EventType"] == h.EventType.EXECUTION_RESUMED:
            return "Running"
    return "Running"


def _by_target(messages: list[Message]) -> dict[str, list[Message]]:
    """Messages grouped by instance or entity, each group in arrival order."""
    groups: dict[str, list[Message]] = {}
    for message in messages:
        groups.setdefault(message.target, []).append(message)
    return groups
