"""Maintenance orders end to end: aircraft lock, inspection, per-task parts, compliance and the
return-to-service approval, over real HTTP through devhost with a manual clock.

Simulated suppliers always stock ordinary parts (AEROPARTS); part numbers starting with `OOS-`
are out of stock everywhere, so they are ordered and the task waits for PartsReceived.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.conftest import App, local, principal, signed
from tests.e2e.portal import RETRIES_RUN_OUT, effects, failed_attempts, messages, output_of

DAY = 24 * 3600
LOCK_POLL_MAX = 10 * 60  # a waiter asks for the aircraft lock again at most this far apart
INSPECTOR = principal("inspector.kim", "Maintenance.CertifyingInspector")


@pytest.fixture(scope="module")
def orders(start_app) -> App:
    # The first order of the pump takes effect but its answer is lost: the retried activity
    # must get the same order back, not place a second one.
    return start_app(SIMULATOR_FAILURES=json.dumps({"suppliers.order:OOS-PUMP-7!lost": 1}))


def path(order_id: str) -> str:
    return f"/api/maintenance-orders/{order_id}"


def start(app: App, body: dict) -> httpx.Response:
    return app.http.post("/api/maintenance-orders", json=body)


def act(app: App, order_id: str, action: str, body: dict | None = None, **kw) -> httpx.Response:
    return app.http.post(f"{path(order_id)}/{action}", json=body or {}, **kw)


def order(order_id: str, tail: str, *tasks: dict) -> dict:
    return {
        "orderId": order_id,
        "tailNumber": tail,
        "aircraftType": "A320neo",
        "requestedBy": "customer@airline.example",
        "tasks": list(tasks)
        or [
            {
                "taskId": "T1",
                "description": "Replace brake assembly",
                "parts": [{"partNumber": "BRK-100", "quantity": 2}],
            }
        ],
    }


def awaiting_approval(app: App, order_id: str) -> dict:
    """Let the inspection, tasks and document happen (crossing retry timers if any)."""
    app.advance(seconds=RETRIES_RUN_OUT)
    return app.wait_stage(path(order_id), "awaiting_return_to_service")


def lock_holder(app: App, tail: str) -> str | None:
    response = app.http.get(f"/api/locks/aircraft:{tail}")
    assert response.status_code == 200, response.text
    return response.json()["holder"]


def test_parts_in_stock_go_straight_to_approval_and_release(orders: App):
    response = start(orders, order("MO-STOCK", "D-AIAA"))
    assert response.status_code == 202, response.text
    assert response.json()["instanceId"] == "maintenance-MO-STOCK"
    assert response.headers["Location"].endswith("/api/maintenance-orders/MO-STOCK")

    view = awaiting_approval(orders, "MO-STOCK")
    assert view["waitingFor"] == ["ReturnToServiceApproval"]
    assert lock_holder(orders, "D-AIAA") == "maintenance-MO-STOCK"
    assert effects(orders, "maintenance-MO-STOCK", "order") == []

    approval = {"approved": True, "comment": "all signed off"}
    response = act(orders, "MO-STOCK", "approval", approval, headers=INSPECTOR)
    assert response.status_code == 202, response.text
    output = output_of(orders, path("MO-STOCK"))

    assert output["outcome"] == "returned_to_service"
    assert output["approvedBy"] == signed("inspector.kim", "Maintenance.CertifyingInspector")
    assert output["decision"]["comment"] == "all signed off"
    [task] = output["tasks"]
    assert task["taskId"] == "T1" and task["status"] == "completed"
    assert task["parts"][0]["action"] == "in_stock" and task["orders"] == []
    [document] = effects(orders, "maintenance-MO-STOCK", "compliance_document")
    assert document["reference"] == output["complianceDocumentId"]
    assert len(effects(orders, "maintenance-MO-STOCK", "inspection")) == 1
    [notice] = messages(orders, "maintenance-MO-STOCK", "maintenance_order_completed")
    assert notice["recipient"] == "customer@airline.example"
    assert lock_holder(orders, "D-AIAA") is None


def test_missing_parts_are_ordered_once_even_when_retried_and_received_per_task(orders: App):
    tasks = (
        {
            "taskId": "T1",
            "description": "Replace pump",
            "parts": [
                {"partNumber": "OOS-PUMP-7", "quantity": 1},
                {"partNumber": "SEAL-9", "quantity": 4},
            ],
        },
        {"taskId": "T2", "description": "Inspect cabin", "parts": []},
    )
    assert start(orders, order("MO-PARTS", "D-AIBB", *tasks)).status_code == 202
    orders.advance(seconds=RETRIES_RUN_OUT)  # the lost answer of the pump's order is retried
    view = orders.wait(path("MO-PARTS"), lambda v: "PartsReceived" in v["waitingFor"], "parts")
    assert view["stage"] == "performing_tasks"
    by_task = {task["taskId"]: task for task in view["tasks"]}
    assert by_task["T1"]["stage"] == "awaiting_parts"
    assert by_task["T1"]["waitingFor"] == ["PartsReceived"]

    [placed] = effects(orders, "maintenance-MO-PARTS", "order")
    assert (placed["partNumber"], placed["quantity"], placed["status"]) == (
        "OOS-PUMP-7",
        1,
        "backordered",
    )
    assert act(orders, "MO-PARTS", "approval", {"approved": True, "actor": "x"}).status_code == 409
    assert (
        act(orders, "MO-PARTS", "parts-received", {"taskId": "T9", "actor": "stores"}).status_code
        == 404
    )
    assert (
        act(orders, "MO-PARTS", "parts-received", {"taskId": "T2", "actor": "stores"}).status_code
        == 409
    )
    assert act(orders, "MO-PARTS", "parts-received", {}).status_code == 400

    orders.advance(seconds=DAY)  # a day without the parts: the planner is reminded
    assert len(messages(orders, "maintenance-MO-PARTS", "maintenance_parts_reminder")) == 1
    received = act(orders, "MO-PARTS", "parts-received", {"taskId": "T1", "actor": "stores"})
    assert received.status_code == 202, received.text
    assert received.json()["id"] == "maintenance-MO-PARTS"
    awaiting_approval(orders, "MO-PARTS")
    late = {"taskId": "T1", "actor": "stores"}
    assert act(orders, "MO-PARTS", "parts-received", late).status_code == 409

    assert (
        act(orders, "MO-PARTS", "approval", {"approved": True, "actor": "lead"}).status_code == 202
    )
    output = output_of(orders, path("MO-PARTS"))
    results = {task["taskId"]: task for task in output["tasks"]}
    assert [o["orderId"] for o in results["T1"]["orders"]] == [placed["reference"]]
    assert results["T1"]["partsReceivedAt"] is not None
    assert results["T1"]["partsReceivedBy"] == local("stores")
    assert results["T2"]["partsReceivedAt"] is None
    assert output["approvedBy"] == local("lead")
    assert len(effects(orders, "maintenance-MO-PARTS", "order")) == 1
    task_instance = "maintenance-MO-PARTS:task:T1"
    assert failed_attempts(orders, task_instance, "maintenance_order_part") == 1  # the lost answer


def test_a_second_order_for_the_same_aircraft_waits_for_the_first(orders: App):
    assert start(orders, order("MO-FIRST", "D-AICC")).status_code == 202
    awaiting_approval(orders, "MO-FIRST")
    assert start(orders, order("MO-SECOND", "D-AICC")).status_code == 202
    waiting = orders.wait_stage(path("MO-SECOND"), "waiting_for_aircraft")
    assert waiting["waitingFor"] == []
    assert act(orders, "MO-SECOND", "approval", {"approved": True, "actor": "x"}).status_code == 409
    orders.advance(seconds=15 * 60)  # the second keeps waiting while the first holds the aircraft
    assert orders.view(path("MO-SECOND"))["stage"] == "waiting_for_aircraft"
    assert effects(orders, "maintenance-MO-SECOND") == []

    assert act(orders, "MO-FIRST", "approval", {"approved": True, "actor": "a"}).status_code == 202
    output_of(orders, path("MO-FIRST"))
    orders.advance(seconds=LOCK_POLL_MAX)  # the second asks again and gets the aircraft
    view = awaiting_approval(orders, "MO-SECOND")
    assert lock_holder(orders, "D-AICC") == "maintenance-MO-SECOND"
    assert view["runtimeStatus"] == "Running"
    assert act(orders, "MO-SECOND", "approval", {"approved": True, "actor": "b"}).status_code == 202
    output = output_of(orders, path("MO-SECOND"))
    # Woken by the release itself: it waited exactly as long as the first held the aircraft.
    assert output["aircraftLock"]["waitedSeconds"] == 15 * 60
    first = effects(orders, "maintenance-MO-FIRST", "compliance_document")[0]
    second = effects(orders, "maintenance-MO-SECOND", "inspection")[0]
    assert first["seq"] < second["seq"]  # the second inspected only after the first was done
    assert lock_holder(orders, "D-AICC") is None


def test_approval_is_reminded_daily_and_escalated_after_72_hours(orders: App):
    assert start(orders, order("MO-SLOW", "D-AIDD")).status_code == 202
    awaiting_approval(orders, "MO-SLOW")

    def count(template: str) -> int:
        return len(messages(orders, "maintenance-MO-SLOW", template))

    for day, reminders, escalations in [(1, 1, 0), (2, 2, 0), (3, 2, 1), (4, 3, 1)]:
        orders.advance(seconds=DAY)
        sent = count("maintenance_approval_reminder"), count("maintenance_approval_overdue")
        assert sent == (reminders, escalations), f"day {day}"
    assert act(orders, "MO-SLOW", "approval", {"approved": True}).status_code == 400  # who?
    denied = {"approved": False, "comment": "corrosion found", "actor": "qa.lee"}
    assert act(orders, "MO-SLOW", "approval", denied).status_code == 202
    output = output_of(orders, path("MO-SLOW"))

    assert output["outcome"] == "return_to_service_denied"
    assert output["approvedBy"] is None
    assert output["decision"]["actor"] == local("qa.lee")
    assert (output["decision"]["reminders"], output["decision"]["escalated"]) == (3, True)
    assert messages(orders, "maintenance-MO-SLOW", "maintenance_approval_overdue")[0][
        "recipient"
    ].startswith("maintenance-manager")
    assert lock_holder(orders, "D-AIDD") is None


def test_bad_orders_and_unknown_ids(orders: App):
    bad = order(
        "MO BAD",
        "!",
        {"taskId": "T1", "description": "", "parts": [{"partNumber": "P-1", "quantity": 0}]},
    )
    response = start(orders, bad)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"orderId", "tailNumber", "tasks.0.description", "tasks.0.parts.0.quantity"}
    assert start(orders, {**order("MO-EMPTY", "D-AIEE"), "tasks": []}).status_code == 400
    assert orders.http.get("/api/maintenance-orders/MO-EMPTY").status_code == 404

    assert orders.http.get("/api/maintenance-orders/MO-NOPE").status_code == 404
    assert act(orders, "MO-NOPE", "approval", {"approved": True, "actor": "x"}).status_code == 404
    assert act(orders, "MO-NOPE", "parts-received", {"taskId": "T1"}).status_code == 404
    # another workflow's instance with the same business id is unknown here
    shipment = {
        "shipmentId": "MO-OTHER",
        "origin": {"postalCode": "1", "country": "DE"},
        "destination": {"postalCode": "2", "country": "DE"},
        "pickupWindow": {"start": "2030-01-01T08:00:00Z", "end": "2030-01-01T10:00:00Z"},
        "pallets": 1,
        "weightKg": 10,
        "carriers": ["ATLAS"],
    }
    assert orders.http.post("/api/shipments", json=shipment).status_code == 202
    assert orders.http.get("/api/shipments/MO-OTHER").status_code == 200
    assert orders.http.get("/api/maintenance-orders/MO-OTHER").status_code == 404

    assert start(orders, order("MO-DUP", "D-AIFF")).status_code == 202
    duplicate = start(orders, order("MO-DUP", "D-AIFF"))
    assert duplicate.status_code == 409
    assert duplicate.json()["statusUrl"].endswith("/api/maintenance-orders/MO-DUP")
    awaiting_approval(orders, "MO-DUP")
    wrong = act(orders, "MO-DUP", "approval", {"approved": "maybe", "actor": "x"})
    assert wrong.status_code == 400
    assert {e["field"] for e in wrong.json()["errors"]} == {"approved"}
