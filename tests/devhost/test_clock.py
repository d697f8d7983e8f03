"""Host time: the manual clock that tests move, the auto clock that skips idle time, idleness,
and a clock position that survives a restart.

`POST /devhost/clock/advance` answers only once every timer due by the new time has fired, at
its own time and in order, and the work it caused has run out; so a test reads the outcome
straight after advancing, with no polling and no sleeping.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from devhost.durable.clock import from_wire
from tests.devhost.support import (
    DURABLE,
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


def attempt_offsets(events: list[dict]) -> list[timedelta]:
    """When each activity attempt's outcome was recorded, counted from the first one."""
    times = [
        from_wire(e["Timestamp"])
        for e in events
        if e["EventType"] in ("TaskFailed", "TaskCompleted")
    ]
    return [moment - times[0] for moment in times]


def advance(host, seconds: float) -> dict:
    response = host.http.post("/devhost/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text
    return response.json()


def test_advance_moves_the_clock_by_exactly_that_much(host):
    before = from_wire(host.advance(0))

    answer = advance(host, 90.5)

    assert from_wire(answer["now"]) - before == timedelta(seconds=90.5)
    assert answer == {"now": answer["now"], "fired": 0, "idle": True}
    assert host.clock() == {"now": answer["now"], "mode": "manual"}


@pytest.mark.parametrize(
    "body",
    [{"seconds": -1}, {"seconds": "soon"}, {"minutes": 1}, [1], None, {"seconds": 1e300}],
    ids=repr,
)
def test_advance_refuses_nonsense_and_keeps_the_time(host, body):
    before = host.advance(0)

    response = host.http.post("/devhost/clock/advance", json=body)

    assert_error(response, 400)
    assert host.advance(0) == before


@pytest.mark.parametrize("timeout", ["-1", "soon", "99999"])
def test_waits_refuse_a_nonsense_timeout(host, timeout):
    assert_error(host.http.get("/devhost/idle", params={"timeout": timeout}), 400)
    advanced = host.http.post(
        "/devhost/clock/advance", params={"timeout": timeout}, json={"seconds": 1}
    )
    assert_error(advanced, 400)


def test_instances_are_stamped_with_host_time(host):
    now = host.advance(30 * DAY)  # far from the wall clock
    instance_id = start(host, "collect_events", unique("stamp"), 1)
    host.idle()

    body = status(host, instance_id, showHistory="true").json()

    assert body["runtimeStatus"] == "Running"
    assert body["createdTime"] == now[:19] + "Z"
    assert body["historyEvents"][0]["Timestamp"] == now


def test_a_ten_day_timer_fires_slice_by_slice_each_at_its_own_time(host):
    """Longer than maximumShortTimerDuration (6 days), so the SDK waits in 3-day slices; each
    slice fires at its own FireAt even when one advance goes past it."""
    instance_id = start(host, "long_wait", unique("long"))
    host.idle()
    assert timers(host, instance_id) == (1, 0)

    for fired in (1, 2):
        host.advance(3 * DAY + 1)
        assert timers(host, instance_id) == (fired + 1, fired)
        assert status(host, instance_id).json()["runtimeStatus"] == "Running"
    host.advance(4 * DAY)
    body = status(host, instance_id, showHistory="true").json()

    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == 10
    events = body["historyEvents"]
    begun = from_wire(events[0]["Timestamp"])
    fire_times = [from_wire(e["FireAt"]) for e in events if e["EventType"] == "TimerCreated"]
    assert fire_times == [begun + timedelta(days=d) for d in (3, 6, 10)]
    assert kinds(events)[-2:] == ["TimerFired", "ExecutionCompleted"]
    assert from_wire(events[-1]["Timestamp"]) == begun + timedelta(days=10)


def test_advance_runs_the_retries_its_timers_cause_and_counts_them(host):
    """Retry intervals are durable timers: two failures, two one-second retry timers, both due
    within one advance; the answer comes after the third attempt succeeded."""
    instance_id = start(
        host, "flaky_with_retry", unique("retry"), {"key": unique("k"), "failures": 2}
    )
    host.idle()
    assert status(host, instance_id).json()["runtimeStatus"] == "Running"

    answer = advance(host, 10)

    body = status(host, instance_id, showHistory="true").json()
    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == {"result": "succeeded on attempt 3"}
    assert answer["fired"] == 2 and answer["idle"] is True
    assert attempt_offsets(body["historyEvents"]) == [timedelta(seconds=s) for s in (0, 1, 2)]


def test_approval_times_out_after_three_days(host):
    instance_id = start(host, "approval", unique("expire"))
    host.idle()
    assert status(host, instance_id).json()["customStatus"] == {"stage": "awaiting_approval"}

    host.advance(2 * DAY)
    assert status(host, instance_id).json()["runtimeStatus"] == "Running"
    host.advance(DAY + 1)
    body = status(host, instance_id).json()

    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == {"approved": None}
    assert body["customStatus"] == {"stage": "expired"}


def test_approval_event_wins_and_the_cancelled_timer_does_nothing(host):
    instance_id = start(host, "approval", unique("approve"))
    host.idle()

    assert raise_event(host, instance_id, "Approval", {"by": "Ann"}).status_code == 202
    host.idle()
    body = status(host, instance_id, showHistory="true").json()

    assert body["output"] == {"approved": {"by": "Ann"}}
    assert body["customStatus"] == {"stage": "approved"}
    answer = advance(host, 4 * DAY)
    later = status(host, instance_id, showHistory="true").json()
    assert answer["fired"] == 0
    assert later["runtimeStatus"] == "Completed"
    assert later["historyEvents"] == body["historyEvents"]


def test_the_real_clock_cannot_be_moved_but_the_host_still_reports_idle(devhost_factory):
    real = devhost_factory(SAMPLER)
    instance_id = start(real, "hello_sequence", unique("real"), "Ann")

    real.idle()

    assert status(real, instance_id).json()["runtimeStatus"] == "Completed"
    assert real.clock()["mode"] == "real"
    assert_error(real.http.post("/devhost/clock/advance", json={"seconds": 60}), 400)


def test_idle_waits_for_running_activities_and_names_what_runs(devhost_factory, tmp_path):
    gated_host = devhost_factory(DURABLE, clock="manual", env={"DURABLE_DIR": str(tmp_path)})
    (tmp_path / "hold").touch()
    instance_id = start(gated_host, "gated_sequence", unique("gated"), 1)
    gated_host.wait_until(
        lambda: (tmp_path / "calls.log").exists(), message="the activity to start"
    )

    busy = gated_host.http.get("/devhost/idle", params={"timeout": "0.2"})
    stuck = gated_host.http.post(
        "/devhost/clock/advance", params={"timeout": "0.2"}, json={"seconds": 60}
    )
    (tmp_path / "hold").unlink()
    answer = gated_host.http.get("/devhost/idle")

    assert "activities running: gated" in assert_error(busy, 408)["Message"]
    assert "activities running: gated" in assert_error(stuck, 408)["Message"]
    assert answer.status_code == 200
    assert answer.json() == {"idle": True, "now": gated_host.clock()["now"]}
    assert status(gated_host, instance_id).json()["runtimeStatus"] == "Completed"


@pytest.fixture(scope="module")
def auto(devhost_factory):
    return devhost_factory(SAMPLER, clock="auto")


def test_the_auto_clock_skips_ten_idle_days_untouched(auto):
    begun = from_wire(auto.clock()["now"])
    instance_id = start(auto, "long_wait", unique("auto"))

    auto.idle()

    body = status(auto, instance_id, showHistory="true").json()
    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == 10
    assert from_wire(auto.clock()["now"]) >= begun + timedelta(days=10)
    assert auto.clock()["mode"] == "auto"


def test_the_auto_clock_stands_still_while_there_is_work(auto):
    """The retry timers fire one second apart, as the policy says, however long the attempts
    take in wall time; and an approval with nobody to approve expires."""
    retry = start(auto, "flaky_with_retry", unique("retry"), {"key": unique("k"), "failures": 2})
    approval = start(auto, "approval", unique("approval"))

    auto.idle()

    assert attempt_offsets(history(auto, retry)) == [timedelta(seconds=s) for s in (0, 1, 2)]
    assert status(auto, approval).json()["output"] == {"approved": None}


@pytest.mark.parametrize("mode", ["manual", "auto", "real"])
def test_host_time_survives_a_restart_and_never_goes_back(devhost_factory, tmp_path, mode):
    hub = tmp_path / "hub.sqlite"
    first = devhost_factory(SAMPLER, clock="manual", hub=hub)
    instance_id = start(first, "approval", unique("restart"))
    first.idle()
    reached = first.advance(2 * DAY)

    first.stop(kill=True)
    first.args = ["--clock", mode]
    first.start()

    assert from_wire(first.clock()["now"]) >= from_wire(reached)
    with sqlite3.connect(f"file:{hub}?mode=ro", uri=True) as db:
        recorded = db.execute("SELECT mode, host_time FROM clock").fetchall()
    assert recorded[0][0] == mode and from_wire(recorded[0][1]) >= from_wire(reached)
    if mode == "manual":  # the approval's deadline is one day away, not three
        assert status(first, instance_id).json()["runtimeStatus"] == "Running"
        first.advance(DAY + 1)
        assert status(first, instance_id).json()["output"] == {"approved": None}
