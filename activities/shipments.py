"""Shipment side effects: carrier quotes, reservations, bookings, their compensations, messages.

Each activity is a thin, idempotent call to a partner adapter. Effectful calls take the
idempotency key the orchestrator derived from its instance id and step, so a retried or
re-delivered activity reserves, books, cancels or notifies at most once. Failures raise and the
orchestrator's retry policy decides what happens next.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from adapters import settings
from adapters.partners import carriers, notifications
from domain.common import to_json
from domain.shipments import DEFAULT_PICKUP_GRACE_MINUTES, Activity, Quote, select_carriers

bp = df.Blueprint()

DISPATCHER_SETTING = "DISPATCHER_ADDRESS"
DEFAULT_DISPATCHER = "dispatch@example.com"


@bp.activity_trigger(input_name="request", activity=Activity.CONFIG)
def shipments_config(request: dict) -> dict[str, Any]:
    """The settings a shipment needs, read here because orchestrators may not read settings.

    Read once at the start and kept in history, so a setting changed mid-flight never makes a
    replay take a different path.
    """
    configured = carriers.client().codes()
    return {
        "carriers": select_carriers(configured, request.get("carriers")),
        "pickupGraceMinutes": settings.number("PICKUP_GRACE_MINUTES", DEFAULT_PICKUP_GRACE_MINUTES),
    }


@bp.activity_trigger(input_name="request", activity=Activity.QUOTE)
def shipments_quote(request: dict) -> dict[str, Any]:
    """One carrier's quote, reduced to the fields the ranking rule reads (no side effect)."""
    raw = carriers.client().quote(request["carrier"], request["shipment"])
    return to_json(Quote.model_validate(raw))


@bp.activity_trigger(input_name="request", activity=Activity.RESERVE)
def shipments_reserve(request: dict) -> dict[str, Any]:
    """Hold the quoted capacity: `{reservationId}`."""
    result = carriers.client().reserve(
        request["carrier"], request["quote"], request["idempotencyKey"]
    )
    return {"reservationId": result["reservationId"]}


@bp.activity_trigger(input_name="request", activity=Activity.BOOK)
def shipments_book(request: dict) -> dict[str, Any]:
    """Turn a reservation into a booking: `{bookingId}`."""
    result = carriers.client().book(
        request["carrier"], request["reservationId"], request["idempotencyKey"]
    )
    return {"bookingId": result["bookingId"]}


@bp.activity_trigger(input_name="request", activity=Activity.CANCEL_RESERVATION)
def shipments_cancel_reservation(request: dict) -> dict[str, Any]:
    """Compensation for a reservation that will not be booked."""
    result = carriers.client().cancel_reservation(
        request["carrier"], request["reservationId"], request["idempotencyKey"]
    )
    return {"cancelled": bool(result.get("cancelled"))}


@bp.activity_trigger(input_name="request", activity=Activity.CANCEL_BOOKING)
def shipments_cancel_booking(request: dict) -> dict[str, Any]:
    """Compensation for a booking that will not be used (cancel or missed pickup)."""
    result = carriers.client().cancel_booking(
        request["carrier"], request["bookingId"], request["idempotencyKey"]
    )
    return {"cancelled": bool(result.get("cancelled"))}


@bp.activity_trigger(input_name="request", activity=Activity.NOTIFY_DISPATCHER)
def shipments_notify_dispatcher(request: dict) -> dict[str, Any]:
    """Tell the dispatcher (setting DISPATCHER_ADDRESS) something needs a person: `{messageId}`."""
    recipient = settings.get(DISPATCHER_SETTING, DEFAULT_DISPATCHER)
    result = notifications.client().send(
        recipient, request["template"], request.get("data") or {}, request["idempotencyKey"]
    )
    return {"messageId": result["messageId"]}
