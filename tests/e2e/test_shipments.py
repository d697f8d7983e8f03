"""Shipments end to end: quotes from 18 simulated carriers, booking, pickup, delivery, and every
way a shipment can go wrong, over real HTTP through devhost with a manual clock.

The simulator prices FASTFREIGHT lowest and ROADRUNNER next; GHOSTLINE and DEADHEAD never
quote, so each shipment crosses their retry timers before it books.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.portal import Portal, principal

GRACE_MINUTES = 30


@pytest.fixture(scope="module")
def shipments(devhost_factory, tmp_path_factory) -> Portal:
    state = tmp_path_factory.mktemp("shipments") / "simulator.sqlite"
    env = {"SIMULATOR_STATE_PATH": str(state), "PICKUP_GRACE_MINUTES": str(GRACE_MINUTES)}
    host = devhost_factory(ROOT, "--clock", "manual", env=env)
    return Portal(host, "shipments", state)


def shipment(portal: Portal, shipment_id: str, **overrides) -> dict:
    """A valid request whose pickup window opens in an hour and lasts four hours."""
    now = portal.now()
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


def booked(portal: Portal, shipment_id: str) -> dict:
    """Advance the clock through the carriers' retries until the shipment awaits pickup."""
    return portal.advance_until(
        shipment_id, lambda view: view["stage"] in ("awaiting_pickup", "completed"), step=10
    )


def test_happy_path_books_the_cheapest_carrier_then_pickup_and_delivery(shipments: Portal):
    response = shipments.start(shipment(shipments, "SHP-HAPPY"))
    assert response.status_code == 202, response.text
    started = response.json()
    assert started["id"] == "shipment-SHP-HAPPY"
    assert started["workflow"] == "shipment"
    assert started["statusUrl"].endswith("/api/shipments/SHP-HAPPY")
    assert response.headers["Location"] == started["statusUrl"]

    view = booked(shipments, "SHP-HAPPY")
    assert view["stage"] == "awaiting_pickup"
    assert set(view["waitingFor"]) == {"PickupConfirmed", "Cancel"}
    assert shipments.act("SHP-HAPPY", "delivery").status_code == 409  # not in transit yet

    picked = shipments.act("SHP-HAPPY", "pickup", {"note": "dock 4"}, headers=principal("ana"))
    assert picked.status_code == 202, picked.text
    view = shipments.wait_stage("SHP-HAPPY", "in_transit")
    assert set(view["waitingFor"]) == {"Delivered", "Cancel"}
    assert shipments.act("SHP-HAPPY", "pickup").status_code == 409  # already picked up

    delivered = shipments.act("SHP-HAPPY", "delivery", {"receivedBy": "Dock B", "actor": "bo"})
    assert delivered.status_code == 202, delivered.text
    output = shipments.finished("SHP-HAPPY")

    assert output["outcome"] == "delivered"
    assert output["carrier"] == "FASTFREIGHT"
    assert output["price"] > 0 and output["currency"] == "EUR"
    assert output["pickupConfirmedBy"] == {"name": "ana", "source": "principal"}
    assert output["deliveryConfirmedBy"] == {"name": "bo", "source": "body"}
    stamps = output["timestamps"]
    assert stamps["requestedAt"] <= stamps["bookedAt"] <= stamps["pickedUpAt"]
    assert stamps["pickedUpAt"] <= stamps["deliveredAt"]
    no_quote = {a["carrier"] for a in output["attempts"] if a["result"] == "no_quote"}
    assert no_quote == {"GHOSTLINE", "DEADHEAD"}

    bookings = shipments.ledger("shipment-SHP-HAPPY", "booking")
    assert [(b["carrier"], b["reference"]) for b in bookings] == [
        ("FASTFREIGHT", output["bookingId"])
    ]
    assert shipments.ledger("shipment-SHP-HAPPY", "booking_cancellation") == []
    assert shipments.view("SHP-HAPPY")["stage"] == "completed"
    assert shipments.act("SHP-HAPPY", "cancel").status_code == 409  # finished


def test_a_second_start_for_the_same_shipment_is_a_conflict(shipments: Portal):
    body = shipment(shipments, "SHP-TWICE")
    assert shipments.start(body).status_code == 202
    again = shipments.start(body)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["statusUrl"].endswith("/api/shipments/SHP-TWICE")


def test_bad_input_names_every_field_and_starts_nothing(shipments: Portal):
    body = shipment(shipments, "SHP-BAD", pallets=0, weightKg=-1, carriers=[])
    body["pickupWindow"] = {"start": body["pickupWindow"]["end"], "end": "not a time"}
    response = shipments.start(body)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"pallets", "weightKg", "carriers", "pickupWindow.end"}
    assert shipments.http.get("/api/shipments/SHP-BAD").status_code == 404
    assert shipments.start({"shipmentId": "x y"}).status_code == 400
    not_json = shipments.http.post("/api/shipments", content=b"{", headers={})
    assert not_json.status_code == 400


def test_actions_on_unknown_shipments_or_with_bad_bodies(shipments: Portal):
    assert shipments.act("SHP-NOPE", "pickup").status_code == 404
    assert shipments.http.get("/api/shipments/SHP-NOPE").status_code == 404
    assert shipments.start(shipment(shipments, "SHP-BODY")).status_code == 202
    booked(shipments, "SHP-BODY")
    bad = shipments.act("SHP-BODY", "pickup", {"note": 7, "extra": True})
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"note", "extra"}


def test_a_pickup_not_confirmed_in_12_minutes_is_escalated_once(shipments: Portal):
    assert shipments.start(shipment(shipments, "SHP-LATE")).status_code == 202
    booked(shipments, "SHP-LATE")
    shipments.host.advance(11 * 60)
    shipments.wait_stage("SHP-LATE", "awaiting_pickup")
    assert shipments.messages("shipment-SHP-LATE", "shipment_pickup_overdue") == []

    shipments.host.advance(2 * 60)
    shipments.host.wait_until(
        lambda: shipments.messages("shipment-SHP-LATE", "shipment_pickup_overdue"),
        message="the pickup escalation",
    )
    shipments.host.advance(30 * 60)
    assert shipments.act("SHP-LATE", "pickup").status_code == 202
    shipments.wait_stage("SHP-LATE", "in_transit")
    assert len(shipments.messages("shipment-SHP-LATE", "shipment_pickup_overdue")) == 1


def test_no_pickup_by_the_end_of_the_window_plus_grace_cancels_the_booking(shipments: Portal):
    assert shipments.start(shipment(shipments, "SHP-MISSED")).status_code == 202
    booked(shipments, "SHP-MISSED")
    shipments.host.advance(5 * 3600)  # window end is still GRACE_MINUTES away from the deadline
    shipments.wait_stage("SHP-MISSED", "awaiting_pickup")
    shipments.host.advance(GRACE_MINUTES * 60 + 60)
    output = shipments.finished("SHP-MISSED")

    assert output["outcome"] == "missed_pickup"
    [cancellation] = shipments.ledger("shipment-SHP-MISSED", "booking_cancellation")
    assert cancellation["reference"] == output["bookingId"]
    assert shipments.messages("shipment-SHP-MISSED", "shipment_missed_pickup")
    assert shipments.act("SHP-MISSED", "pickup").status_code == 409


def test_cancel_while_awaiting_pickup_cancels_the_booking(shipments: Portal):
    assert shipments.start(shipment(shipments, "SHP-CANCEL")).status_code == 202
    booked(shipments, "SHP-CANCEL")
    response = shipments.act(
        "SHP-CANCEL", "cancel", {"reason": "customer withdrew"}, headers=principal("dispatch")
    )
    assert response.status_code == 202, response.text
    output = shipments.finished("SHP-CANCEL")

    assert output["outcome"] == "cancelled"
    assert output["cancelledBy"] == {"name": "dispatch", "source": "principal"}
    assert output["cancelReason"] == "customer withdrew"
    [cancellation] = shipments.ledger("shipment-SHP-CANCEL", "booking_cancellation")
    assert cancellation["reference"] == output["bookingId"]


def test_cancel_while_quoting_books_nothing(shipments: Portal):
    assert shipments.start(shipment(shipments, "SHP-EARLY")).status_code == 202
    view = shipments.wait_stage("SHP-EARLY", "quoting")  # the failing carriers' retries wait
    assert view["waitingFor"] == ["Cancel"]
    assert shipments.act("SHP-EARLY", "pickup").status_code == 409
    assert shipments.act("SHP-EARLY", "cancel", {"actor": "ops"}).status_code == 202
    output = shipments.finished("SHP-EARLY")

    assert output["outcome"] == "cancelled"
    assert output["bookingId"] is None
    assert shipments.ledger("shipment-SHP-EARLY") == []  # no reservation, booking or message


def test_no_carrier_able_to_take_the_load_leaves_it_unbooked(shipments: Portal):
    # 40 pallets: more than any simulated carrier's capacity, so no quote is eligible
    assert shipments.start(shipment(shipments, "SHP-HEAVY", pallets=40)).status_code == 202
    shipments.advance_until("SHP-HEAVY", lambda view: view["runtimeStatus"] == "Completed")
    output = shipments.finished("SHP-HEAVY")

    assert output["outcome"] == "unbooked"
    assert output["carrier"] is None and output["bookingId"] is None
    assert len(shipments.messages("shipment-SHP-HEAVY", "shipment_unbooked")) == 1
    assert shipments.ledger("shipment-SHP-HEAVY", "reservation") == []


def test_requested_carriers_narrow_the_quotes(shipments: Portal):
    body = shipment(shipments, "SHP-PICKY", carriers=["ATLAS", "SUMMIT"])
    assert shipments.start(body).status_code == 202
    view = shipments.wait_stage("SHP-PICKY", "awaiting_pickup")  # no failing carrier asked
    assert view["output"] is None
    assert shipments.act("SHP-PICKY", "cancel").status_code == 202
    output = shipments.finished("SHP-PICKY")
    assert output["carrier"] == "ATLAS"
    assert {a["carrier"] for a in output["attempts"]} == {"ATLAS"}


def test_a_failing_booking_is_compensated_and_the_next_carrier_booked_once(
    devhost_factory, tmp_path: Path
):
    """FASTFREIGHT's booking keeps failing: its reservation is cancelled and ROADRUNNER, whose
    first booking call takes effect but loses its answer, is booked exactly once."""
    state = tmp_path / "simulator.sqlite"
    failures = {"carriers.book:FASTFREIGHT": 100, "carriers.book:ROADRUNNER!lost": 1}
    env = {"SIMULATOR_STATE_PATH": str(state), "SIMULATOR_FAILURES": json.dumps(failures)}
    portal = Portal(devhost_factory(ROOT, "--clock", "manual", env=env), "shipments", state)

    assert portal.start(shipment(portal, "SHP-FALLBACK")).status_code == 202
    view = booked(portal, "SHP-FALLBACK")
    assert view["stage"] == "awaiting_pickup"
    assert portal.act("SHP-FALLBACK", "cancel").status_code == 202
    output = portal.finished("SHP-FALLBACK")
    assert output["carrier"] == "ROADRUNNER"

    ledger = portal.ledger("shipment-SHP-FALLBACK")
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
    results = [(a["carrier"], a["step"], a["result"]) for a in output["attempts"]]
    assert ("FASTFREIGHT", "book", "failed") in results
    assert ("ROADRUNNER", "book", "booked") in results
