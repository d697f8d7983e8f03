"""Client numbers and booleans are taken as sent, never coerced; dates stay in sane ranges.

`true` is not an amount and `"3"` is not a quantity: pydantic's strict mode on the fields
clients fill. Time-relative rules apply to new requests (validated with the request time)
and never to stored input an orchestrator validates again on replay.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel, ValidationError

from domain.claims import ClaimRequest
from domain.common import edge_context
from domain.maintenance import PartRequirement, ReturnToServiceApproval
from domain.shipments import ShipmentRequest

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
AT_EDGE = edge_context(NOW)

CLAIM = {
    "claimId": "CLM-1",
    "policyNumber": "POL-1",
    "claimant": {"name": "Ada", "email": "ada@example.com"},
    "lossDate": "2026-11-01",
    "amount": 850,
    "currency": "EUR",
    "description": "Cracked windscreen",
}
SHIPMENT = {
    "shipmentId": "SHP-1",
    "origin": {"postalCode": "10115", "country": "DE"},
    "destination": {"postalCode": "75001", "country": "FR"},
    "pickupWindow": {"start": "2026-12-01T08:00:00Z", "end": "2026-12-01T16:00:00Z"},
    "pallets": 4,
    "weightKg": 1200,
}


def invalid_fields(model: type[BaseModel], payload: dict) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(payload, context=AT_EDGE)
    return {".".join(map(str, error["loc"])) for error in caught.value.errors()}


@pytest.mark.parametrize("amount", [True, "850", "850.0", None])
def test_an_amount_is_a_json_number(amount):
    assert invalid_fields(ClaimRequest, {**CLAIM, "amount": amount}) == {"amount"}


@pytest.mark.parametrize("field, value", [("pallets", "4"), ("pallets", True), ("pallets", 4.5),
                                          ("weightKg", "1200"), ("weightKg", False)])  # fmt: skip
def test_shipment_numbers_are_json_numbers(field, value):
    assert invalid_fields(ShipmentRequest, {**SHIPMENT, field: value}) == {field}


@pytest.mark.parametrize("quantity", ["3", True, 3.5])
def test_a_quantity_is_a_json_integer(quantity):
    assert invalid_fields(PartRequirement, {"partNumber": "P-1", "quantity": quantity}) == {
        "quantity"
    }


@pytest.mark.parametrize("approved", ["true", 1, "yes"])
def test_approval_is_a_json_boolean(approved):
    assert invalid_fields(ReturnToServiceApproval, {"approved": approved}) == {"approved"}


def test_integral_numbers_are_amounts_and_weights():
    claim = ClaimRequest.model_validate(CLAIM, context=AT_EDGE)
    shipment = ShipmentRequest.model_validate(SHIPMENT, context=AT_EDGE)
    assert (claim.amount, shipment.weight_kg, shipment.pallets) == (850.0, 1200.0, 4)


def test_a_whole_float_is_a_count_as_json_schema_has_it():
    """JSON Schema's `integer` includes 4.0; a client that writes it means four pallets."""
    shipment = ShipmentRequest.model_validate({**SHIPMENT, "pallets": 4.0}, context=AT_EDGE)
    assert shipment.pallets == 4 and isinstance(shipment.pallets, int)


def window(start: datetime, length: timedelta = timedelta(hours=8)) -> dict:
    return {"start": start.isoformat(), "end": (start + length).isoformat()}


@pytest.mark.parametrize(
    "start",
    [NOW.replace(year=290), NOW.replace(year=3038), NOW - timedelta(days=2),
     NOW + timedelta(days=5 * 365 + 1)],
)  # fmt: skip
def test_a_pickup_window_starts_between_yesterday_and_five_years_ahead(start):
    payload = {**SHIPMENT, "pickupWindow": window(start)}
    assert invalid_fields(ShipmentRequest, payload) == {"pickupWindow.start"}


def test_a_pickup_window_is_at_most_a_month_long():
    payload = {**SHIPMENT, "pickupWindow": window(NOW, timedelta(days=32))}
    assert invalid_fields(ShipmentRequest, payload) == {"pickupWindow"}


@pytest.mark.parametrize("loss_date", ["0290-01-01", "2016-11-01", "2026-11-30"])
def test_a_loss_date_lies_in_the_last_ten_years(loss_date):
    assert invalid_fields(ClaimRequest, {**CLAIM, "lossDate": loss_date}) == {"lossDate"}


def test_stored_input_replays_whatever_time_it_is_now():
    """An orchestrator validates its input again on every replay, possibly years later:
    without the request time, time-relative rules do not apply."""
    long_ago = {**SHIPMENT, "pickupWindow": window(datetime(2020, 1, 1, tzinfo=UTC))}
    assert ShipmentRequest.model_validate(long_ago).pickup_window.start.year == 2020
