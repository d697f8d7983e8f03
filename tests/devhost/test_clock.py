"""The manual clock: days of durable waiting crossed in milliseconds, and timestamps from it."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from devhost.clock import from_wire
from tests.devhost.support import (
    SAMPLER,
    assert_error,
    history,
    kinds,
    raise_event,
    start,
    status,
    unique,
)

DAY = 86400


def timers(host, instance_id: str) -> tuple[int, int]:
    seen = kinds(history(host, instance_id))
    return seen.count("TimerCreated"), seen.count("TimerFired")


def test_advance_moves_the_clock_by_exactly_that_much(host):
    before = from_wire(host.advance(0))

    after = from_wire(host.advance(90.5))

    assert after - before == timedelta(seconds=90.5)


@pytest.mark.parametrize(
    "body", [{"seconds": -1}, {"seconds": "soon"}, {"minutes": 1}, [1], None], ids=repr
)
def test_advance_refuses_nonsense_and_keeps_the_time(host, body):
    before = host.advance(0)

    response = host.http.post("/devhost/clock/advance", json=body)

    assert_error(response, 400)
    assert host.advance(0) == before


def test_instances_are_stamped_with_host_time(host):
    now = host.advance(30 * DAY)  # far from the wall clock
    instance_id = start(host, "collect_events", unique("stamp"), 1)
    host.wait_for(instance_id, statuses=("Running",))

    body = status(host, instance_id, showHistory="true").json()

    assert body["createdTime"] == now[:19] + "Z"
    assert body["historyEvents"][0]["Timestamp"] == now


def test_a_ten_day_timer_fires_in_slices_within_milliseconds(host):
    """Longer than maximumShortTimerDuration (6 days), so the SDK waits in 3-day slices."""
    instance_id = start(host, "long_wait", unique("long"))
    host.wait_for(instance_id, statuses=("Running",))
    started = time.monotonic()

    assert timers(host, instance_id) == (1, 0)
    for fired in (1, 2):
        host.advance(3 * DAY + 1)
        host.wait_until(
            lambda n=fired: timers(host, instance_id) == (n + 1, n), message=f"slice {fired}"
        )
        assert status(host, instance_id).json()["runtimeStatus"] == "Running"
    host.advance(4 * DAY)
    body = host.wait_for(instance_id, showHistory="true")

    assert time.monotonic() - started < 5
    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == 10
    events = body["historyEvents"]
    begun = from_wire(events[0]["Timestamp"])
    fire_times = [from_wire(e["FireAt"]) for e in events if e["EventType"] == "TimerCreated"]
    assert fire_times == [
        begun + timedelta(days=3),
        begun + timedelta(days=6, seconds=1),
        begun + timedelta(days=10),
    ]
    assert kinds(events)[-2:] == ["TimerFired", "ExecutionCompleted"]


def test_approval_times_out_after_three_days(host):
    instance_id = start(host, "approval", unique("expire"))
    host.wait_for(instance_id, statuses=("Running",))
    assert status(host, instance_id).json()["customStatus"] == {"stage": "awaiting_approval"}

    host.advance(2 * DAY)
    time.sleep(0.1)
    assert status(host, instance_id).json()["runtimeStatus"] == "Running"
    host.advance(DAY + 1)
    body = host.wait_for(instance_id)

    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == {"approved": None}
    assert body["customStatus"] == {"stage": "expired"}


def test_approval_event_wins_and_the_cancelled_timer_does_nothing(host):
    instance_id = start(host, "approval", unique("approve"))
    host.wait_for(instance_id, statuses=("Running",))

    assert raise_event(host, instance_id, "Approval", {"by": "Ann"}).status_code == 202
    body = host.wait_for(instance_id, showHistory="true")

    assert body["output"] == {"approved": {"by": "Ann"}}
    assert body["customStatus"] == {"stage": "approved"}
    length = len(body["historyEvents"])
    host.advance(4 * DAY)
    time.sleep(0.1)
    later = status(host, instance_id, showHistory="true").json()
    assert later["runtimeStatus"] == "Completed"
    assert len(later["historyEvents"]) == length


def test_the_real_clock_cannot_be_moved(devhost_factory):
    real = devhost_factory(SAMPLER)

    assert_error(real.http.post("/devhost/clock/advance", json={"seconds": 60}), 400)
