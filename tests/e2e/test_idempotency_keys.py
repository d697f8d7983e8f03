"""Portal actions with `Idempotency-Key` (IETF draft-ietf-httpapi-idempotency-key-header):
a retry answers as the first call did and raises nothing twice; the same key with another
request from the same caller is 422; a key is its caller's own, so someone else's request
under it is theirs; a malformed key is 400. Keys are kept for 24 hours."""

from __future__ import annotations

import uuid

from domain.idempotency import caller_identity, key_slot
from tests.e2e.conftest import App, assert_problem
from tests.e2e.portal import output_of

KEY = "Idempotency-Key"


def runtime_history(app: App, instance_id: str) -> list[dict]:
    response = app.http.get(
        f"/runtime/webhooks/durabletask/instances/{instance_id}", params={"showHistory": "true"}
    )
    assert response.status_code == 200, response.text
    return response.json()["historyEvents"]


def raised(app: App, instance_id: str, name: str) -> int:
    events = runtime_history(app, instance_id)
    return sum(1 for e in events if e["EventType"] == "EventRaised" and e.get("Name") == name)


def remembered(app: App, instance_id: str, actor: str, key: str) -> bool:
    """The first answer to `actor`'s key is stored (the idempotency entity's state, via the
    HTTP API), under the caller's own slot rather than the raw key."""
    response = app.http.get(f"/runtime/webhooks/durabletask/entities/idempotency/{instance_id}")
    slots = (response.json().get("keys") or {}) if response.status_code == 200 else {}
    return key not in slots and key_slot(caller_identity(None, actor), key) in slots


def awaiting_approval(app: App, order_id: str, tail: str) -> str:
    """An order with one task that needs no parts, once it waits for its approval."""
    order = {
        "orderId": order_id,
        "tailNumber": tail,
        "aircraftType": "A320",
        "requestedBy": "ops@example.com",
        "tasks": [{"taskId": "T1", "description": "Inspect", "parts": []}],
    }
    assert app.http.post("/api/maintenance-orders", json=order).status_code == 202
    path = f"/api/maintenance-orders/{order_id}"
    app.wait_stage(path, "awaiting_return_to_service")
    return path


def test_a_retried_delivery_answers_as_the_first_and_raises_once(app: App):
    path = awaiting_approval(app, "MO-IDEM", "D-AIDM")

    key = str(uuid.uuid4())
    approval = {"approved": True, "actor": "inspector"}
    first = app.http.post(f"{path}/approval", json=approval, headers={KEY: key})
    assert first.status_code == 202, first.text
    output_of(app, path)  # the order has moved on: a new approval would be a 409 now

    assert remembered(app, "maintenance-MO-IDEM", "inspector", key)
    again = app.http.post(f"{path}/approval", json=approval, headers={KEY: key})
    assert (again.status_code, again.json()) == (202, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    assert raised(app, "maintenance-MO-IDEM", "ReturnToServiceApproval") == 1

    other = {"approved": False, "actor": "inspector"}
    problem = assert_problem(app.http.post(f"{path}/approval", json=other, headers={KEY: key}), 422)
    assert KEY in problem["detail"]
    someone_else = {"approved": True, "actor": "another inspector"}
    theirs = app.http.post(f"{path}/approval", json=someone_else, headers={KEY: key})
    assert "idempotent-replayed" not in theirs.headers
    assert_problem(theirs, 409)  # their own request, refused on its merits: decided already
    fresh = app.http.post(f"{path}/approval", json=approval, headers={KEY: str(uuid.uuid4())})
    assert_problem(fresh, 409)


def test_a_malformed_key_is_400_and_changes_nothing(app: App):
    response = app.http.post(
        "/api/claims/CLM-NOBODY/decision",
        json={"decision": "approve", "actor": "x"},
        headers={KEY: ""},
    )
    assert response.status_code == 404  # unknown instance first, as without a key
    path = awaiting_approval(app, "MO-IDEM-BAD", "D-AIDB")
    for bad in ("", "x" * 256, "caf\u00e9"):
        response = app.http.post(
            f"{path}/approval",
            json={"approved": True, "actor": "i"},
            headers={KEY: bad.encode("utf-8")},
        )
        assert_problem(response, 400, KEY)
    assert app.view(path)["stage"] == "awaiting_return_to_service"
