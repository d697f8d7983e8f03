"""Ids and numbers that look almost right, over real HTTP through devhost.

A lock id is `policy:<policy number>`, `aircraft:<tail number>` or
`carrier:<carrier code>:<YYYY-MM-DD>`; anything else is no lock (404), never a 500 and never
another lock's state. Money comes in whole cents, from 0.01 up; counts are JSON Schema
integers, `4.0` included.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import App, assert_problem
from tests.e2e.test_claims import claim
from tests.e2e.test_shipments import shipment

INSTANCES = "/runtime/webhooks/durabletask/instances"


def stored_input(app: App, instance_id: str) -> dict[str, Any]:
    """The input the instance was started with, as the durable client stored it."""
    response = app.http.get(f"{INSTANCES}/{instance_id}")
    assert response.status_code in (200, 202), response.text  # 202 while it runs
    return json.loads(response.json()["input"])


@pytest.mark.parametrize(
    "resource",
    [
        "%23",  # "#"
        "%3F",  # "?"
        "%3F%3F",
        "%2E%2E",  # ".."
        "policy%3APOL-L1%3Fx",  # "policy:POL-L1?x": once read as policy:POL-L1
        "policy%3APOL-L1%23x",
        "policy:",
        "aircraft:d-lower",  # tail numbers are stored upper-cased
        "carrier:FASTFREIGHT:2026-13-01",
        "POL-L1",
    ],
)
def test_an_id_no_lock_can_have_is_404(app: App, resource):
    problem = assert_problem(app.http.get(f"/api/locks/{resource}"), 404)
    assert "No lock has the id" in problem["detail"] and "policy:POL-1" in problem["detail"]


def test_a_query_in_a_lock_id_never_shows_another_lock(app: App):
    """policy:POL-L1 is held; `policy:POL-L1?x` is not its id."""
    assert app.http.post("/api/claims", json=claim("CLM-L1", "POL-L1", amount=5000)).is_success
    app.wait_stage("/api/claims/CLM-L1", "awaiting_decision")
    assert app.view("/api/locks/policy:POL-L1")["holder"] == "claim-CLM-L1"
    assert_problem(app.http.get("/api/locks/policy%3APOL-L1%3Fx"), 404)


@pytest.mark.parametrize(
    "resource", ["policy:POL-NEVER", "aircraft:D-NEVR", "carrier:FASTFREIGHT:2026-12-01"]
)
def test_a_lock_never_taken_is_free(app: App, resource):
    lock = app.view(f"/api/locks/{resource}")
    assert lock == {"resource": resource, "holder": None, "leaseExpiresAt": None, "queue": []}


@pytest.mark.parametrize("amount", [1e-320, 0.001, 0.015, 0, -0.01, 100_000_000.01])
def test_an_amount_below_a_cent_or_between_cents_is_400(app: App, amount):
    response = app.http.post("/api/claims", json=claim("CLM-NO-CENTS", amount=amount))
    assert_problem(response, 400, "amount")
    assert app.http.get("/api/claims/CLM-NO-CENTS").status_code == 404


@pytest.mark.parametrize("claim_id, amount", [("CLM-CENT", 0.01), ("CLM-CENTS", 19.99)])
def test_an_amount_in_whole_cents_is_accepted_as_sent(app: App, claim_id, amount):
    response = app.http.post("/api/claims", json=claim(claim_id, f"POL-{claim_id}", amount=amount))
    assert response.status_code == 202, response.text
    assert stored_input(app, f"claim-{claim_id}")["amount"] == amount


def test_a_whole_float_is_a_count_and_a_fraction_is_not(app: App):
    """JSON Schema's integer includes 4.0: four pallets, stored as the integer 4."""
    response = app.http.post("/api/shipments", json=shipment(app, "SHP-FOUR", pallets=4.0))
    assert response.status_code == 202, response.text
    pallets = stored_input(app, "shipment-SHP-FOUR")["pallets"]
    assert pallets == 4 and isinstance(pallets, int)

    response = app.http.post("/api/shipments", json=shipment(app, "SHP-HALF", pallets=4.5))
    assert_problem(response, 400, "pallets")
    assert app.http.get("/api/shipments/SHP-HALF").status_code == 404
