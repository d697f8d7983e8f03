"""Maintenance orders over HTTP: start, status (with each task's stage), parts received, approval.

Parts are received per task. Each task runs as a sub-orchestration under an id derived from
the order and the task id, so `parts-received` raises `PartsReceived` on that task directly;
the order's view lists its tasks and shows `PartsReceived` in `waitingFor` while any waits.
"""

from __future__ import annotations

import asyncio
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from api import openapi
from api.common import (
    ProblemError,
    deliver_event,
    find_status,
    handle_errors,
    json_response,
    parse_body,
    raise_portal_event,
    route_id,
    start_workflow,
    started_input,
    status_url,
    status_view,
)
from api.idempotency import IdempotentAction
from api.identity import acting, authorize, principal
from api.verdict import ACTIVE, standing
from domain.access import Actor, is_requester, roles_for
from domain.common import Workflow, to_json
from domain.maintenance import (
    Event,
    MaintenanceOrder,
    MaintenanceOrderRequest,
    MaintenanceStatusView,
    PartsReceived,
    ReturnToServiceApproval,
    Stage,
    TaskStatus,
    task_instance_id,
)
from domain.views import Accepted, Problem, Started

bp = df.Blueprint()
MAINTENANCE = Workflow.MAINTENANCE


@bp.route(route="maintenance-orders", methods=["POST"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def start_maintenance_order(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """Validate the order and start its workflow under `maintenance-<orderId>`.

    Who started it (when signed in) travels with the order: they may not approve its return
    to service.
    """
    order = parse_body(req, MaintenanceOrderRequest)
    started_by = principal(req)
    payload = {**to_json(order), "startedBy": to_json(started_by) if started_by else None}
    return await start_workflow(req, client, MAINTENANCE, order.order_id, payload)


@bp.route(route="maintenance-orders/{orderId}", methods=["GET"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def get_maintenance_order(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """Where the order stands; while tasks run, where each task stands."""
    order_id = route_id(req, "orderId")
    status = await _find_order(client, order_id)
    view = status_view(MAINTENANCE, status)
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    tasks: list[TaskStatus] = []
    if view.stage == Stage.PERFORMING_TASKS and view.runtime_status in ACTIVE:
        task_ids = custom.get("tasks") or []
        tasks = list(await asyncio.gather(*(_task_status(client, status, t) for t in task_ids)))
    waiting = list(view.waiting_for)
    if any(Event.PARTS_RECEIVED in task.waiting_for for task in tasks):
        waiting.append(Event.PARTS_RECEIVED)
    body = MaintenanceStatusView(**{**dict(view), "waiting_for": waiting}, tasks=tasks)
    return json_response(body)


@bp.route(route="maintenance-orders/{orderId}/parts-received", methods=["POST"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def receive_parts(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """Parts for one task arrived (a maintenance controller): 202 when that task waits for
    them, else 401, 403, 404 or 409."""
    caller = authorize(req, Event.PARTS_RECEIVED)
    order_id = route_id(req, "orderId")
    order = await _find_order(client, order_id)
    body = parse_body(req, PartsReceived)
    actor = acting(caller, body.actor)
    url = status_url(req, MAINTENANCE, order_id)
    task_id = task_instance_id(order.instance_id, body.task_id)
    task = await client.get_status(task_id)
    if not task or task.runtime_status is None:
        if body.task_id not in {task.task_id for task in (await _order(client, order)).tasks}:
            raise ProblemError(404, f"Order {order_id} has no task {body.task_id!r}.")
        raise ProblemError(
            409, f"Task {body.task_id} of {order_id} has not started yet.", status_url=url
        )
    view = status_view(MAINTENANCE, task)
    action = await IdempotentAction.begin(req, client, order.instance_id, to_json(body), actor)
    if (earlier := action.replay(task, Event.PARTS_RECEIVED, url, order.instance_id)) is not None:
        return earlier
    if view.runtime_status not in ACTIVE or Event.PARTS_RECEIVED not in view.waiting_for:
        raise ProblemError(
            409,
            f"Task {body.task_id} of {order_id} is {standing(view.runtime_status, view.stage)}, "
            "not waiting for parts.",
            status_url=url,
        )
    accepted = await raise_portal_event(
        client, task, Event.PARTS_RECEIVED, body, actor, url, action, shown_as=order.instance_id
    )
    return await action.remember(client, json_response(accepted, 202))


@bp.route(route="maintenance-orders/{orderId}/approval", methods=["POST"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def approve_return_to_service(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """Return-to-service decision by a certifying inspector who did not request the order;
    who decided is recorded as approvedBy."""
    event = Event.RETURN_TO_SERVICE_APPROVAL

    async def not_the_requester(status: Any, actor: Actor) -> None:
        order = await _order(client, status)
        if is_requester(actor, order.requested_by, order.started_by):
            raise ProblemError(
                403,
                f"{actor.name} requested maintenance order {order.order_id} and so may not "
                "approve its return to service; another certifying inspector must.",
                required_roles=sorted(roles_for(event)),
            )

    order_id = route_id(req, "orderId")
    return await deliver_event(
        req, client, MAINTENANCE, order_id, event, ReturnToServiceApproval, vet=not_the_requester
    )


async def _find_order(client: df.DurableOrchestrationClient, order_id: str) -> Any:
    status = await find_status(client, MAINTENANCE, order_id)
    if status is None:
        raise ProblemError(404, f"No maintenance order has the id {order_id!r}.")
    return status


async def _task_status(client: df.DurableOrchestrationClient, order: Any, task: str) -> TaskStatus:
    status = await client.get_status(task_instance_id(order.instance_id, task))
    if not status or status.runtime_status is None:
        return TaskStatus(task_id=task, runtime_status="Pending")
    view = status_view(MAINTENANCE, status)
    return TaskStatus(
        task_id=task,
        runtime_status=view.runtime_status,
        stage=view.stage,
        waiting_for=view.waiting_for,
        actions=view.actions,
    )


async def _order(client: df.DurableOrchestrationClient, status: Any) -> MaintenanceOrder:
    """The order as it was started (read from the instance's input)."""
    found = await client.get_status(status.instance_id, show_input=True)
    return MaintenanceOrder.model_validate((started_input(found) if found else None) or {})


openapi.workflow(
    "maintenance-orders",
    "orderId",
    tag="maintenance",
    start=MaintenanceOrderRequest,
    started=Started,
    status=MaintenanceStatusView,
    problem=Problem,
    accepted=Accepted,
    actions={
        "parts-received": (
            "Parts for one task were received",
            PartsReceived,
            Event.PARTS_RECEIVED,
        ),
        "approval": (
            "Approve (or refuse) the aircraft's return to service; never by its requester",
            ReturnToServiceApproval,
            Event.RETURN_TO_SERVICE_APPROVAL,
        ),
    },
)
