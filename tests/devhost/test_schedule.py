"""Timer triggers on devhost's clock: fired in order when a manual clock is advanced, counted as
work until they end, and never a reason for the auto clock to jump (the schedule kinds, the
monitor and startup runs are in test_timer_triggers.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from devhost.durable.clock import from_wire
from tests.devhost.support import SAMPLER


def test_advancing_the_clock_runs_each_occurrence_in_order_on_host_time(devhost_factory):
    host = devhost_factory(SAMPLER, "--clock", "manual")
    start = from_wire(host.advance(0))
    assert host.http.get("/api/ticks").json() == []
    host.advance(3 * 86400)  # answers once the work the runs caused has run out
    ticks = host.http.get("/api/ticks").json()
    midnights = [
        datetime.combine(start.date() + timedelta(days=n), datetime.min.time(), start.tzinfo)
        for n in (1, 2, 3)
    ]
    assert [from_wire(t["next"]) for t in ticks] == midnights
    assert [t["pastDue"] for t in ticks] == [False, False, False]


def test_the_auto_clock_does_not_jump_for_a_schedule_alone(devhost_factory):
    host = devhost_factory(SAMPLER, "--clock", "auto")
    before = from_wire(host.http.get("/devhost/clock").json()["now"])
    idle = host.http.get("/devhost/idle", params={"timeout": "10"})
    assert idle.status_code == 200 and idle.json()["idle"] is True
    assert from_wire(idle.json()["now"]) - before < timedelta(days=1)
    assert host.http.get("/api/ticks").json() == []
