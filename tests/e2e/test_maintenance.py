"""Maintenance orders end to end: aircraft lock, inspection, per-task parts, compliance and the
return-to-service approval, over real HTTP through devhost with a manual clock.

Simulated suppliers always stock ordinary parts (AEROPARTS); part numbers starting with `OOS-`
are out of stock everywhere, so they are ordered and the task waits for PartsReceived.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.portal import Portal, principal

DAY = 24 * 3600


@pytest.fixture(scope="module")
def orders(devhost_factory, tmp_path_factory) -> Portal:
    state: Path = tmp_path_factory.mktemp("maintenance") / "simulator.sqlite"
    host = devhost_factory(ROOT, "--clock", "manual", env={"SIMULATOR_STATE_PATH": str(state)})
    return Portal(host, "maintenance-orders", state)


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


def awaiting_approval(portal: Portal, order_id: str) -> dict:
    """Let the inspection, tasks and document happen (crossing retry timers if any)."""
    return portal.advance_until(
        order_id, lambda view: view["stage"] == "awaiting_return_to_service", step=5, limit=120
    )


def lock_holder(portal: Portal, tail: str) -> str | None:
    response = portal.http.get(f"/api/locks/aircraft:{tail}")
    assert response.status_code == 200, response.text
    return response.json()["holder"]


def test_parts_in_stock_go_straight_to_approval_and_release(orders: Portal):
    response = orders.start(order("MO-STOCK", "D-AIAA"))
    assert response.status_code == 202, response.text
    assert response.json()["id"] == "maintenance-MO-STOCK"
    assert response.headers["Location"].endswith("/api/maintenance-orders/MO-STOCK")

    view = awaiting_approval(orders, "MO-STOCK")
    assert view["waitingFor"] == ["ReturnToServiceApproval"]
    assert lock_holder(orders, "D-AIAA") == "maintenance-MO-STOCK"
    assert orders.ledger("maintenance-MO-STOCK", "order") == []

    approval = {"approved": True, "comment": "all signed off"}
    response = orders.act("MO-STOCK", "approval", approval, headers=principal("inspector.kim"))
    assert response.status_code == 202, response.text
    output = orders.finished("MO-STOCK")

    assert output["outcome"] == "returned_to_service"
    assert output["approvedBy"] == "inspector.kim"
    assert output["decision"]["comment"] == "all signed off"
    [task] = output["tasks"]
    assert task["taskId"] == "T1" and task["status"] == "completed"
    assert task["parts"][0]["action"] == "in_stock" and task["orders"] == []
    [document] = orders.ledger("maintenance-MO-STOCK", "compliance_document")
    assert document["reference"] == output["complianceDocumentId"]
    assert len(orders.ledger("maintenance-MO-STOCK", "inspection")) == 1
    [notice] = orders.messages("maintenance-MO-STOCK", "maintenance_order_completed")
    assert notice["recipient"] == "customer@airline.example"
    assert lock_holder(orders, "D-AIAA") is None


def test_missing_parts_are_ordered_once_and_received_per_task(orders: Portal):
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
    assert orders.start(order("MO-PARTS", "D-AIBB", *tasks)).status_code == 202
    view = orders.advance_until(
        "MO-PARTS", lambda v: "PartsReceived" in v["waitingFor"], step=5, limit=120
    )
    assert view["stage"] == "performing_tasks"
    by_task = {task["taskId"]: task for task in view["tasks"]}
    assert by_task["T1"]["stage"] == "awaiting_parts"
    assert by_task["T1"]["waitingFor"] == ["PartsReceived"]

    [placed] = orders.ledger("maintenance-MO-PARTS", "order")
    assert (placed["partNumber"], placed["quantity"], placed["status"]) == (
        "OOS-PUMP-7",
        1,
        "backordered",
    )
    assert orders.act("MO-PARTS", "approval", {"approved": True, "actor": "x"}).status_code == 409
    assert orders.act("MO-PARTS", "parts-received", {"taskId": "T9"}).status_code == 404
    assert orders.act("MO-PARTS", "parts-received", {"taskId": "T2"}).status_code == 409
    assert orders.act("MO-PARTS", "parts-received", {}).status_code == 400

    orders.host.advance(DAY)  # a day without the parts: the planner is reminded
    orders.host.wait_until(
        lambda: orders.messages("maintenance-MO-PARTS", "maintenance_parts_reminder"),
        message="the parts reminder",
    )
    received = orders.act("MO-PARTS", "parts-received", {"taskId": "T1", "actor": "stores"})
    assert received.status_code == 202, received.text
    assert received.json()["id"] == "maintenance-MO-PARTS"
    awaiting_approval(orders, "MO-PARTS")
    assert orders.act("MO-PARTS", "parts-received", {"taskId": "T1"}).status_code == 409

    assert (
        orders.act("MO-PARTS", "approval", {"approved": True, "actor": "lead"}).status_code == 202
    )
    output = orders.finished("MO-PARTS")
    results = {task["taskId"]: task for task in output["tasks"]}
    assert [o["orderId"] for o in results["T1"]["orders"]] == [placed["reference"]]
    assert results["T1"]["partsReceivedAt"] is not None
    assert results["T2"]["partsReceivedAt"] is None
    assert output["approvedBy"] == "lead"
    assert len(orders.ledger("maintenance-MO-PARTS", "order")) == 1


def test_a_second_order_for_the_same_aircraft_waits_for_the_first(orders: Portal):
    assert orders.start(order("MO-FIRST", "D-AICC")).status_code == 202
    awaiting_approval(orders, "MO-FIRST")
    assert orders.start(order("MO-SECOND", "D-AICC")).status_code == 202
    waiting = orders.wait_stage("MO-SECOND", "waiting_for_aircraft")
    assert waiting["waitingFor"] == []
    assert orders.act("MO-SECOND", "approval", {"approved": True, "actor": "x"}).status_code == 409
    orders.host.advance(15 * 60)  # the second keeps waiting while the first holds the aircraft
    assert orders.view("MO-SECOND")["stage"] == "waiting_for_aircraft"
    assert orders.ledger("maintenance-MO-SECOND") == []

    assert orders.act("MO-FIRST", "approval", {"approved": True, "actor": "a"}).status_code == 202
    orders.finished("MO-FIRST")
    view = orders.advance_until(
        "MO-SECOND",
        lambda v: v["stage"] == "awaiting_return_to_service",
        step=60,
        limit=3600,
    )
    assert lock_holder(orders, "D-AICC") == "maintenance-MO-SECOND"
    assert view["runtimeStatus"] == "Running"
    assert orders.act("MO-SECOND", "approval", {"approved": True, "actor": "b"}).status_code == 202
    output = orders.finished("MO-SECOND")
    assert output["aircraftLock"]["waitedSeconds"] > 15 * 60
    first = orders.ledger("maintenance-MO-FIRST", "compliance_document")[0]
    second = orders.ledger("maintenance-MO-SECOND", "inspection")[0]
    assert first["seq"] < second["seq"]  # the second inspected only after the first was done
    assert lock_holder(orders, "D-AICC") is None


def test_approval_is_reminded_daily_and_escalated_after_72_hours(orders: Portal):
    assert orders.start(order("MO-SLOW", "D-AIDD")).status_code == 202
    awaiting_approval(orders, "MO-SLOW")

    def count(template: str) -> int:
        return len(orders.messages("maintenance-MO-SLOW", template))

    for day, reminders, escalations in [(1, 1, 0), (2, 2, 0), (3, 2, 1), (4, 3, 1)]:
        orders.host.advance(DAY)
        orders.host.wait_until(
            lambda r=reminders, e=escalations: (
                (count("maintenance_approval_reminder"), count("maintenance_approval_overdue"))
                == (r, e)
            ),
            message=f"follow-ups of day {day}",
        )
    assert orders.act("MO-SLOW", "approval", {"approved": True}).status_code == 400  # who?
    denied = {"approved": False, "comment": "corrosion found", "actor": "qa.lee"}
    assert orders.act("MO-SLOW", "approval", denied).status_code == 202
    output = orders.finished("MO-SLOW")

    assert output["outcome"] == "return_to_service_denied"
    assert output["approvedBy"] is None
    assert output["decision"]["actor"] == {"name": "qa.lee", "source": "body"}
    assert (output["decision"]["reminders"], output["decision"]["escalated"]) == (3, True)
    assert orders.messages("maintenance-MO-SLOW", "maintenance_approval_overdue")[0][
        "recipient"
    ].startswith("maintenance-manager")
    assert lock_holder(orders, "D-AIDD") is None


def test_bad_orders_and_unknown_ids(orders: Portal):
    bad = order(
        "MO BAD",
        "!",
        {"taskId": "T1", "description": "", "parts": [{"partNumber": "P-1", "quantity": 0}]},
    )
    response = orders.start(bad)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"orderId", "tailNumber", "tasks.0.description", "tasks.0.parts.0.quantity"}
    assert orders.start({**order("MO-EMPTY", "D-AIEE"), "tasks": []}).status_code == 400
    assert orders.http.get("/api/maintenance-orders/MO-EMPTY").status_code == 404

    assert orders.http.get("/api/maintenance-orders/MO-NOPE").status_code == 404
    assert orders.act("MO-NOPE", "approval", {"approved": True, "actor": "x"}).status_code == 404
    assert orders.act("MO-NOPE", "parts-received", {"taskId": "T1"}).status_code == 404
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

    assert orders.start(order("MO-DUP", "D-AIFF")).status_code == 202
    duplicate = orders.start(order("MO-DUP", "D-AIFF"))
    assert duplicate.status_code == 409
    assert duplicate.json()["statusUrl"].endswith("/api/maintenance-orders/MO-DUP")
    awaiting_approval(orders, "MO-DUP")
    wrong = orders.act("MO-DUP", "approval", {"approved": "maybe", "actor": "x"})
    assert wrong.status_code == 400
    assert {e["field"] for e in wrong.json()["errors"]} == {"approved"}
