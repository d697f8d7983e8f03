"""What the simulators answer: the behaviours workflow tests rely on, and their determinism."""

from __future__ import annotations

import pytest

from adapters import simulator
from adapters.errors import PartnerError
from adapters.partners import carriers
from adapters.partners.carriers import PROFILES, SimulatedCarriers
from adapters.partners.documents import SimulatedDocuments
from adapters.partners.fraud import SimulatedFraud
from adapters.partners.images import SimulatedImages
from adapters.partners.policies import SimulatedPolicies
from adapters.partners.suppliers import SUPPLIERS, SimulatedSuppliers


def shipment(pallets: int = 4, shipment_id: str = "SHP-1", **extra) -> dict:
    return {
        "shipmentId": shipment_id, "pallets": pallets, "weightKg": 900.0,
        "origin": {"postalCode": "10115", "country": "DE"},
        "destination": {"postalCode": "80331", "country": "DE"},
        "pickupWindow": {"start": "2030-05-04T08:00:00Z", "end": "2030-05-05T18:00:00Z"},
        **extra,
    }  # fmt: skip


def quotes(sim: SimulatedCarriers, cargo: dict) -> dict[str, dict]:
    found = {}
    for code in sim.codes():
        try:
            found[code] = sim.quote(code, cargo)
        except PartnerError as error:
            assert error.retryable
    return found


# documents and images


def test_documents_readable_unless_url_says_unreadable() -> None:
    sim = SimulatedDocuments()
    good = sim.extract({"documentId": "D1", "kind": "invoice", "url": "https://x/d1.pdf"})
    bad = sim.extract({"documentId": "D2", "kind": "photo", "url": "https://x/unreadable.jpg"})
    assert good["readable"] and good["fields"]["currency"] == "EUR"
    assert good == sim.extract({"documentId": "D1", "kind": "invoice", "url": "https://x/d1.pdf"})
    assert (bad["readable"], bad["fields"], bad["kind"]) == (False, {}, "photo")


def test_images_consistent_unless_url_says_inconsistent() -> None:
    sim = SimulatedImages()
    good = sim.review({"documentId": "P1", "url": "https://x/p1.jpg"})
    bad = sim.review({"documentId": "P2", "url": "https://x/inconsistent.jpg"})
    assert good["damageConsistent"] and not bad["damageConsistent"]
    assert 0.7 <= good["confidence"] < 0.99
    assert good == sim.review({"documentId": "P1", "url": "https://x/p1.jpg"})


# policies


def test_default_policy() -> None:
    policy = SimulatedPolicies().lookup("POL-1001")
    assert policy["active"] and policy["coverageLimit"] == 50000.0
    assert policy["deductible"] == 0.0 and "collision" in policy["coveredLossTypes"]
    assert policy["requiredDocuments"] == ["invoice", "photo"]
    assert policy["holderName"] == SimulatedPolicies().lookup("POL-1001")["holderName"]


@pytest.mark.parametrize(
    ("number", "field", "value"),
    [
        ("POL-LAPSED-1", "active", False),
        ("pol-lapsed-2", "active", False),
        ("POL-NOCOVER-1", "coveredLossTypes", []),
        ("POL-NOCOVER-1", "coverageLimit", 0.0),
        ("POL-POLICE-1", "requiredDocuments", ["invoice", "photo", "police_report"]),
        ("POL-LIMIT1000-DED250-7", "coverageLimit", 1000.0),
        ("POL-LIMIT1000-DED250-7", "deductible", 250.0),
    ],
)
def test_policy_numbers_steer_the_simulator(number: str, field: str, value) -> None:
    assert SimulatedPolicies().lookup(number)[field] == value


def test_unknown_policy_is_not_retryable() -> None:
    with pytest.raises(PartnerError) as caught:
        SimulatedPolicies().lookup("POL-UNKNOWN-1")
    assert caught.value.retryable is False


# fraud


def test_fraud_scores_are_low_and_stable() -> None:
    scores = [SimulatedFraud().score({"claimId": f"CLM-{n}"})["score"] for n in range(200)]
    assert all(0 <= score < 0.3 for score in scores)
    assert scores == [SimulatedFraud().score({"claimId": f"CLM-{n}"})["score"] for n in range(200)]


def test_suspicious_description_scores_high() -> None:
    result = SimulatedFraud().score({"claimId": "CLM-1", "description": "A Suspicious fire"})
    assert 0.8 <= result["score"] <= 1 and result["reasons"]


# carriers


def test_eighteen_carriers_and_a_configurable_subset(monkeypatch) -> None:
    assert len(SimulatedCarriers().codes()) == 18 == len(set(PROFILES))
    monkeypatch.setenv("CARRIER_CODES", "ROADRUNNER, fastfreight,NOSUCH")
    assert SimulatedCarriers().codes() == ["FASTFREIGHT", "ROADRUNNER"]


def test_quotes_are_deterministic_and_ordered_by_price() -> None:
    sim = SimulatedCarriers()
    found = quotes(sim, shipment())
    assert found == quotes(sim, shipment())
    assert sorted(found) == sorted(set(PROFILES) - {"GHOSTLINE", "DEADHEAD"})
    by_price = sorted(found, key=lambda code: found[code]["price"])
    assert by_price[:3] == ["FASTFREIGHT", "ROADRUNNER", "BLUELINE"]
    assert by_price == sorted(found, key=lambda code: PROFILES[code].factor)
    first = found["FASTFREIGHT"]
    assert first["pickupDate"] == "2030-05-04" and first["currency"] == "EUR"
    assert found["PRAIRIE"]["pickupDate"] == "2030-05-07"
    assert first["simulated"] is True


def test_prices_follow_the_shipment() -> None:
    sim = SimulatedCarriers()
    small = sim.quote("ATLAS", shipment(2))["price"]
    big = sim.quote("ATLAS", shipment(20))["price"]
    abroad = sim.quote("ATLAS", shipment(2, destination={"postalCode": "1", "country": "FR"}))
    assert small < big and small < abroad["price"]


def test_some_carriers_cannot_take_big_shipments() -> None:
    found = quotes(SimulatedCarriers(), shipment(30))
    too_small = sorted(code for code, quote in found.items() if quote["capacityPallets"] < 30)
    assert "FASTFREIGHT" in too_small and "BLUELINE" not in too_small


def test_failing_carriers_always_fail_retryably() -> None:
    for _ in range(3):
        with pytest.raises(PartnerError) as caught:
            SimulatedCarriers().quote("GHOSTLINE", shipment())
        assert caught.value.retryable


def test_slow_carriers_take_a_configurable_moment(monkeypatch) -> None:
    """The pause is asked of time.sleep and recorded, so the test neither waits nor times it."""
    monkeypatch.setenv("SIMULATOR_SLOW_MS", "40")
    pauses: list[float] = []
    monkeypatch.setattr(carriers.time, "sleep", pauses.append)
    SimulatedCarriers().quote("NORTHSTAR", shipment())
    SimulatedCarriers().quote("BLUELINE", shipment())
    assert pauses == [0.04]  # NORTHSTAR is slow, BLUELINE is not


def test_unknown_carrier_and_bad_window_are_not_retryable() -> None:
    sim = SimulatedCarriers()
    for call in (lambda: sim.quote("NOSUCH", shipment()),
                 lambda: sim.quote("ATLAS", shipment(pickupWindow={}))):  # fmt: skip
        with pytest.raises(PartnerError) as caught:
            call()
        assert caught.value.retryable is False


def test_reserve_book_cancel_story() -> None:
    sim = SimulatedCarriers()
    quote = sim.quote("FASTFREIGHT", shipment())
    reservation = sim.reserve("FASTFREIGHT", quote, "shipment-SHP-1:reserve")["reservationId"]
    booking = sim.book("FASTFREIGHT", reservation, "shipment-SHP-1:book")["bookingId"]
    assert sim.cancel_booking("FASTFREIGHT", booking, "c1") == {
        "cancelled": True, "simulated": True}  # fmt: skip
    assert sim.cancel_booking("FASTFREIGHT", booking, "c2")["alreadyCancelled"] is True
    assert [row["bookingId"] for row in simulator.ledger("booking")] == [booking]
    assert [row["reference"] for row in simulator.ledger("booking_cancellation")] == [booking]
    assert simulator.ledger("reservation")[0]["price"] == quote["price"]


def test_cancelled_reservation_cannot_be_booked() -> None:
    sim = SimulatedCarriers()
    reservation = sim.reserve("ATLAS", sim.quote("ATLAS", shipment()), "r")["reservationId"]
    assert sim.cancel_reservation("ATLAS", reservation, "c")["cancelled"] is True
    assert len(simulator.ledger("reservation_cancellation")) == 1
    with pytest.raises(PartnerError, match="cancelled") as caught:
        sim.book("ATLAS", reservation, "b")
    assert caught.value.retryable is False
    assert simulator.ledger("booking") == []


@pytest.mark.parametrize("carrier", ["ATLAS", "BLUELINE"])
def test_unknown_reservation_or_other_carrier_is_not_retryable(carrier: str) -> None:
    sim = SimulatedCarriers()
    reservation = sim.reserve("ATLAS", sim.quote("ATLAS", shipment()), "r")["reservationId"]
    for call in (lambda: sim.book(carrier, "RSV-NOPE", "b"),
                 lambda: sim.cancel_booking(carrier, "BKG-NOPE", "c")):  # fmt: skip
        with pytest.raises(PartnerError) as caught:
            call()
        assert not caught.value.retryable
    if carrier != "ATLAS":
        with pytest.raises(PartnerError):
            sim.book(carrier, reservation, "b")


def test_quote_of_another_carrier_cannot_be_reserved() -> None:
    sim = SimulatedCarriers()
    with pytest.raises(PartnerError):
        sim.reserve("ATLAS", sim.quote("BLUELINE", shipment()), "r")


# suppliers


def test_suppliers_have_stock_unless_out_of_stock() -> None:
    sim = SimulatedSuppliers()
    offers = sim.availability("PN-100", 5)
    assert [offer["supplier"] for offer in offers] == SUPPLIERS == sim.codes()
    assert offers[0]["supplier"] == "AEROPARTS" and offers[0]["available"] >= 5
    assert offers[0]["leadTimeDays"] == 2
    assert offers == sim.availability("PN-100", 5)
    assert all(offer["available"] == 0 for offer in sim.availability("OOS-7", 1))


def test_orders_confirm_or_backorder() -> None:
    sim = SimulatedSuppliers()
    assert sim.order("SKYSUPPLY", "PN-1", 2, "k1")["status"] == "confirmed"
    assert sim.order("SKYSUPPLY", "OOS-1", 2, "k2")["status"] == "backordered"
    assert [row["partNumber"] for row in simulator.ledger("order")] == ["PN-1", "OOS-1"]
    with pytest.raises(PartnerError) as caught:
        sim.order("NOSUCH", "PN-1", 2, "k3")
    assert caught.value.retryable is False
