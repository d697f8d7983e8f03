"""Maintenance side effects: inspection record, parts availability and orders, compliance
document, messages.

Thin, idempotent calls to partner adapters: every effect carries the idempotency key the
orchestrator derived from its instance id and step, so a retried activity orders a part, files a
record or sends a message at most once.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from adapters import settings
from adapters.partners import compliance, notifications, suppliers
from domain.common import to_json
from domain.maintenance import Activity, SupplierOffer

bp = df.Blueprint()

PLANNER_SETTING = "MAINTENANCE_PLANNER_ADDRESS"
DEFAULT_PLANNER = "maintenance-planning@example.com"
MANAGER_SETTING = "MAINTENANCE_MANAGER_ADDRESS"
DEFAULT_MANAGER = "maintenance-manager@example.com"

_ROLES = {
    "planner": (PLANNER_SETTING, DEFAULT_PLANNER),
    "manager": (MANAGER_SETTING, DEFAULT_MANAGER),
}


@bp.activity_trigger(input_name="request", activity=Activity.RECORD_INSPECTION)
def maintenance_record_inspection(request: dict) -> dict[str, Any]:
    """File the inspection record of the order as submitted: `{inspectionId}`."""
    result = compliance.client().record_inspection(request["order"], request["idempotencyKey"])
    return {"inspectionId": result["inspectionId"]}


@bp.activity_trigger(input_name="request", activity=Activity.CHECK_PART)
def maintenance_check_part(request: dict) -> list[dict[str, Any]]:
    """Every supplier's offer for one part (no side effect, so no key)."""
    offers = suppliers.client().availability(request["partNumber"], int(request["quantity"]))
    return [to_json(SupplierOffer.model_validate(offer)) for offer in offers]


@bp.activity_trigger(input_name="request", activity=Activity.ORDER_PART)
def maintenance_order_part(request: dict) -> dict[str, Any]:
    """Order one part from one supplier: `{orderId, supplier, partNumber, quantity, status}`."""
    result = suppliers.client().order(
        request["supplier"],
        request["partNumber"],
        int(request["quantity"]),
        request["idempotencyKey"],
    )
    return {
        "orderId": result["orderId"],
        "supplier": request["supplier"],
        "partNumber": request["partNumber"],
        "quantity": int(request["quantity"]),
        "status": result.get("status", "confirmed"),
    }


@bp.activity_trigger(input_name="request", activity=Activity.GENERATE_COMPLIANCE)
def maintenance_generate_compliance(request: dict) -> dict[str, Any]:
    """Issue the compliance (release) document covering the task results: `{documentId}`."""
    result = compliance.client().generate(
        request["order"], request["results"], request["idempotencyKey"]
    )
    return {"documentId": result["documentId"]}


@bp.activity_trigger(input_name="request", activity=Activity.NOTIFY)
def maintenance_notify(request: dict) -> dict[str, Any]:
    """Send one message: to a named `recipient`, or to a `role` (planner, manager) whose address
    is a setting. Returns `{messageId}`."""
    recipient = request.get("recipient")
    if not recipient:
        setting, default = _ROLES[request["role"]]
        recipient = settings.get(setting, default)
    result = notifications.client().send(
        recipient, request["template"], request.get("data") or {}, request["idempotencyKey"]
    )
    return {"messageId": result["messageId"]}
