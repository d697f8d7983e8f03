"""Shipments end to end: quotes from 18 simulated carriers, booking, pickup, delivery, and every
way a shipment can go wrong, over real HTTP through devhost with a manual clock.

The simulator prices FASTFREIGHT lowest and ROADRUNNER next; GHOSTLINE and DEADHEAD never
quote, so each shipment crosses their retry timers before it books.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import httpx
import pytest

from tests.e2e.conftest import App, assert_problem, local, principal, signed
from tests.e2e.portal import RETRIES_RUN_OUT, effects, failed_attempts, messages, output_of

GRACE_MINUTES = 30


@pytest.fixture(scope="module")
def shipments(start_app) -> App:
    return start_app(PICKUP_GRACE_MINUTES=str(GRACE_MINUTES))


def path(shipment_id: str) -> str:
    return f"/api/shipments/{shipment_id}"


def start(app: App, body: dict) -> httpx.Response:
    return app.http.post("/api/shipments", json=body)


def act(app: App, shipment_id: str, action: str, body: dict | None = None, **kw) -> httpx.Response:
    """A dispatcher's action; by default named in the body, as local use allows."""
    body = {"actor": "dispatch"} if body is None else body
    return app.http.post(f"{path(shipment_id)}/{action}", json=body, **kw)


def shipment(app: App, shipment_id: str, **overrides) -> dict:
    """A valid request whose pickup window opens in an hour (host time) and lasts four hours."""
    now = datetime.fromisoformat(app.host.clock()["now"])
    return {
        "shipmentId": shipment_id,
        "origin": {"postalCode": "10115", "country": "DE"},
        "destination": {"postalCode": "75001", "country": "FR"},
        "pickupWindow": {
            "start": (now + timedelta(hours=1)).isoformat(),
            "end": (now + timedelta(hours=5)).isoformat(),
        },
        "pallets": 4,
        "weightKg": 1800,
        **overrides,
    }


def booked(app: App, shipment_id: str) -> dict:
    """Let the failing carriers' retries run out (their intervals are durable timers): the
    shipment is booked and awaits pickup."""
    app.advance(seconds=RETRIES_RUN_OUT)
    return app.wait_stage(path(shipment_id), "awaiting_pickup")


def test_happy_path_books_the_cheapest_carrier_then_pickup_and_delivery(shipments: App):
    response = start(shipments, shipment(shipments, "SHP-HAPPY"))
    assert response.status_code == 202, response.text
    started = response.json()
    assert (started["instanceId"], started["businessId"]) == ("shipment-SHP-HAPPY", "SHP-HAPPY")
    assert started["workflow"] == "shipment"
    assert started["statusUrl"].endswith("/api/shipments/SHP-HAPPY")
    assert response.headers["Location"] == started["statusUrl"]

    view = booked(shipments, "SHP-HAPPY")
    assert view["stage"] == "awaiting_pickup"
    assert set(view["waitingFor"]) == {"PickupConfirmed", "Cancel"}
    assert act(shipments, "SHP-HAPPY", "delivery").status_code == 409  # not in transit yet

    ana = principal("ana", "Shipments.Dispatcher")
    picked = act(shipments, "SHP-HAPPY", "pickup", {"note": "dock 4"}, headers=ana)
    assert picked.status_code == 202, picked.text
    assert picked.json()["applied"] is True
    view = shipments.wait_stage(path("SHP-HAPPY"), "in_transit")
    assert set(view["waitingFor"]) == {"Delivered", "Cancel"}
    # While it runs, the status view shows who confirmed the pickup, and when.
    [pickup] = view["actions"]
    assert pickup["event"] == "PickupConfirmed" and pickup["at"] >= view["createdTime"][:19]
    assert (pickup["by"], pickup["actionId"]) == (
        signed("ana", "Shipments.Dispatcher"),
        picked.json()["actionId"],
    )
    assert act(shipments, "SHP-HAPPY", "pickup").status_code == 409  # already picked up

    delivered = act(shipments, "SHP-HAPPY", "delivery", {"receivedBy": "Dock B", "actor": "bo"})
    assert delivered.status_code == 202, delivered.text
    output = output_of(shipments, path("SHP-HAPPY"))

    assert output["outcome"] == "delivered"
    assert output["carrier"] == "FASTFREIGHT"
    assert output["price"] > 0 and output["currency"] == "EUR"
    assert output["pickupConfirmedBy"] == signed("ana", "Shipments.Dispatcher")
    assert output["deliveryConfirmedBy"] == local("bo")
    assert [a["event"] for a in output["actions"]] == ["PickupConfirmed", "Delivered"]
    stamps = output["timestamps"]
    assert stamps["requestedAt"] <= stamps["bookedAt"] <= stamps["pickedUpAt"]
    assert stamps["pickedUpAt"] <= stamps["deliveredAt"]
    no_quote = {a["carrier"] for a in output["attempts"] if a["result"] == "no_quote"}
    assert no_quote == {"GHOSTLINE", "DEADHEAD"}

    bookings = effects(shipments, "shipment-SHP-HAPPY", "booking")
    assert [(b["carrier"], b["reference"]) for b in bookings] == [
        ("FASTFREIGHT", output["bookingId"])
    ]
    assert effects(shipments, "shipment-SHP-HAPPY", "booking_cancellation") == []
    assert shipments.view(path("SHP-HAPPY"))["stage"] == "completed"
    assert act(shipments, "SHP-HAPPY", "cancel").status_code == 409  # finished


def test_a_second_start_for_the_same_shipment_is_a_conflict(shipments: App):
    body = shipment(shipments, "SHP-TWICE")
    assert start(shipments, body).status_code == 202
    problem = assert_problem(start(shipments, body), 409)
    assert problem["statusUrl"].endswith("/api/shipments/SHP-TWICE")


def test_bad_input_names_every_field_and_starts_nothing(shipments: App):
    body = shipment(shipments, "SHP-BAD", pallets=0, weightKg=-1, carriers=[])
    body["pickupWindow"] = {"start": body["pickupWindow"]["end"], "end": "not a time"}
    problem = assert_problem(start(shipments, body), 400)
    fields = {error["field"] for error in problem["errors"]}
    assert fields == {"pallets", "weightKg", "carriers", "pickupWindow.end"}
    assert shipments.http.get("/api/shipments/SHP-BAD").status_code == 404
    assert_problem(start(shipments, {"shipmentId": "x y"}), 400, "shipmentId", "origin")
    broken = shipments.http.post(
        "/api/shipments", content=b"{", headers={"content-type": "application/json"}
    )
    assert_problem(broken, 400, "body")


def test_actions_on_unknown_shipments_or_with_bad_bodies(shipments: App):
    assert act(shipments, "SHP-NOPE", "pickup").status_code == 404
    assert shipments.http.get("/api/shipments/SHP-NOPE").status_code == 404
    assert start(shipments, shipment(shipments, "SHP-BODY")).status_code == 202
    booked(shipments, "SHP-BODY")
    bad = act(shipments, "SHP-BODY", "pickup", {"note": 7, "extra": True})
    assert_problem(bad, 400, "note", "extra")
    assert_problem(act(shipments, "SHP-BODY", "delivery"), 409)


def test_late_pickup_and_late_delivery_are_each_escalated_once(shipments: App):
    """Pickup: 12 minutes after booking. Delivery: when the quoted transit time has passed."""
    assert start(shipments, shipment(shipments, "SHP-LATE")).status_code == 202
    booked(shipments, "SHP-LATE")
    shipments.advance(seconds=11 * 60)
    shipments.wait_stage(path("SHP-LATE"), "awaiting_pickup")
    assert messages(shipments, "shipment-SHP-LATE", "shipment_pickup_overdue") == []

    shipments.advance(seconds=2 * 60)
    assert len(messages(shipments, "shipment-SHP-LATE", "shipment_pickup_overdue")) == 1
    shipments.advance(seconds=30 * 60)
    assert act(shipments, "SHP-LATE", "pickup").status_code == 202
    shipments.wait_stage(path("SHP-LATE"), "in_transit")
    assert len(messages(shipments, "shipment-SHP-LATE", "shipment_pickup_overdue")) == 1

    shipments.advance(days=2, seconds=-60)  # FASTFREIGHT quotes two days in transit
    shipments.wait_stage(path("SHP-LATE"), "in_transit")
    assert messages(shipments, "shipment-SHP-LATE", "shipment_delivery_overdue") == []
    shipments.advance(seconds=120)
    assert len(messages(shipments, "shipment-SHP-LATE", "shipment_delivery_overdue")) == 1
    assert act(shipments, "SHP-LATE", "delivery").status_code == 202
    output = output_of(shipments, path("SHP-LATE"))
    assert output["outcome"] == "delivered"
    assert output["escalations"] == ["shipment_pickup_overdue", "shipment_delivery_overdue"]


def test_no_pickup_by_the_end_of_the_window_plus_grace_cancels_the_booking(shipments: App):
    assert start(shipments, shipment(shipments, "SHP-MISSED")).status_code == 202
    booked(shipments, "SHP-MISSED")
    shipments.advance(seconds=5 * 3600)  # window end is still GRACE_MINUTES away from the deadline
    shipments.wait_stage(path("SHP-MISSED"), "awaiting_pickup")
    shipments.advance(seconds=GRACE_MINUTES * 60 + 60)
    output = output_of(shipments, path("SHP-MISSED"))

    assert output["outcome"] == "missed_pickup"
    [cancellation] = effects(shipments, "shipment-SHP-MISSED", "booking_cancellation")
    assert cancellation["reference"] == output["bookingId"]
    assert messages(shipments, "shipment-SHP-MISSED", "shipment_missed_pickup")
    assert act(shipments, "SHP-MISSED", "pickup").status_code == 409


def test_cancel_while_awaiting_pickup_cancels_the_booking(shipments: App):
    assert start(shipments, shipment(shipments, "SHP-CANCEL")).status_code == 202
    booked(shipments, "SHP-CANCEL")
    response = act(
        shipments,
        "SHP-CANCEL",
        "cancel",
        {"reason": "customer withdrew"},
        headers=principal("dispatch", "Shipments.Dispatcher"),
    )
    assert response.status_code == 202, response.text
    output = output_of(shipments, path("SHP-CANCEL"))

    assert output["outcome"] == "cancelled"
    assert output["cancelledBy"] == signed("dispatch", "Shipments.Dispatcher")
    assert output["cancelReason"] == "customer withdrew"
    [cancellation] = effects(shipments, "shipment-SHP-CANCEL", "booking_cancellation")
    assert cancellation["reference"] == output["bookingId"]


def test_cancel_while_quoting_books_nothing(shipments: App):
    assert start(shipments, shipment(shipments, "SHP-EARLY")).status_code == 202
    view = shipments.wait_stage(path("SHP-EARLY"), "quoting")  # the failing carriers' retries wait
    assert view["waitingFor"] == ["Cancel"]
    assert act(shipments, "SHP-EARLY", "pickup").status_code == 409
    assert act(shipments, "SHP-EARLY", "cancel", {"actor": "ops"}).status_code == 202
    output = output_of(shipments, path("SHP-EARLY"))

    assert output["outcome"] == "cancelled"
    assert output["bookingId"] is None
    assert effects(shipments, "shipment-SHP-EARLY") == []  # no reservation, booking or message


def test_no_carrier_able_to_take_the_load_leaves_it_unbooked(shipments: App):
    # 40 pallets: more than any simulated carrier's capacity, so no quote is eligible
    assert start(shipments, shipment(shipments, "SHP-HEAVY", pallets=40)).status_code == 202
    shipments.advance(seconds=RETRIES_RUN_OUT)
    output = output_of(shipments, path("SHP-HEAVY"))

    assert output["outcome"] == "unbooked"
    assert output["carrier"] is None and output["bookingId"] is None
    assert len(messages(shipments, "shipment-SHP-HEAVY", "shipment_unbooked")) == 1
    assert effects(shipments, "shipment-SHP-HEAVY", "reservation") == []


def test_requested_carriers_narrow_the_quotes(shipments: App):
    body = shipment(shipments, "SHP-PICKY", carriers=["ATLAS", "SUMMIT"])
    assert start(shipments, body).status_code == 202
    view = shipments.wait_stage(path("SHP-PICKY"), "awaiting_pickup")  # no failing carrier asked
    assert view["output"] is None
    assert act(shipments, "SHP-PICKY", "cancel").status_code == 202
    output = output_of(shipments, path("SHP-PICKY"))
    assert output["carrier"] == "ATLAS"
    assert {a["carrier"] for a in output["attempts"]} == {"ATLAS"}


def test_a_failing_booking_is_compensated_and_the_next_carrier_booked_once(start_app):
    """FASTFREIGHT's booking keeps failing: its reservation is cancelled and ROADRUNNER, whose
    first booking call takes effect but loses its answer, is booked exactly once."""
    failures = {"carriers.book:FASTFREIGHT": 100, "carriers.book:ROADRUNNER!lost": 1}
    app = start_app(SIMULATOR_FAILURES=json.dumps(failures))

    assert start(app, shipment(app, "SHP-FALLBACK")).status_code == 202
    assert booked(app, "SHP-FALLBACK")["stage"] == "awaiting_pickup"
    assert act(app, "SHP-FALLBACK", "cancel").status_code == 202
    output = output_of(app, path("SHP-FALLBACK"))
    assert output["carrier"] == "ROADRUNNER"

    ledger = effects(app, "shipment-SHP-FALLBACK")
    [first, second] = [row for row in ledger if row["kind"] == "reservation"]
    assert (first["carrier"], second["carrier"]) == ("FASTFREIGHT", "ROADRUNNER")
    released = [row for row in ledger if row["kind"] == "reservation_cancellation"]
    assert [row["reference"] for row in released] == [first["reference"]]
    bookings = [row for row in ledger if row["kind"] == "booking"]
    assert [(b["carrier"], b["reference"]) for b in bookings] == [
        ("ROADRUNNER", output["bookingId"])
    ]
    kinds = [row["kind"] for row in ledger]
    assert kinds.index("reservation_cancellation") < kinds.index("booking")
    # three failed FASTFREIGHT attempts, then ROADRUNNER's lost answer before its retry
    assert failed_attempts(app, "shipment-SHP-FALLBACK", "shipments_book") == 4
    results = [(a["carrier"], a["step"], a["result"]) for a in output["attempts"]]
    assert ("FASTFREIGHT", "book", "failed") in results
    assert ("ROADRUNNER", "book", "booked") in results
