"""Locks that hold: never two holders, however long a holder waits, and a released lock wakes its
next holder at once (on the real clock: within a second), over real HTTP through devhost.

The lock view (`GET /api/locks/{resource}`) is what support reads; the hand-over times come from
what the instances recorded: their outputs' timestamps and their histories.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from orchestrators.maintenance import AIRCRAFT_LOCK
from tests.e2e.conftest import App
from tests.e2e.portal import effects, output_of
from tests.e2e.test_claims import claim, file_claim
from tests.e2e.test_maintenance import act, awaiting_approval, order, path
from tests.e2e.test_maintenance import start as start_order
from tests.e2e.test_shipments import booked, shipment

API = "/runtime/webhooks/durabletask"
DAY = 86400
ONE_SECOND = timedelta(seconds=1)


@pytest.fixture(scope="module")
def live(start_app) -> App:
    """The app on the real clock: nothing moves unless the workflows move it."""
    return start_app("--clock", "real")


def lock(app: App, tail: str) -> dict:
    return app.view(f"/api/locks/aircraft:{tail}")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def history(app: App, instance_id: str) -> list[dict]:
    response = app.http.get(
        f"{API}/instances/{instance_id}",
        params={"showHistory": "true", "showHistoryOutput": "true"},
    )
    assert response.status_code in (200, 202), response.text  # 202 while it runs
    return response.json()["historyEvents"]


def left_waiting_at(app: App, instance_id: str) -> datetime:
    """When the instance, woken by LockGranted, published its next stage (the stage activity
    it scheduled right after the lock answered)."""
    events = history(app, instance_id)
    woken = next(i for i, e in enumerate(events) if e.get("Name") == "LockGranted")
    stage = next(e for e in events[woken:] if e.get("FunctionName") == "record_stage")
    return at(stage["ScheduledTime"])


def ended_at(app: App, instance_id: str) -> datetime:
    [done] = [e for e in history(app, instance_id) if e["EventType"] == "ExecutionCompleted"]
    return at(done["Timestamp"])


def released_at(app: App, instance_id: str) -> datetime:
    """When the holder's release step woke the next holder (its lock_notify_holder activity)."""
    events = history(app, instance_id)
    [notice] = [e for e in events if e.get("FunctionName") == "lock_notify_holder"]
    assert notice["Result"] is True
    return at(notice["ScheduledTime"])


# -- the real clock: a released lock is used at once -------------------------------------------


def test_a_second_claim_on_a_policy_starts_within_a_second_of_the_first_ending(live: App):
    first = file_claim(live, claim("CLM-LIVE-1", "POL-LIVE", amount=4000))
    live.wait_stage(first, "awaiting_decision")
    second = file_claim(live, claim("CLM-LIVE-2", "POL-LIVE"))
    live.wait_stage(second, "waiting_for_policy")

    decided = live.http.post(f"{first}/decision", json={"decision": "approve", "actor": "grace"})
    assert decided.status_code == 202, decided.text
    assert live.wait_done(first)["output"]["outcome"] == "approved"
    assert live.wait_done(second)["output"]["outcome"] == "approved"

    left = left_waiting_at(live, "claim-CLM-LIVE-2")
    assert released_at(live, "claim-CLM-LIVE-1") <= left  # never before the first let go
    assert left - ended_at(live, "claim-CLM-LIVE-1") <= ONE_SECOND


def test_a_second_order_on_an_aircraft_starts_within_a_second_of_the_first_ending(live: App):
    assert start_order(live, order("MO-LIVE-1", "D-LIVE")).status_code == 202
    live.wait_stage(path("MO-LIVE-1"), "awaiting_return_to_service")
    assert start_order(live, order("MO-LIVE-2", "D-LIVE")).status_code == 202
    live.wait_stage(path("MO-LIVE-2"), "waiting_for_aircraft")

    approval = {"approved": True, "actor": "inspector"}
    assert act(live, "MO-LIVE-1", "approval", approval).status_code == 202
    first = output_of(live, path("MO-LIVE-1"))
    live.wait_stage(path("MO-LIVE-2"), "awaiting_return_to_service")

    left = left_waiting_at(live, "maintenance-MO-LIVE-2")
    assert released_at(live, "maintenance-MO-LIVE-1") <= left
    assert left - ended_at(live, "maintenance-MO-LIVE-1") <= ONE_SECOND
    assert at(first["timestamps"]["completedAt"]) <= left
    assert lock(live, "D-LIVE")["holder"] == "maintenance-MO-LIVE-2"


# -- the manual clock: a holder keeps its lock however long it waits ---------------------------


def queue_behind(app: App, holder: str, tail: str, days: int, every: int) -> None:
    """Let `days` pass while a new order queues for `tail` every `every` days and gives up 14
    days later, checking after each move of the clock that `holder` alone holds the aircraft.

    The clock crosses every timer in order, so each waiter polls as it would in production;
    whenever the holder's lease has lapsed, a waiter checks that it still runs and renews it."""
    for start in range(0, days, every):
        waiter = f"{holder}-W{start}"
        assert start_order(app, order(waiter, tail)).status_code == 202
        app.wait_stage(path(waiter), "waiting_for_aircraft")
        now = at(app.host.advance(days=13))
        view = lock(app, tail)
        assert (view["holder"], view["queue"]) == (
            f"maintenance-{holder}",
            [f"maintenance-{waiter}"],
        )
        # Renewed by a waiter's check no longer ago than one poll: the lease is watched.
        assert at(view["leaseExpiresAt"]) >= now - AIRCRAFT_LOCK.max_poll, f"day {start + 13}"
        app.host.advance(days=every - 13)
        assert output_of(app, path(waiter))["outcome"] == "aircraft_unavailable"
        view = lock(app, tail)
        assert (view["holder"], view["queue"]) == (f"maintenance-{holder}", []), f"day {start}"
        assert app.view(path(holder))["stage"] == "awaiting_return_to_service"
        assert effects(app, f"maintenance-{waiter}") == []  # it never got the aircraft


def terminate(app: App, order_id: str) -> None:
    response = app.http.post(
        f"{API}/instances/maintenance-{order_id}/terminate", params={"reason": "test"}
    )
    assert response.status_code == 202, response.text
    app.wait(path(order_id), lambda v: v["runtimeStatus"] == "Terminated", "terminated")


def queue_one(app: App, order_id: str, tail: str) -> None:
    assert start_order(app, order(order_id, tail)).status_code == 202
    app.wait_stage(path(order_id), "waiting_for_aircraft")


@pytest.mark.parametrize("days", [30, 60])
def test_a_holder_keeps_its_aircraft_however_long_it_waits(app: App, days: int):
    """The fault probe's case: the holder waits for its return-to-service approval (reminded,
    then waiting quietly) while orders keep queueing for the same aircraft."""
    holder, tail = f"MO-L{days}", f"D-L{days}"
    assert start_order(app, order(holder, tail)).status_code == 202
    awaiting_approval(app, holder)
    queue_behind(app, holder, tail, days, every=30)

    queue_one(app, f"{holder}-NEXT", tail)
    assert act(app, holder, "approval", {"approved": True, "actor": "qa"}).status_code == 202
    assert output_of(app, path(holder))["outcome"] == "returned_to_service"
    # The waiter gets the aircraft at once: no clock movement needed.
    app.wait_stage(path(f"{holder}-NEXT"), "awaiting_return_to_service")
    assert lock(app, tail)["holder"] == f"maintenance-{holder}-NEXT"


def test_a_suspended_holder_keeps_its_aircraft_for_400_days(app: App):
    """A holder that cannot renew anything (suspended by support) still runs, so it keeps the
    lock; once support terminates it, the waiter gets the aircraft at its next check."""
    holder, tail = "MO-L400", "D-L400"
    assert start_order(app, order(holder, tail)).status_code == 202
    awaiting_approval(app, holder)
    suspended = app.http.post(f"{API}/instances/maintenance-{holder}/suspend")
    assert suspended.status_code == 202, suspended.text
    app.wait(path(holder), lambda v: v["runtimeStatus"] == "Suspended", "suspended")
    queue_behind(app, holder, tail, 400, every=100)

    queue_one(app, f"{holder}-NEXT", tail)
    terminate(app, holder)
    app.host.advance(seconds=(AIRCRAFT_LOCK.lease + AIRCRAFT_LOCK.max_poll).total_seconds())
    awaiting_approval(app, f"{holder}-NEXT")
    view = lock(app, tail)
    assert (view["holder"], view["queue"]) == (f"maintenance-{holder}-NEXT", [])


def hold_with_two_waiting(app: App, prefix: str, tail: str) -> None:
    """`{prefix}-HOLD` holds `tail` (awaiting approval); `{prefix}-W1`, `-W2` queue behind it."""
    assert start_order(app, order(f"{prefix}-HOLD", tail)).status_code == 202
    awaiting_approval(app, f"{prefix}-HOLD")
    queue_one(app, f"{prefix}-W1", tail)
    queue_one(app, f"{prefix}-W2", tail)


def test_a_terminated_holder_hands_the_aircraft_on_once_its_lease_is_checked(app: App):
    hold_with_two_waiting(app, "MO-T", "D-TERM")
    terminate(app, "MO-T-HOLD")

    app.advance(seconds=(AIRCRAFT_LOCK.lease - timedelta(minutes=10)).total_seconds())
    assert lock(app, "D-TERM")["holder"] == "maintenance-MO-T-HOLD"  # its lease still runs
    assert app.view(path("MO-T-W1"))["stage"] == "waiting_for_aircraft"
    app.advance(seconds=(AIRCRAFT_LOCK.max_poll + timedelta(minutes=10)).total_seconds())
    awaiting_approval(app, "MO-T-W1")
    view = lock(app, "D-TERM")
    assert (view["holder"], view["queue"]) == ("maintenance-MO-T-W1", ["maintenance-MO-T-W2"])


def test_a_holder_that_no_longer_exists_loses_the_aircraft_when_its_lease_lapses(app: App):
    """A lock left by an instance that is gone (purged, or never an orchestration)."""
    now = app.host.advance(0)
    ghost = {"owner": "maintenance-MO-GONE", "now": now, "leaseSeconds": 3600}
    signal = app.http.post(
        f"{API}/entities/lock/aircraft:D-GHOST", params={"op": "acquire"}, json=ghost
    )
    assert signal.status_code == 202, signal.text
    app.host.wait_until(lambda: lock(app, "D-GHOST")["holder"] == "maintenance-MO-GONE")
    queue_one(app, "MO-G", "D-GHOST")

    app.advance(seconds=1800)  # the lease still runs: nobody asks yet
    assert app.view(path("MO-G"))["stage"] == "waiting_for_aircraft"
    app.advance(seconds=AIRCRAFT_LOCK.max_poll.total_seconds())
    awaiting_approval(app, "MO-G")
    assert lock(app, "D-GHOST")["holder"] == "maintenance-MO-G"


def test_a_terminated_waiter_is_skipped_and_the_next_one_woken_at_once(app: App):
    hold_with_two_waiting(app, "MO-S", "D-SKIP")
    terminate(app, "MO-S-W1")

    assert act(app, "MO-S-HOLD", "approval", {"approved": True, "actor": "qa"}).status_code == 202
    held = output_of(app, path("MO-S-HOLD"))
    app.wait_stage(path("MO-S-W2"), "awaiting_return_to_service")
    assert lock(app, "D-SKIP")["holder"] == "maintenance-MO-S-W2"
    acquired = app.view(path("MO-S-W2"))
    assert acquired["stage"] == "awaiting_return_to_service"
    # Woken by the release at the same clock instant, not by its next poll.
    assert left_waiting_at(app, "maintenance-MO-S-W2") == at(held["timestamps"]["completedAt"])
    assert effects(app, "maintenance-MO-S-W1") == []


# -- no yield in a finally: replays the SDK discards leave no trace ----------------------------


def test_discarded_replays_never_ignore_generator_exit(start_app):
    """A `yield` in a `finally` runs again when the SDK drops a suspended replay, and Python
    logs 'generator ignored GeneratorExit' for it: the lock helpers never do that."""
    fresh = start_app()
    assert start_order(fresh, order("MO-GEN", "D-GEN")).status_code == 202
    awaiting_approval(fresh, "MO-GEN")
    assert act(fresh, "MO-GEN", "approval", {"approved": True, "actor": "qa"}).status_code == 202
    output_of(fresh, path("MO-GEN"))
    shipped = fresh.http.post("/api/shipments", json=shipment(fresh, "SHP-GEN"))
    assert shipped.status_code == 202, shipped.text
    assert booked(fresh, "SHP-GEN")["stage"] == "awaiting_pickup"
    log = fresh.host.log.read_text()
    assert "GeneratorExit" not in log and "Exception ignored" not in log


def test_a_stray_lock_granted_event_grants_nothing(app: App):
    """LockGranted only wakes a waiter: it asks the lock again, and the lock alone decides. So
    a notice sent twice (a retried activity) or to the wrong instance hands nothing over."""
    hold_with_two_waiting(app, "MO-X", "D-STRAY")
    raised = app.http.post(
        f"{API}/instances/maintenance-MO-X-W2/raiseEvent/LockGranted",
        json={"resource": "aircraft:D-STRAY"},
    )
    assert raised.status_code == 202, raised.text
    app.host.idle()
    view = lock(app, "D-STRAY")
    assert (view["holder"], view["queue"]) == (
        "maintenance-MO-X-HOLD",
        ["maintenance-MO-X-W1", "maintenance-MO-X-W2"],
    )
    assert app.view(path("MO-X-W2"))["stage"] == "waiting_for_aircraft"


def test_a_holder_that_lost_its_lock_fails_loudly(app: App):
    """Should the lock be taken from a running holder (here support withdraws it by hand), the
    holder does not finish as if it had held it all along: it fails, naming the lock."""
    assert start_order(app, order("MO-LOST", "D-LOST")).status_code == 202
    awaiting_approval(app, "MO-LOST")
    now = app.host.advance(0)
    taken = app.http.post(
        f"{API}/entities/lock/aircraft:D-LOST",
        params={"op": "withdraw"},
        json={"owner": "maintenance-MO-LOST", "now": now},
    )
    assert taken.status_code == 202, taken.text
    app.host.idle()
    assert lock(app, "D-LOST")["holder"] is None

    assert act(app, "MO-LOST", "approval", {"approved": True, "actor": "qa"}).status_code == 202
    failed = app.host.wait_for("maintenance-MO-LOST")
    assert failed["runtimeStatus"] == "Failed"
    assert "did not hold lock aircraft:D-LOST" in json.dumps(failed["output"])
