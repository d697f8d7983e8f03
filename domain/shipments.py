"""Freight shipments: the request a portal sends, carrier quotes, and the rules that rank them.

Everything here is pure: the orchestrator imports these rules to decide, the api validates
requests with these models, and unit tests exercise both without a host.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import (
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from domain.common import (
    ApiModel,
    BusinessId,
    Count,
    PortalAction,
    Timestamp,
    Workflow,
    edge_now,
    text,
)
from domain.contract import Action, Contract
from domain.roles import Role
from domain.views import StatusView

PostalCode = Annotated[str, text(16)]

CarrierCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9_-]{1,32}$")]
"""A carrier code as configured (upper case, e.g. `FASTFREIGHT`)."""

QUOTE_DEADLINE = timedelta(minutes=5)
"""How long quoting may take: carriers that have not answered by then are left out."""

PICKUP_ESCALATION_AFTER = timedelta(minutes=12)
"""A booked pickup not confirmed this long after booking is escalated to the dispatcher."""

MAX_PICKUP_LEAD = timedelta(days=5 * 365)
"""How far ahead a pickup may be booked: later windows are typos, not plans."""

PICKUP_START_SLACK = timedelta(days=1)
"""A window that started less than this ago is still accepted (a same-day booking)."""

MAX_PICKUP_WINDOW = timedelta(days=31)
"""The longest pickup window a carrier is asked to quote for."""

DEFAULT_PICKUP_GRACE_MINUTES = 30
"""Default of PICKUP_GRACE_MINUTES: how long after the window a pickup may still come."""


class Stage(StrEnum):
    """The business stages of a shipment, as shown in its custom status."""

    QUOTING = "quoting"
    BOOKING = "booking"
    AWAITING_PICKUP = "awaiting_pickup"
    IN_TRANSIT = "in_transit"
    COMPENSATING = "compensating"
    COMPLETED = "completed"


class Activity(StrEnum):
    """The activities the workflow calls; the values are their function names."""

    CONFIG = "shipments_config"
    QUOTE = "shipments_quote"
    RESERVE = "shipments_reserve"
    BOOK = "shipments_book"
    CANCEL_RESERVATION = "shipments_cancel_reservation"
    CANCEL_BOOKING = "shipments_cancel_booking"
    NOTIFY_DISPATCHER = "shipments_notify_dispatcher"


class Outcome(StrEnum):
    """How a shipment ended."""

    DELIVERED = "delivered"
    UNBOOKED = "unbooked"
    MISSED_PICKUP = "missed_pickup"
    CANCELLED = "cancelled"


class Event(StrEnum):
    """External events a shipment accepts; the values are the Durable event names."""

    PICKUP_CONFIRMED = "PickupConfirmed"
    DELIVERED = "Delivered"
    CANCEL = "Cancel"


class Place(ApiModel):
    postal_code: PostalCode
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = Field(
        description="ISO 3166-1 alpha-2 country code, upper case."
    )


class PickupWindow(ApiModel):
    """When the carrier may collect: `end` after `start`, at most 31 days after it."""

    start: Timestamp = Field(
        description=f"Not more than a day in the past, at most {MAX_PICKUP_LEAD.days} days ahead."
    )
    end: Timestamp = Field(
        description=f"After start, at most {MAX_PICKUP_WINDOW.days} days after it."
    )

    @field_validator("start")
    @classmethod
    def _start_soon(cls, start: datetime, info: ValidationInfo) -> datetime:
        now = edge_now(info)
        if now is not None and not now - PICKUP_START_SLACK <= start <= now + MAX_PICKUP_LEAD:
            raise ValueError(f"must be between a day ago and {MAX_PICKUP_LEAD.days} days from now")
        return start

    @model_validator(mode="after")
    def _end_after_start(self) -> PickupWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.end - self.start > MAX_PICKUP_WINDOW:
            raise ValueError(f"the window must be at most {MAX_PICKUP_WINDOW.days} days long")
        return self


class ShipmentRequest(ApiModel):
    """Body of `POST /api/shipments`."""

    shipment_id: BusinessId
    origin: Place
    destination: Place
    pickup_window: PickupWindow
    pallets: Count = Field(ge=1, le=100)
    weight_kg: float = Field(strict=True, gt=0, le=100_000, allow_inf_nan=False)
    carriers: list[CarrierCode] | None = Field(
        default=None,
        min_length=1,
        description="Only ask these configured carriers; all configured carriers when absent.",
    )


class PickupConfirmation(PortalAction):
    """Body of `POST /api/shipments/{id}/pickup`."""

    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class DeliveryConfirmation(PortalAction):
    """Body of `POST /api/shipments/{id}/delivery`."""

    received_by: Annotated[str, StringConstraints(max_length=200)] | None = None


class CancelRequest(PortalAction):
    """Body of `POST /api/shipments/{id}/cancel`."""

    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class Quote(ApiModel):
    """A carrier's offer, as the carriers adapter returns it (extra partner fields ignored)."""

    model_config = ConfigDict(extra="ignore")

    carrier: str
    quote_id: str
    price: float
    currency: str
    capacity_pallets: int
    pickup_date: date
    transit_days: int = Field(ge=0)


def is_eligible(quote: Quote, pallets: int, window: PickupWindow) -> bool:
    """A quote can carry the shipment: enough pallet capacity, a pickup day inside the window,
    and a real price (a zero or non-finite price is a carrier bug, not a bargain)."""
    return (
        quote.capacity_pallets >= pallets
        and window.start.date() <= quote.pickup_date <= window.end.date()
        and math.isfinite(quote.price)
        and quote.price > 0
    )


def rank_key(quote: Quote) -> tuple[float, int, str, str, date, int, str]:
    """Cheapest first, then fastest, then by carrier and quote id; the remaining fields (more
    room first) make the order total, so no tie ever depends on the order in which carriers
    happened to answer, not even between two offers a carrier sent under one quote id."""
    return (
        quote.price,
        quote.transit_days,
        quote.carrier,
        quote.quote_id,
        quote.pickup_date,
        -quote.capacity_pallets,
        quote.currency,
    )


def rank_quotes(quotes: Iterable[Quote], pallets: int, window: PickupWindow) -> list[Quote]:
    """The eligible quotes, best first; ineligible quotes are dropped, never ranked last."""
    return sorted((q for q in quotes if is_eligible(q, pallets, window)), key=rank_key)


def select_carriers(configured: Sequence[str], requested: Sequence[str] | None) -> list[str]:
    """The carriers to ask: the configured ones, narrowed to the requested subset if any.

    Requested codes that are not configured are ignored (the result lists what was asked)."""
    if requested is None:
        return list(configured)
    wanted = set(requested)
    return [code for code in configured if code in wanted]


def carrier_lock(carrier: str, pickup_date: date | str) -> str:
    """The lock resource guarding one carrier's capacity on one pickup day."""
    return f"carrier:{carrier}:{pickup_date}"


def pickup_deadline(window: PickupWindow, grace_minutes: float) -> datetime:
    """When an unconfirmed pickup is given up: the end of the window plus the grace period."""
    return window.end + timedelta(minutes=grace_minutes)


def pickup_escalation_at(booked_at: datetime, deadline: datetime) -> datetime | None:
    """When to escalate a missing pickup; None when the deadline comes first (nothing to add)."""
    escalate_at = booked_at + PICKUP_ESCALATION_AFTER
    return escalate_at if escalate_at < deadline else None


def transit_deadline(picked_up_at: datetime, transit_days: int) -> datetime:
    """When delivery is overdue: the quoted transit time after the confirmed pickup."""
    return picked_up_at + timedelta(days=max(transit_days, 1))


CONTRACT = Contract(
    workflow=Workflow.SHIPMENT,
    id_param="shipmentId",
    start=ShipmentRequest,
    status=StatusView,
    stages=Stage,
    events=Event,
    actions=(
        Action(
            "pickup",
            Event.PICKUP_CONFIRMED,
            PickupConfirmation,
            frozenset({Role.DISPATCHER, Role.CARRIER}),
            "Confirm the pickup",
        ),
        Action(
            "delivery",
            Event.DELIVERED,
            DeliveryConfirmation,
            frozenset({Role.DISPATCHER, Role.CARRIER}),
            "Confirm the delivery",
        ),
        Action(
            "cancel",
            Event.CANCEL,
            CancelRequest,
            frozenset({Role.DISPATCHER}),
            "Cancel the shipment, compensating any reservation or booking",
        ),
    ),
    supervisors=frozenset({Role.DISPATCHER}),
)
