"""A timer trigger's schedule as the WebJobs timer extension reads it (TimerSchedule.Create,
azure-webjobs-sdk-extensions, 2024-10, Extensions/Timers/Scheduling/TimerSchedule.cs): a
`%SETTING%` is resolved first; an NCRONTAB expression of six fields (`{second} {minute} {hour}
{day} {month} {day-of-week}`) or five (no seconds, CronSchedule.TryCreate) is a cron schedule;
otherwise a TimeSpan (`00:00:05`, `1.00:00:00`) is a constant interval. Anything else is an
indexing error of that one function (devhost/app/indexing.py), and the others run on.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, cast

from croniter import croniter

SETTING = re.compile(r"^%([^%]+)%$")
# .NET TimeSpan.TryParse, invariant culture: `d`, or `[d.]hh:mm[:ss[.fffffff]]`.
TIMESPAN = re.compile(
    r"^(?:(?P<days>\d+)|(?:(?P<d>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{1,2})"
    r"(?::(?P<s>\d{1,2})(?:\.(?P<f>\d{1,7}))?)?)$"
)


#: `default(DateTime)`: what a ScheduleStatus records for a time it does not know yet.
NEVER = datetime(1, 1, 1, tzinfo=UTC)


class ScheduleError(ValueError):
    """A schedule the timer extension refuses: the function is in error, the host runs on."""


class TimerSchedule(Protocol):
    adjust_for_dst: bool

    def next_after(self, moment: datetime) -> datetime: ...

    def fires_more_than_once_a_minute(self, now: datetime) -> bool: ...


@dataclass(frozen=True)
class CronSchedule:
    """An NCRONTAB expression, with seconds (six fields) or without (five)."""

    expression: str
    adjust_for_dst = True

    def next_after(self, moment: datetime) -> datetime:
        seconds = len(self.expression.split()) == 6
        occurrence = croniter(self.expression, moment, second_at_beginning=seconds)
        return cast(datetime, occurrence.get_next(datetime))  # croniter ships no types

    def fires_more_than_once_a_minute(self, now: datetime) -> bool:
        """TimerSchedule.ShouldDisableScheduleMonitor: every field but the seconds is a
        wildcard and a second occurrence comes within the minute."""
        fields = self.expression.split()
        if len(fields) != 6 or any(f != "*" for f in fields[1:]):
            return False
        return self.next_after(self.next_after(now)) < now + timedelta(minutes=1)


@dataclass(frozen=True)
class ConstantSchedule:
    """A TimeSpan: the next occurrence is always one interval after the last."""

    interval: timedelta
    adjust_for_dst = False

    def next_after(self, moment: datetime) -> datetime:
        return moment + self.interval

    def fires_more_than_once_a_minute(self, now: datetime) -> bool:
        return self.interval < timedelta(minutes=1)


def parse_schedule(schedule: str) -> TimerSchedule:
    """The schedule a binding's `schedule` names, or ScheduleError with the host's message."""
    expression = schedule.strip()
    setting = SETTING.match(expression)
    if setting:
        resolved = os.environ.get(setting.group(1))
        if resolved is None:
            raise ScheduleError(f"'{expression}' does not resolve to a value.")
        expression = resolved.strip()
    fields = expression.split()
    seconds = len(fields) == 6
    if len(fields) in (5, 6) and croniter.is_valid(expression, second_at_beginning=seconds):
        return CronSchedule(" ".join(fields))
    interval = _timespan(expression)
    if interval == timedelta(0):
        raise ScheduleError(
            f"The schedule expression '{expression}' is a zero interval: Azure would run the "
            "function back to back without pause; devhost refuses it."
        )
    if interval is not None:
        return ConstantSchedule(interval)
    raise ScheduleError(
        f"The schedule expression '{expression}' was not recognized as a valid cron "
        "expression or timespan string."
    )


def _timespan(text: str) -> timedelta | None:
    match = TIMESPAN.match(text)
    if not match:
        return None
    if match["days"]:
        return timedelta(days=int(match["days"]))
    hours, minutes, seconds = int(match["h"]), int(match["m"]), int(match["s"] or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    fraction = float(f"0.{match['f']}") if match["f"] else 0.0
    return timedelta(
        days=int(match["d"] or 0), hours=hours, minutes=minutes, seconds=seconds + fraction
    )


def indexing_error(function_name: str, problem: ScheduleError) -> str:
    """The host's error for a function whose schedule its indexing refused (the WebJobs SDK's
    FunctionIndexingException, flattened as ScriptHostLoggerExtension logs it)."""
    return (
        f"Microsoft.Azure.WebJobs.Host: Error indexing method 'Functions.{function_name}'. "
        f"Microsoft.Azure.WebJobs.Extensions: {problem}"
    )
