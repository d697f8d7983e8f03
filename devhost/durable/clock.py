"""The host clock: real time, a manual clock that tests move on purpose, or an auto clock that
jumps to the next timer whenever the host is idle (time-skipping, as Temporal's test server).

Host time never goes backwards: the task hub keeps the last position reached, and a clock
started on that hub resumes from there.
"""

from __future__ import annotations

import functools
import threading
from datetime import UTC, datetime, timedelta

WIRE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
MODES = ("real", "manual", "auto")


@functools.lru_cache(maxsize=64)
def to_wire(moment: datetime) -> str:
    """Format a UTC datetime as the Durable extension writes timestamps (cached: every event
    of a step carries the same moment)."""
    return moment.astimezone(UTC).strftime(WIRE_FORMAT)


def from_wire(text: str) -> datetime:
    """Parse an ISO timestamp (with Z or an offset) into an aware UTC datetime."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def from_epoch(seconds: float) -> datetime:
    """The earliest datetime whose epoch value is not below `seconds` (timers are due at it)."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment if moment.timestamp() >= seconds else moment + timedelta(microseconds=1)


class Clock:
    """Wall-clock time, shifted forward if the hub's clock was already ahead of it."""

    mode = "real"
    manual = False  # True when only the host moves time (manual and auto)
    auto = False

    def __init__(self, resume_from: datetime | None = None) -> None:
        ahead = (resume_from - datetime.now(UTC)) if resume_from else timedelta(0)
        self._offset = max(ahead, timedelta(0))

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


class ManualClock(Clock):
    """A frozen clock; only `move_to` (advance, or the auto jump) moves it, never backwards."""

    mode = "manual"
    manual = True

    def __init__(self, resume_from: datetime | None = None) -> None:
        self._now = resume_from or datetime.now(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def move_to(self, moment: datetime) -> datetime:
        with self._lock:
            self._now = max(self._now, moment)
            return self._now


class AutoClock(ManualClock):
    """A manual clock the engine moves to the earliest pending timer once nothing else runs."""

    mode = "auto"
    auto = True


def make_clock(mode: str, resume_from: datetime | None = None) -> Clock:
    """The clock for `--clock mode`, resuming from the position the task hub last recorded."""
    kinds = {"real": Clock, "manual": ManualClock, "auto": AutoClock}
    return kinds[mode](resume_from)
