"""The host clock: real time, or a manual clock that tests move forward on purpose."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

WIRE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def to_wire(moment: datetime) -> str:
    """Format a UTC datetime as the Durable extension writes timestamps."""
    return moment.astimezone(UTC).strftime(WIRE_FORMAT)


def from_wire(text: str) -> datetime:
    """Parse an ISO timestamp (with Z or an offset) into an aware UTC datetime."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class Clock:
    """Wall-clock time for the host."""

    manual = False

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock(Clock):
    """A frozen clock; `advance` is the only thing that moves it."""

    manual = True

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now
