"""Host time and idleness: whether anything is left to run, waiting until nothing is, moving a
manual or auto clock, and running the timer triggers that come due on it.

The host is idle when the dispatcher's last pass found nothing to run and nothing is running
that could still bring work: app code in the workers, writes and answers waiting to commit,
HTTP and timer triggers. A test that waits for idleness, or advances the clock (which waits for
it after each timer), can then assert the outcome without guessing how long work takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from devhost.app.loader import TimerFunction
from devhost.durable.clock import Clock, ManualClock, from_epoch, to_wire
from devhost.engine.activities import Activities
from devhost.engine.entities import EntityBatches
from devhost.engine.episodes import Episodes
from devhost.engine.pending import Pending
from devhost.engine.refusals import NotIdle, Refused
from devhost.engine.schedules import Run, Schedules, ScheduleStatus
from devhost.hub.store import TaskHub
from devhost.worker.messages import TimerTrigger
from devhost.worker.pool import WorkerFailed, WorkerLost, WorkerPool

log = logging.getLogger("devhost")


class HostTime:
    """The clock, the timer triggers on it, and what keeps the host from being idle."""

    def __init__(
        self,
        hub: TaskHub,
        clock: Clock,
        timers: list[TimerFunction],
        workers: WorkerPool,
        pending: Pending,
        episodes: Episodes,
        batches: EntityBatches,
        activities: Activities,
        wake: Callable[[], None],
    ) -> None:
        self.hub = hub
        self.clock = clock
        self.workers = workers
        self.pending = pending
        self.episodes = episodes
        self.batches = batches
        self.activities = activities
        self.wake = wake
        self.schedules = Schedules.start(timers, clock.now(), self._recorded_statuses())
        self._save_statuses(self.schedules.recorded())
        self.client_binding: str | None = None  # for timer triggers' durableClient bindings
        self.quiet = asyncio.Event()  # the last pass found nothing to run and nothing running
        self.outside = 0  # HTTP and timer triggers running: they may still bring work

    def use_timers(self, timers: list[TimerFunction]) -> None:
        """A reloaded app's timer triggers, started as a restarted host starts them (Azure's
        host restarts on a code change): monitored schedules carry on from their status."""
        recorded = {**self._recorded_statuses(), **self.schedules.recorded()}
        self.schedules = Schedules.start(timers, self.clock.now(), recorded)
        self._save_statuses(self.schedules.recorded())

    def _recorded_statuses(self) -> dict[str, ScheduleStatus]:
        return {
            name: ScheduleStatus.from_row(row) for name, row in self.hub.timer_statuses().items()
        }

    def _save_statuses(self, statuses: dict[str, ScheduleStatus]) -> None:
        with self.hub.transaction():
            for name, status in statuses.items():
                self.hub.save_timer_status(name, *status.to_row())

    # -- idleness ----------------------------------------------------------------------------

    def settled(self) -> bool:
        """Nothing in flight that could still bring work: app code, writes, results, triggers."""
        return not (
            self.activities.running
            or self.episodes.running
            or self.batches.running
            or self.pending
            or self.activities.finished
            or self.outside
        )

    @contextlib.contextmanager
    def outside_work(self) -> Iterator[None]:
        """Mark work running outside the engine (an HTTP trigger): the host is not idle."""
        self.outside += 1
        self.quiet.clear()
        try:
            yield
        finally:
            self.outside -= 1
            self.wake()

    def busy(self) -> list[str]:
        """What keeps the host from being idle, in words; empty when it is idle."""
        reasons = []
        running = sorted(task.get_name() for task in self.activities.running.values())
        if running:
            reasons.append(f"activities running: {', '.join(running)}")
        if self.episodes.running:
            episodes = ", ".join(sorted(self.episodes.running))
            reasons.append(f"orchestrator episodes running: {episodes}")
        if self.batches.running:
            reasons.append(f"entity batches running: {', '.join(sorted(self.batches.running))}")
        if self.outside:
            reasons.append(f"HTTP or timer triggers running: {self.outside}")
        waiting = len(self.pending) + len(self.activities.finished)
        if waiting:
            reasons.append(f"writes waiting to commit: {waiting}")
        reasons += [
            f"{queue} messages due: {count}" for queue, count in sorted(self._due().items())
        ]
        if not reasons and not self.quiet.is_set():
            reasons.append("the dispatcher has not finished its pass")
        return reasons

    def idle(self) -> bool:
        """Nothing runnable and nothing running (a real-clock timer may just have come due)."""
        return self.quiet.is_set() and not self._due()

    def _due(self) -> dict[str, int]:
        """Runnable messages due now, per queue, less those this host's version refuses: they
        wait for another host, so they do not keep this one busy; and timer triggers due."""
        now = self.clock.now()
        due = self.hub.due_by_queue(now.timestamp())
        left = due.get("orchestrator", 0) - self.episodes.still_rejected()
        due.pop("orchestrator", None)
        scheduled = self.schedules.next_due(now)
        if scheduled is not None and scheduled <= now:
            due["timer trigger"] = 1
        return {**due, "orchestrator": left} if left > 0 else due

    async def wait_idle(self, timeout: float) -> None:
        """Return once the host is idle; NotIdle after `timeout` seconds, naming the work."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.idle():
            if self.quiet.is_set():
                self.wake()  # a timer came due on the real clock since the last pass
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                await asyncio.wait_for(self.quiet.wait(), timeout=max(remaining, 0))
            except TimeoutError:
                raise NotIdle(
                    f"The host is not idle after {timeout:g} s (host time "
                    f"{to_wire(self.clock.now())}): {'; '.join(self.busy())}."
                ) from None

    def idle_timeout(self) -> float:
        """How long the dispatcher may sleep when nothing wakes it."""
        if self.clock.manual:
            return 1.0
        # Work already due was done by the last step, or waits for a wake-up (a running
        # activity, a suspended instance); only future timers decide how long to sleep.
        now = self.clock.now().timestamp()
        due = self._next_due(after=now)
        return 1.0 if due is None else min(1.0, due - now)

    # -- moving the clock --------------------------------------------------------------------

    async def advance(self, seconds: float, timeout: float) -> tuple[datetime, int]:
        """Let `seconds` of host time pass: each timer due by then fires at its own time, in
        order, and the work it causes runs out before the clock moves on. Returns the new
        time and how many timers fired."""
        if not isinstance(self.clock, ManualClock):
            raise Refused("The clock is real; start devhost with --clock manual or auto.")
        fired = self.episodes.timers_fired
        target = self.clock.now() + timedelta(seconds=seconds)
        await self.wait_idle(timeout)
        while (due := self._next_due(after=self.clock.now().timestamp())) is not None:
            moment = from_epoch(due)
            if moment > target:
                break
            await self.pending.write(functools.partial(self._move_clock, moment))
            await self.wait_idle(timeout)
        await self.pending.write(lambda: self._move_clock(target))
        await self.wait_idle(timeout)
        return self.clock.now(), self.episodes.timers_fired - fired

    def jump_to_next_timer(self) -> bool:
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

    def save_clock(self) -> None:
        with self.hub.transaction():
            self.hub.save_clock(self.clock.mode, to_wire(self.clock.now()))

    def _next_due(self, after: float) -> float | None:
        """The earliest durable timer or timer-trigger occurrence after `after` (epoch)."""
        scheduled = self.schedules.next_due(self.clock.now())
        times = [self.hub.next_due(after=after), scheduled.timestamp() if scheduled else None]
        return min((t for t in times if t is not None), default=None)

    # -- timer triggers ----------------------------------------------------------------------

    def start_timer_triggers(self) -> bool:
        """Run the timer triggers that came due; each counts as outside work until it ends."""
        runs = self.schedules.take_due(self.clock.now())
        for run in runs:
            self.outside += 1
            asyncio.get_running_loop().create_task(self._run_timer_trigger(run))
        return bool(runs)

    async def _run_timer_trigger(self, run: Run) -> None:
        """Run one timer trigger; afterwards its schedule moves on and a monitored status is
        recorded (TimerListener.InvokeJobFunction: a failure does not stop the schedule)."""
        name = run.function.name
        try:
            await self.workers.call(
                TimerTrigger(name, run.info, self.client_binding, run.reason, run.details)
            )
        except (WorkerLost, WorkerFailed) as problem:
            log.error("timer trigger %s did not run to the end: %s", name, problem)
        finally:
            self.schedules.finished(run)
            if run.monitored:
                await self.pending.write(
                    lambda: self.hub.save_timer_status(name, *run.status.to_row())
                )
            self.outside -= 1
            self.wake()
