"""JSON compared as replay-check compares inputs: equal values, where a moment may be late by
as much as the time its episode saw is uncertain.

Orchestrators put `context.current_utc_datetime` (and moments computed from it) into activity
and entity inputs. A history read from the Durable HTTP API no longer says when each episode
began (devhost/tools/condensed.py), only a window it began in; the rebuilt history starts each
episode at the window's opening, so the code's moments are early by up to the window's width.
`slack` is that width: a recorded moment matches the code's if it is no earlier and at most
`slack` later. With no slack, JSON is compared for equality.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

#: An ISO-8601 date and time with an offset or Z, as `datetime.isoformat()` and .NET write it.
MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)")
ROUNDING = timedelta(microseconds=1)  # timestamps with 7 digits are read to the microsecond


def same_json(code: str | None, recorded: str | None, slack: timedelta = timedelta(0)) -> bool:
    """Whether two JSON texts hold the same value (`slack` as the module says); text that is
    not JSON must match exactly."""
    try:
        left, right = _load(code), _load(recorded)
    except json.JSONDecodeError:
        return code == recorded
    if not slack:
        return bool(left == right)
    return same_value(left, right, slack)


def same_value(code: Any, recorded: Any, slack: timedelta) -> bool:
    if isinstance(code, dict) and isinstance(recorded, dict):
        return code.keys() == recorded.keys() and all(
            same_value(code[key], recorded[key], slack) for key in code
        )
    if isinstance(code, list) and isinstance(recorded, list):
        return len(code) == len(recorded) and all(
            same_value(a, b, slack) for a, b in zip(code, recorded, strict=True)
        )
    if isinstance(code, str) and isinstance(recorded, str) and code != recorded:
        early, late = _moment(code), _moment(recorded)
        if early is None or late is None:
            return False
        return -ROUNDING <= late - early <= slack + ROUNDING
    return bool(code == recorded)


def _moment(text: str) -> datetime | None:
    if not MOMENT.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)
