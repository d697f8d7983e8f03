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

from api.common import (
    ProblemError,
    Vetting,
    find_status,
    json_response,
    parse_body,
    raise_portal_event,
    route_id,
    started_input,
    status_url,
    status_view,
)
from api.idempotency import IdempotentAction
from api.identity import acting, authorize, principal
from api.verdict import ACTIVE, standing
from api.workflow_routes import register
from domain.access import Actor, is_requester
from domain.common import Workflow, to_json
from domain.maintenance import (
    CONTRACT,
    Event,
    MaintenanceOrder,
    MaintenanceOrderRequest,
    MaintenanceStatusView,
    PartsReceived,
    Stage,
    TaskStatus,
    task_instance_id,
)
from domain.workflows import roles_for

bp = df.Blueprint()
MAINTENANCE = Workflow.MAINTENANCE


def with_requester(req: func.HttpRequest, order: MaintenanceOrderRequest) -> dict[str, Any]:
    """The order as it starts: who started it (when signed in) travels with it, since they may
    not approve its return to service."""
    started_by = principal(req)
    return {**to_json(order), "startedBy": to_json(started_by) if started_by else None}


async def order_view(req: func.HttpRequest, client: df.DurableOrchestrationClient):
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


def not_the_requester(client: df.DurableOrchestrationClient) -> Vetting:
    """A certifying inspector who did not request the order decides its return to service."""

    async def vet(status: Any, actor: Actor) -> None:
        order = await _order(client, status)
        if is_requester(actor, order.requested_by, order.started_by):
            raise ProblemError(
                403,
                f"{actor.name} requested maintenance order {order.order_id} and so may not "
                "approve its return to service; another certifying inspector must.",
                required_roles=sorted(roles_for(Event.RETURN_TO_SERVICE_APPROVAL)),
            )

    return vet


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


register(
    bp,
    CONTRACT,
    start_payload=with_requester,
    status=order_view,
    actions={Event.PARTS_RECEIVED: receive_parts},
    vet={Event.RETURN_TO_SERVICE_APPROVAL: not_the_requester},
)
