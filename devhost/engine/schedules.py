"""Timer triggers as the WebJobs timer extension runs them, on devhost's clock.

Schedules are read by devhost/app/timer_schedules.py, where one the extension refuses leaves
its function out at indexing.

The schedule monitor (ScheduleMonitor.CheckPastDueAsync, TimerListener) keeps each monitored
trigger's status (`Last`, `Next`, `LastUpdated`) in the task hub: a trigger whose recorded
`Next` passed while no host ran runs once at start with `IsPastDue` true. `useMonitor` defaults
to true and is turned off for schedules that fire more than once a minute; `runOnStartup`
runs the function once when the host starts. Occurrences are computed on the host clock, so a
manual clock's advance and the auto clock fire them in order like durable timers (the auto
clock never jumps for a schedule alone: it would never stop).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from devhost.app.loader import TimerFunction
from devhost.app.timer_schedules import NEVER, TimerSchedule, parse_schedule


@dataclass(frozen=True)
class ScheduleStatus:
    """What the schedule monitor records of one trigger (ScheduleStatus.cs)."""

    last: datetime = NEVER
    next: datetime = NEVER
    last_updated: datetime = NEVER

    def to_json(self) -> dict[str, str]:
        return dict(zip(("Last", "Next", "LastUpdated"), self.to_row(), strict=True))

    def to_row(self) -> tuple[str, str, str]:
        return _wire(self.last), _wire(self.next), _wire(self.last_updated)

    @classmethod
    def from_row(cls, row: tuple[str, str, str]) -> ScheduleStatus:
        last, next_, updated = (datetime.fromisoformat(text) for text in row)
        return cls(last, next_, updated)


def _wire(moment: datetime) -> str:
    """ISO 8601 with the offset, as the host serializes TimerInfo's DateTimes in UTC."""
    return moment.astimezone(UTC).isoformat()


def check_past_due(
    schedule: TimerSchedule, recorded: ScheduleStatus | None, now: datetime
) -> tuple[ScheduleStatus, bool]:
    """ScheduleMonitor.CheckPastDueAsync: the status to record at start, and whether an
    occurrence was missed since the last host ran. A schedule changed since the status was
    recorded starts afresh rather than counting as past due."""
    if recorded is None:
        return ScheduleStatus(next=schedule.next_after(now), last_updated=now), False
    status = recorded
    if status.last != NEVER:
        expected, basis = schedule.next_after(status.last), status.last
    elif status.last_updated != NEVER:
        expected, basis = schedule.next_after(status.last_updated), status.last_updated
    else:
        expected, basis = schedule.next_after(now), now
    if status.next != expected:
        if now > expected:
            expected, basis = schedule.next_after(now), now
        status = ScheduleStatus(next=expected, last_updated=basis)
    return status, now > status.next


@dataclass
class Trigger:
    """One timer trigger's schedule and where it stands."""

    function: TimerFunction
    schedule: TimerSchedule
    monitored: bool
    status: ScheduleStatus
    startup: str | None  # "IsPastDue" or "RunOnStartup": one run due at start
    running: bool = False


@dataclass(frozen=True)
class Run:
    """One invocation to make: the TimerInfo JSON, and the status to record once it ends."""

    function: TimerFunction
    info: str
    reason: str  # what the host logs as the invocation's Reason
    details: str | None  # its Trigger Details: why a run came off schedule
    status: ScheduleStatus
    monitored: bool


@dataclass
class Schedules:
    """When each timer trigger runs next; `take_due` hands out the runs that came due and
    `finished` records each one's new status."""

    triggers: dict[str, Trigger] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        functions: list[TimerFunction],
        now: datetime,
        recorded: dict[str, ScheduleStatus],
    ) -> Schedules:
        """The triggers as a starting host sees them (TimerListener.StartAsync), given the
        statuses the task hub recorded (indexing left out any schedule the extension
        refuses)."""
        schedules = cls()
        for function in functions:
            schedule = parse_schedule(function.schedule)
            monitored = function.use_monitor and not schedule.fires_more_than_once_a_minute(now)
            startup = None
            if monitored:
                status, past_due = check_past_due(schedule, recorded.get(function.name), now)
                startup = "IsPastDue" if past_due else None
            else:
                status = ScheduleStatus(next=schedule.next_after(now))
            if startup is None and function.run_on_startup:
                startup = "RunOnStartup"
            schedules.triggers[function.name] = Trigger(
                function, schedule, monitored, status, startup
            )
        return schedules

    def recorded(self) -> dict[str, ScheduleStatus]:
        """The statuses the monitor keeps, to be written to the task hub."""
        return {name: t.status for name, t in self.triggers.items() if t.monitored}

    def next_due(self, now: datetime) -> datetime | None:
        """When the next run is due (a run due at start is due now); running ones wait."""
        return min(
            (now if t.startup else t.status.next for t in self.triggers.values() if not t.running),
            default=None,
        )

    def take_due(self, now: datetime) -> list[Run]:
        """The runs due at `now`; each trigger waits for its run to end before the next
        (TimerListener restarts its timer only after an invocation)."""
        runs = []
        for trigger in self.triggers.values():
            if trigger.running or (not trigger.startup and trigger.status.next > now):
                continue
            runs.append(self._run(trigger, now))
            trigger.running, trigger.startup = True, None
        return runs

    def _run(self, trigger: Trigger, now: datetime) -> Run:
        """TimerListener.InvokeJobFunction: the TimerInfo carries the status as recorded
        before this run (none without the monitor); afterwards `Next` counts from this run,
        or from the occurrence if the run came a little early."""
        past_due = trigger.startup == "IsPastDue"
        info: dict[str, Any] = {
            "Schedule": {"AdjustForDST": trigger.schedule.adjust_for_dst},
            "ScheduleStatus": trigger.status.to_json() if trigger.monitored else None,
            "IsPastDue": past_due,
        }
        moment = now if trigger.startup else max(now, trigger.status.next)
        after = ScheduleStatus(moment, trigger.schedule.next_after(moment), moment)
        details = None
        if past_due:
            details = (
                "UnscheduledInvocationReason: IsPastDue, "
                f"OriginalSchedule: {_wire(trigger.status.next)}"
            )
        elif trigger.startup:
            details = "UnscheduledInvocationReason: RunOnStartup"
        return Run(
            trigger.function,
            json.dumps(info),
            f"Timer fired at {_wire(now)}",  # TimerTriggerBinding.GetTriggerReason
            details,
            after,
            trigger.monitored,
        )

    def finished(self, run: Run) -> None:
        """The run ended: its trigger's schedule moves on from it."""
        trigger = self.triggers.get(run.function.name)
        if trigger is not None and trigger.running:
            trigger.status, trigger.running = run.status, False
