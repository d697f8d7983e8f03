"""Shipments over HTTP: start, status, and the dispatcher's pickup, delivery and cancel actions."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from api import openapi
from api.common import (
    deliver_event,
    handle_errors,
    parse_body,
    route_id,
    start_workflow,
    status_response,
)
from domain.common import Workflow, to_json
from domain.shipments import (
    CancelRequest,
    DeliveryConfirmation,
    Event,
    PickupConfirmation,
    ShipmentRequest,
)
from domain.views import Accepted, Problem, Started, StatusView

bp = df.Blueprint()
SHIPMENT = Workflow.SHIPMENT


@bp.route(route="shipments", methods=["POST"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def start_shipment(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """Validate the shipment and start its workflow under `shipment-<shipmentId>`."""
    shipment = parse_body(req, ShipmentRequest)
    return await start_workflow(req, client, SHIPMENT, shipment.shipment_id, to_json(shipment))


@bp.route(route="shipments/{shipmentId}", methods=["GET"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def get_shipment(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """Where the shipment stands; carrier, booking, price and outcome once known."""
    return await status_response(client, SHIPMENT, route_id(req, "shipmentId"))


@bp.route(route="shipments/{shipmentId}/pickup", methods=["POST"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def confirm_pickup(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """The carrier collected the goods (accepted only while the shipment awaits pickup)."""
    shipment_id = route_id(req, "shipmentId")
    return await deliver_event(
        req, client, SHIPMENT, shipment_id, Event.PICKUP_CONFIRMED, PickupConfirmation
    )


@bp.route(route="shipments/{shipmentId}/delivery", methods=["POST"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def confirm_delivery(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """The goods arrived (accepted only while the shipment is in transit)."""
    shipment_id = route_id(req, "shipmentId")
    return await deliver_event(
        req, client, SHIPMENT, shipment_id, Event.DELIVERED, DeliveryConfirmation
    )


@bp.route(route="shipments/{shipmentId}/cancel", methods=["POST"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def cancel_shipment(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """Cancel at any stage; whatever the carrier holds (reservation, booking) is cancelled."""
    shipment_id = route_id(req, "shipmentId")
    return await deliver_event(req, client, SHIPMENT, shipment_id, Event.CANCEL, CancelRequest)


openapi.workflow(
    "shipments",
    "shipmentId",
    tag="shipments",
    start=ShipmentRequest,
    started=Started,
    status=StatusView,
    problem=Problem,
    accepted=Accepted,
    actions={
        "pickup": ("Confirm the pickup", PickupConfirmation, Event.PICKUP_CONFIRMED),
        "delivery": ("Confirm the delivery", DeliveryConfirmation, Event.DELIVERED),
        "cancel": (
            "Cancel the shipment, compensating any reservation or booking",
            CancelRequest,
            Event.CANCEL,
        ),
    },
)
