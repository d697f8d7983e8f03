"""The maintenance order orchestrator and its per-task sub-orchestrator.

    waiting_for_aircraft ─► inspecting ─► performing_tasks ─► documenting
        ─► awaiting_return_to_service ─► completed

The aircraft lock (`aircraft:<tail>`) is held from the inspection until the customer has been
told, and released on every path. Each task runs as its own sub-orchestration under an id
derived from the order and the task (`task_instance_id`), so the portal raises `PartsReceived`
on that task directly: the order never has to forward events while it waits for all tasks.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from domain.common import iso, to_json
from domain.maintenance import (
    AIRCRAFT_LOCK_DEADLINE,
    APPROVAL_REMINDER_EVERY,
    FOLLOWUPS_AT_MOST,
    PARTS_REMINDER_EVERY,
    Activity,
    Event,
    MaintenanceOrder,
    MaintenanceTask,
    Outcome,
    Stage,
    SupplierOffer,
    aircraft_lock,
    approval_followup,
    needs_parts,
    plan_parts,
    task_instance_id,
    task_result,
)
from orchestrators.common import (
    log,
    record_action,
    retry,
    set_stage,
    taken_actions,
    wait_for_event,
)
from orchestrators.inbox import Steps
from orchestrators.locking import LockPolicy, acquire_lock, holding_lock

bp = df.Blueprint()

TASK_ORCHESTRATOR = "maintenance_task"
STEP_RETRY = retry(attempts=3, first_interval=timedelta(seconds=5))
AIRCRAFT_LOCK = LockPolicy(
    lease=timedelta(hours=12), deadline=AIRCRAFT_LOCK_DEADLINE, max_poll=timedelta(hours=12)
)


@bp.orchestration_trigger(context_name="context")
def maintenance_orchestrator(context: df.DurableOrchestrationContext) -> Steps:
    """Run one maintenance order (input: the validated MaintenanceOrder JSON)."""
    order = MaintenanceOrder.model_validate(context.get_input())
    timestamps = {"requestedAt": iso(context.current_utc_datetime)}
    resource = aircraft_lock(order.tail_number)
    lock = yield from acquire_lock(context, resource, AIRCRAFT_LOCK, Stage.WAITING_FOR_AIRCRAFT)
    if not lock.granted:
        yield from set_stage(context, Stage.COMPLETED, outcome=Outcome.AIRCRAFT_UNAVAILABLE)
        return {
            "orderId": order.order_id,
            "tailNumber": order.tail_number,
            "outcome": Outcome.AIRCRAFT_UNAVAILABLE.value,
            "aircraftLock": lock.to_json(),
            "timestamps": timestamps,
        }
    timestamps["aircraftAcquiredAt"] = iso(context.current_utc_datetime)
    output = yield from holding_lock(
        context, resource, _work_on_aircraft(context, order, timestamps)
    )
    output["aircraftLock"] = lock.to_json()
    yield from set_stage(context, Stage.COMPLETED, outcome=output["outcome"])
    return output


def _work_on_aircraft(
    context: df.DurableOrchestrationContext,
    order: MaintenanceOrder,
    timestamps: dict[str, str],
) -> Steps:
    """Everything done while holding the aircraft: inspect, tasks, document, approval, notice."""
    order_json = to_json(order)
    key = context.instance_id
    yield from set_stage(context, Stage.INSPECTING)
    inspection = yield context.call_activity_with_retry(
        Activity.RECORD_INSPECTION,
        STEP_RETRY,
        {"order": order_json, "idempotencyKey": f"{key}:inspection"},
    )

    task_ids = [task.task_id for task in order.tasks]
    yield from set_stage(context, Stage.PERFORMING_TASKS, tasks=task_ids)
    results = yield context.task_all(
        [
            context.call_sub_orchestrator(
                TASK_ORCHESTRATOR,
                {"orderId": order.order_id, "task": to_json(task)},
                task_instance_id(key, task.task_id),
            )
            for task in order.tasks
        ]
    )
    timestamps["tasksCompletedAt"] = iso(context.current_utc_datetime)

    yield from set_stage(context, Stage.DOCUMENTING)
    document = yield context.call_activity_with_retry(
        Activity.GENERATE_COMPLIANCE,
        STEP_RETRY,
        {"order": order_json, "results": results, "idempotencyKey": f"{key}:compliance"},
    )

    decision = yield from _await_return_to_service(context, order, document["documentId"])
    timestamps["approvalRequestedAt"] = decision.pop("requestedAt")
    timestamps["decidedAt"] = decision["decidedAt"]
    approved = decision["approved"]
    outcome = Outcome.RETURNED_TO_SERVICE if approved else Outcome.RETURN_TO_SERVICE_DENIED
    yield from _notify(
        context,
        "customer",
        {"recipient": order.requested_by},
        "maintenance_order_completed",
        {"outcome": outcome.value, "complianceDocumentId": document["documentId"]},
    )
    timestamps["completedAt"] = iso(context.current_utc_datetime)
    return {
        "orderId": order.order_id,
        "tailNumber": order.tail_number,
        "outcome": outcome.value,
        "inspectionId": inspection["inspectionId"],
        "tasks": results,
        "complianceDocumentId": document["documentId"],
        "actions": taken_actions(context),
        "approvedBy": decision.get("actor") if approved else None,
        "decision": decision,
        "timestamps": timestamps,
    }


def _await_return_to_service(
    context: df.DurableOrchestrationContext, order: MaintenanceOrder, document_id: str
) -> Steps:
    """Wait for ReturnToServiceApproval: a reminder every 24 h, one escalation after 72 h,
    then, after FOLLOWUPS_AT_MOST follow-ups, quietly (no timers: bounded history)."""
    waiting = [Event.RETURN_TO_SERVICE_APPROVAL]
    stage = Stage.AWAITING_RETURN_TO_SERVICE
    yield from set_stage(context, stage, waiting, complianceDocumentId=document_id)
    requested_at = context.current_utc_datetime
    escalated, reminders, tick = False, 0, 0
    while True:
        tick += 1
        next_followup = requested_at + tick * APPROVAL_REMINDER_EVERY
        received = yield from wait_for_event(
            context,
            [Event.RETURN_TO_SERVICE_APPROVAL],
            next_followup if tick <= FOLLOWUPS_AT_MOST else None,
        )
        if received is not None:
            record_action(context, Event.RETURN_TO_SERVICE_APPROVAL, received[1])
            break
        action = approval_followup(context.current_utc_datetime - requested_at, escalated)
        if action == "escalate":
            escalated = True
            yield from _notify(
                context,
                "escalation",
                {"role": "manager"},
                "maintenance_approval_overdue",
                {"complianceDocumentId": document_id},
            )
            yield from set_stage(
                context, stage, waiting, complianceDocumentId=document_id, escalated=True
            )
        else:
            reminders += 1
            yield from _notify(
                context,
                f"approval-reminder-{reminders}",
                {"role": "planner"},
                "maintenance_approval_reminder",
                {"reminder": reminders},
            )
    _, payload = received
    return {
        "approved": bool(payload.get("approved")),
        "comment": payload.get("comment"),
        "actor": payload.get("actor"),
        "requestedAt": iso(requested_at),
        "decidedAt": iso(context.current_utc_datetime),
        "reminders": reminders,
        "escalated": escalated,
    }


@bp.orchestration_trigger(context_name="context")
def maintenance_task(context: df.DurableOrchestrationContext) -> Steps:
    """One task of an order: check parts, order what is missing, wait for it, complete.

    Input `{orderId, task}`; output the task result (domain.maintenance.task_result).
    """
    task = MaintenanceTask.model_validate(context.get_input()["task"])
    key = context.instance_id
    yield from set_stage(context, Stage.CHECKING_PARTS)
    offers: list[SupplierOffer] = []
    if task.parts:
        answers = yield context.task_all(
            [
                context.call_activity_with_retry(
                    Activity.CHECK_PART,
                    STEP_RETRY,
                    {"partNumber": part.part_number, "quantity": part.quantity},
                )
                for part in task.parts
            ]
        )
        offers = [SupplierOffer.model_validate(offer) for answer in answers for offer in answer]
    plan = plan_parts(task.parts, offers)

    orders: list[dict[str, Any]] = []
    to_order = [decision for decision in plan if decision.action == "order"]
    if to_order:
        yield from set_stage(context, Stage.ORDERING_PARTS)
        orders = yield context.task_all(
            [
                context.call_activity_with_retry(
                    Activity.ORDER_PART,
                    STEP_RETRY,
                    {
                        "supplier": decision.supplier,
                        "partNumber": decision.part_number,
                        "quantity": decision.quantity,
                        "idempotencyKey": f"{key}:order:{decision.part_number}",
                    },
                )
                for decision in to_order
            ]
        )

    received_at = received_by = None
    if needs_parts(plan):
        missing = [d.part_number for d in plan if d.action != "in_stock"]
        yield from set_stage(context, Stage.AWAITING_PARTS, [Event.PARTS_RECEIVED], parts=missing)
        reminders = 0
        while True:
            due = context.current_utc_datetime + PARTS_REMINDER_EVERY
            if reminders == FOLLOWUPS_AT_MOST:
                due = None  # reminded enough: wait on, without timers
            received = yield from wait_for_event(context, [Event.PARTS_RECEIVED], due)
            if received is not None:
                record_action(context, Event.PARTS_RECEIVED, received[1])
                received_by = received[1].get("actor")
                break
            reminders += 1
            yield from _notify(
                context,
                f"parts-reminder-{reminders}",
                {"role": "planner"},
                "maintenance_parts_reminder",
                {"parts": missing},
            )
        received_at = iso(context.current_utc_datetime)
        log(context, "parts received for task %s", task.task_id)

    yield from set_stage(context, Stage.COMPLETED)
    completed_at = iso(context.current_utc_datetime)
    return task_result(task.task_id, plan, orders, received_at, completed_at, received_by)


def _notify(
    context: df.DurableOrchestrationContext,
    step: str,
    to: dict[str, str],
    template: str,
    data: dict[str, Any],
) -> Steps:
    """Send one message (to a recipient or a role), once per instance and step."""
    yield context.call_activity_with_retry(
        Activity.NOTIFY,
        STEP_RETRY,
        {
            **to,
            "template": template,
            "data": {"instanceId": context.instance_id, **data},
            "idempotencyKey": f"{context.instance_id}:notify:{step}",
        },
    )
