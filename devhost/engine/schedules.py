"""Timer triggers as the Functions host runs them, on devhost's clock.

A schedule is a six-field NCRONTAB expression, `{second} {minute} {hour} {day} {month}
{day-of-week}` (or `%SETTING%`, read from the app settings), as Azure's timer trigger takes it;
five-field cron is refused with the message Azure's would deserve. Occurrences are computed on the
host clock, so a manual clock's advance and the auto clock fire them in order like durable timers
(the auto clock never jumps for a schedule alone: it would never stop).

Each run gets the TimerInfo JSON the host binds (`Schedule`, `ScheduleStatus` with `Last`, `Next`
and `LastUpdated` as recorded before this run, so `Next` is this occurrence, and `IsPastDue`
when occurrences were missed because the clock jumped past more than one).
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import datetime
from typing import cast

from croniter import croniter

from devhost.app.config import ConfigError
from devhost.app.loader import TimerFunction
from devhost.durable.clock import to_wire

log = logging.getLogger("devhost")
SETTING = re.compile(r"^%([A-Za-z0-9_]+)%$")


def resolve(function_name: str, schedule: str) -> str:
    """The six-field expression, from the binding or the `%SETTING%` it names."""
    expression = schedule.strip()
    setting = SETTING.match(expression)
    if setting:
        expression = os.environ.get(setting.group(1), "").strip()
        if not expression:
            raise ConfigError(
                f"timer trigger {function_name}: the app setting {setting.group(1)} is not set"
            )
    fields = expression.split()
    if len(fields) != 6 or not croniter.is_valid(expression, second_at_beginning=True):
        raise ConfigError(
            f"timer trigger {function_name}: {expression!r} is not a six-field NCRONTAB "
            "expression ({second} {minute} {hour} {day} {month} {day-of-week}), "
            "which is what Azure Functions requires"
        )
    return expression


def next_after(expression: str, moment: datetime) -> datetime:
    """The first occurrence strictly after `moment`."""
    occurrence = croniter(expression, moment, second_at_beginning=True).get_next(datetime)
    return cast(datetime, occurrence)  # croniter ships no type information


class Schedules:
    """When each timer trigger runs next; `take_due` hands out the runs that came due."""

    def __init__(self, functions: list[TimerFunction], start: datetime) -> None:
        self.functions = {f.name: f for f in functions}
        self.expressions = {f.name: resolve(f.name, f.schedule) for f in functions}
        self.upcoming = {name: next_after(e, start) for name, e in self.expressions.items()}
        self.last: dict[str, datetime] = {}
        self.updated = dict.fromkeys(self.functions, start)

    def renewed(self, functions: list[TimerFunction], now: datetime) -> Schedules:
        """The schedules of a reloaded app: a trigger whose expression is unchanged keeps its
        next occurrence and what its TimerInfo records; a new or changed one starts at `now`."""
        fresh = Schedules(functions, now)
        for name, expression in fresh.expressions.items():
            if self.expressions.get(name) == expression:
                fresh.upcoming[name] = self.upcoming[name]
                fresh.updated[name] = self.updated[name]
                if name in self.last:
                    fresh.last[name] = self.last[name]
        return fresh

    def next_due(self) -> datetime | None:
        return min(self.upcoming.values(), default=None)

    def take_due(self, now: datetime) -> list[tuple[TimerFunction, str]]:
        """The (function, TimerInfo JSON) of every trigger due at `now`, schedules moved on."""
        runs = []
        for name, occurrence in self.upcoming.items():
            if occurrence > now:
                continue
            expression = self.expressions[name]
            following = next_after(expression, occurrence)
            past_due = following <= now  # the clock jumped past more than one occurrence
            while following <= now:
                occurrence, following = following, next_after(expression, following)
            info = {
                "Schedule": {"AdjustForDST": True},
                "ScheduleStatus": {
                    "Last": to_wire(self.last.get(name, self.updated[name])),
                    "Next": to_wire(occurrence),
                    "LastUpdated": to_wire(self.updated[name]),
                },
                "IsPastDue": past_due,
            }
            self.last[name], self.updated[name] = occurrence, now
            self.upcoming[name] = following
            runs.append((self.functions[name], json.dumps(info)))
        return runs
