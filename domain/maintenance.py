"""Aircraft maintenance orders: the request, the parts plan and the follow-up schedule.

Pure rules only: the orchestrators decide with them, the api validates with the models, and
unit tests check them without a host.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from domain.access import Actor, TakenAction
from domain.common import (
    ApiModel,
    BusinessId,
    Count,
    PortalAction,
    Workflow,
    require_unique,
    text,
)
from domain.contract import Action, Contract
from domain.roles import Role
from domain.views import StatusView

TailNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z0-9-]{2,10}$")
]
"""An aircraft registration such as `N123AB` or `D-AIBC` (upper-cased on the way in)."""

ShortText = Annotated[str, text(64)]
PersonName = Annotated[str, text(200)]
Text = Annotated[str, text(500)]
PartNumber = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,40}$")]

PARTS_REMINDER_EVERY = timedelta(hours=24)
"""While ordered parts have not arrived, the planner is reminded this often."""

APPROVAL_REMINDER_EVERY = timedelta(hours=24)
"""While return-to-service approval is pending, the approver is reminded this often."""

APPROVAL_ESCALATION_AFTER = timedelta(hours=72)
"""Approval still pending this long after it was requested is escalated (once)."""

FOLLOWUPS_AT_MOST = 14
"""Reminders (and the escalation) stop after this many daily follow-ups: the wait goes on
without timers, so an order or task nobody answers keeps a bounded history."""

AIRCRAFT_LOCK_DEADLINE = timedelta(days=14)
"""How long an order waits for an aircraft held by another order before giving up."""


class Stage(StrEnum):
    """The business stages of an order and of its tasks, as shown in custom status."""

    WAITING_FOR_AIRCRAFT = "waiting_for_aircraft"
    INSPECTING = "inspecting"
    PERFORMING_TASKS = "performing_tasks"
    DOCUMENTING = "documenting"
    AWAITING_RETURN_TO_SERVICE = "awaiting_return_to_service"
    COMPLETED = "completed"
    # stages of one task (the per-task sub-orchestration)
    CHECKING_PARTS = "checking_parts"
    ORDERING_PARTS = "ordering_parts"
    AWAITING_PARTS = "awaiting_parts"


class Activity(StrEnum):
    """The activities the workflow calls; the values are their function names."""

    RECORD_INSPECTION = "maintenance_record_inspection"
    CHECK_PART = "maintenance_check_part"
    ORDER_PART = "maintenance_order_part"
    GENERATE_COMPLIANCE = "maintenance_generate_compliance"
    NOTIFY = "maintenance_notify"


class Outcome(StrEnum):
    RETURNED_TO_SERVICE = "returned_to_service"
    RETURN_TO_SERVICE_DENIED = "return_to_service_denied"
    AIRCRAFT_UNAVAILABLE = "aircraft_unavailable"


class Event(StrEnum):
    """External events; the values are the Durable event names."""

    PARTS_RECEIVED = "PartsReceived"
    RETURN_TO_SERVICE_APPROVAL = "ReturnToServiceApproval"


class PartRequirement(ApiModel):
    part_number: PartNumber
    quantity: Count = Field(ge=1, le=10_000)


class MaintenanceTask(ApiModel):
    task_id: BusinessId
    description: Text
    parts: list[PartRequirement] = Field(
        default_factory=list, max_length=50, description="Each partNumber at most once."
    )

    @field_validator("parts")
    @classmethod
    def _parts_unique(cls, parts: list[PartRequirement]) -> list[PartRequirement]:
        require_unique((part.part_number for part in parts), "partNumber")
        return parts


class MaintenanceOrderRequest(ApiModel):
    """Body of `POST /api/maintenance-orders`."""

    order_id: BusinessId
    tail_number: TailNumber
    aircraft_type: ShortText
    requested_by: PersonName
    tasks: list[MaintenanceTask] = Field(
        min_length=1, max_length=50, description="Each taskId at most once."
    )

    @field_validator("tasks")
    @classmethod
    def _task_ids_unique(cls, tasks: list[MaintenanceTask]) -> list[MaintenanceTask]:
        require_unique((task.task_id for task in tasks), "taskId")
        return tasks


class MaintenanceOrder(MaintenanceOrderRequest):
    """The order as its workflow runs it: the request plus who started it, when signed in.

    `startedBy` rides in the instance input only (the api puts it there, the approval rule
    reads it back); dumps leave it out, so activities see the order as they always did.
    """

    started_by: Actor | None = Field(default=None, exclude=True)


class PartsReceived(PortalAction):
    """Body of `POST /api/maintenance-orders/{id}/parts-received`."""

    task_id: BusinessId


class ReturnToServiceApproval(PortalAction):
    """Body of `POST /api/maintenance-orders/{id}/approval`."""

    approved: bool = Field(strict=True)
    comment: Annotated[str, StringConstraints(max_length=1000)] | None = None


class SupplierOffer(ApiModel):
    """One supplier's answer for one part, as the suppliers adapter returns it."""

    model_config = ConfigDict(extra="ignore")

    supplier: str
    part_number: str
    available: int = Field(ge=0, description="Units the supplier can ship from stock now.")
    lead_time_days: int = Field(ge=0)


class PartDecision(ApiModel):
    """What to do about one required part."""

    part_number: str
    quantity: int
    action: Literal["in_stock", "order", "unsourced"]
    supplier: str | None = None
    lead_time_days: int | None = None


class TaskStatus(ApiModel):
    """Where one task of an order stands (its sub-orchestration's business stage)."""

    task_id: str
    runtime_status: str | None = None
    stage: str | None = None
    waiting_for: list[str] = Field(default_factory=list)
    actions: list[TakenAction] = Field(default_factory=list)


class MaintenanceStatusView(StatusView):
    """The order's business view plus its tasks, so a portal sees which task waits for parts."""

    tasks: list[TaskStatus] = Field(default_factory=list)


def aircraft_lock(tail_number: str) -> str:
    """The lock resource that lets one order at a time work on an aircraft."""
    return f"aircraft:{tail_number}"


def task_instance_id(order_instance_id: str, task_id: str) -> str:
    """The sub-orchestration id of one task, derived so the portal can address it directly.

    `:` never occurs in business ids, so a task id can never collide with another order's id.
    """
    return f"{order_instance_id}:task:{task_id}"


def plan_parts(
    required: Sequence[PartRequirement], offers: Iterable[SupplierOffer]
) -> list[PartDecision]:
    """Decide per part: take it from stock when a supplier has enough, else order it.

    From stock: the supplier with enough units and the shortest lead time. To order: the
    supplier with the shortest lead time. Ties break on the supplier code, so the plan never
    depends on the order in which suppliers answered. A part no supplier carries is `unsourced`
    (the planner must source it by hand; the task still waits for it to be received).
    """
    by_part: dict[str, list[SupplierOffer]] = {}
    for offer in offers:
        by_part.setdefault(offer.part_number, []).append(offer)
    decisions = []
    for part in required:
        candidates = sorted(
            by_part.get(part.part_number, []), key=lambda o: (o.lead_time_days, o.supplier)
        )
        stocked = [offer for offer in candidates if offer.available >= part.quantity]
        action: Literal["in_stock", "order", "unsourced"]
        if stocked:
            action, chosen = "in_stock", stocked[0]
        elif candidates:
            action, chosen = "order", candidates[0]
        else:
            action, chosen = "unsourced", None
        decisions.append(
            PartDecision(
                part_number=part.part_number,
                quantity=part.quantity,
                action=action,
                supplier=chosen.supplier if chosen else None,
                lead_time_days=chosen.lead_time_days if chosen else None,
            )
        )
    return decisions


def needs_parts(decisions: Iterable[PartDecision]) -> bool:
    """True when the task must wait for parts to be received before it can be done."""
    return any(decision.action != "in_stock" for decision in decisions)


def approval_followup(elapsed: timedelta, escalated: bool) -> Literal["remind", "escalate"]:
    """What to do at a follow-up tick while return-to-service approval is pending.

    Ticks come every APPROVAL_REMINDER_EVERY; the first tick at or past the escalation point
    escalates (once), every other tick reminds.
    """
    if not escalated and elapsed >= APPROVAL_ESCALATION_AFTER:
        return "escalate"
    return "remind"


def task_result(
    task_id: str,
    decisions: Sequence[PartDecision],
    orders: Sequence[dict[str, Any]],
    parts_received_at: str | None,
    completed_at: str,
    parts_received_by: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON result of one completed task, as the order's output lists it (with who said
    the parts were received, when the task waited for them)."""
    return {
        "taskId": task_id,
        "status": "completed",
        "parts": [d.model_dump(mode="json", by_alias=True, exclude_none=True) for d in decisions],
        "orders": list(orders),
        "partsReceivedAt": parts_received_at,
        "partsReceivedBy": parts_received_by,
        "completedAt": completed_at,
    }


CONTRACT = Contract(
    workflow=Workflow.MAINTENANCE,
    id_param="orderId",
    start=MaintenanceOrderRequest,
    status=MaintenanceStatusView,
    stages=Stage,
    events=Event,
    actions=(
        Action(
            "parts-received",
            Event.PARTS_RECEIVED,
            PartsReceived,
            frozenset({Role.MAINTENANCE_CONTROLLER}),
            "Parts for one task were received",
        ),
        Action(
            "approval",
            Event.RETURN_TO_SERVICE_APPROVAL,
            ReturnToServiceApproval,
            frozenset({Role.CERTIFYING_INSPECTOR}),
            "Approve (or refuse) the aircraft's return to service; never by its requester",
        ),
    ),
    supervisors=frozenset({Role.MAINTENANCE_CONTROLLER}),
)
