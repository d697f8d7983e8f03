"""What a fuzzer and a careless client send: every answer is a 4xx problem, nothing starts.

Deep nesting, duplicate keys, the wrong media type, oversized bodies, numbers and booleans
as strings, dates centuries away and principal headers that name no usable user: none of it
reaches a workflow, none of it is a 500.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import App, assert_problem, principal

JSON = {"content-type": "application/json"}


def claim(claim_id: str, **changes) -> dict:
    return {
        "claimId": claim_id,
        "policyNumber": "POL-HOSTILE",
        "claimant": {"name": "Ada", "email": "ada@example.com"},
        "lossDate": "2026-01-02",
        "amount": 120,
        "currency": "EUR",
        "description": "Dent",
        **changes,
    }


def shipment(shipment_id: str, start: datetime, **changes) -> dict:
    return {
        "shipmentId": shipment_id,
        "origin": {"postalCode": "10115", "country": "DE"},
        "destination": {"postalCode": "75001", "country": "FR"},
        "pickupWindow": {
            "start": start.isoformat(),
            "end": (start + timedelta(hours=8)).isoformat(),
        },
        "pallets": 2,
        "weightKg": 300,
        **changes,
    }


def assert_nothing_started(app: App, path: str) -> None:
    assert app.http.get(path).status_code == 404


def test_json_nested_a_thousand_levels_is_400(app: App):
    deep = "[" * 1000 + "]" * 1000
    body = '{"claimId": "CLM-DEEP", "documents": ' + deep + "}"
    response = app.http.post("/api/claims", content=body.encode(), headers=JSON)
    assert_problem(response, 400, "body")
    assert_nothing_started(app, "/api/claims/CLM-DEEP")


def test_a_key_sent_twice_is_400_and_starts_neither(app: App):
    body = json.dumps(claim("CLM-DUP-A"))[:-1] + ', "claimId": "CLM-DUP-B"}'
    problem = assert_problem(app.http.post("/api/claims", content=body, headers=JSON), 400, "body")
    assert "claimId" in problem["errors"][0]["message"]
    assert_nothing_started(app, "/api/claims/CLM-DUP-A")
    assert_nothing_started(app, "/api/claims/CLM-DUP-B")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_application_json_is_415(app: App, content_type):
    headers = {"content-type": content_type} if content_type else {}
    body = json.dumps(claim("CLM-MEDIA")).encode()
    response = app.http.post("/api/claims", content=body, headers=headers)
    assert_problem(response, 415, "Content-Type")
    assert_nothing_started(app, "/api/claims/CLM-MEDIA")


def test_json_with_a_charset_parameter_is_json(app: App):
    headers = {"content-type": "application/json; charset=utf-8"}
    body = json.dumps(claim("CLM-CHARSET")).encode()
    assert app.http.post("/api/claims", content=body, headers=headers).status_code == 202


def test_a_body_larger_than_any_valid_request_is_413(app: App):
    body = claim("CLM-HUGE", description="x" * 300_000)
    assert_problem(app.http.post("/api/claims", json=body), 413, "body")
    assert_nothing_started(app, "/api/claims/CLM-HUGE")


@pytest.mark.parametrize("amount", [True, "120", None])
def test_an_amount_must_be_a_number(app: App, amount):
    response = app.http.post("/api/claims", json=claim("CLM-AMOUNT", amount=amount))
    assert_problem(response, 400, "amount")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_json_number_literals_are_400(app: App, literal):
    body = json.dumps(claim("CLM-NAN", amount=1)).replace('"amount": 1', f'"amount": {literal}')
    assert_problem(app.http.post("/api/claims", content=body, headers=JSON), 400, "body")


def test_quantities_and_pallets_must_be_integers(app: App):
    order = {
        "orderId": "MO-STRICT",
        "tailNumber": "D-ASTR",
        "aircraftType": "A320",
        "requestedBy": "ops@example.com",
        "tasks": [
            {"taskId": "T1", "description": "x", "parts": [{"partNumber": "P", "quantity": "3"}]}
        ],
    }
    response = app.http.post("/api/maintenance-orders", json=order)
    assert_problem(response, 400, "tasks.0.parts.0.quantity")
    now = datetime.now(UTC)
    response = app.http.post("/api/shipments", json=shipment("SHP-STRICT", now, pallets="2"))
    assert_problem(response, 400, "pallets")


@pytest.mark.parametrize("year", [290, 3038])
def test_a_pickup_window_centuries_away_is_400(app: App, year):
    start = datetime(year, 3, 1, 8, tzinfo=UTC)
    response = app.http.post("/api/shipments", json=shipment(f"SHP-Y{year}", start))
    assert_problem(response, 400, "pickupWindow.start")
    assert_nothing_started(app, f"/api/shipments/SHP-Y{year}")


def raw_principal(name: str) -> dict[str, str]:
    data = {"auth_typ": "aad", "userDetails": name}
    return {"X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps(data).encode()).decode()}


@pytest.mark.parametrize(
    "headers",
    [principal("a" * 201), principal("   "), raw_principal("b" * 500),
     {"X-MS-CLIENT-PRINCIPAL": base64.b64encode(b"[" * 1000 + b"]" * 1000).decode()}],
    ids=["name-too-long", "only-spaces", "details-too-long", "deeply-nested"],
)  # fmt: skip
def test_a_principal_that_names_no_usable_user_is_400(app: App, headers):
    started = app.http.post("/api/claims", json=claim("CLM-PRINCIPAL", amount=9000))
    assert started.status_code in (202, 409), started.text
    decision = {"decision": "approve"}
    response = app.http.post("/api/claims/CLM-PRINCIPAL/decision", json=decision, headers=headers)
    assert_problem(response, 400)
