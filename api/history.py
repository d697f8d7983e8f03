"""`GET /api/workflows/{instanceId}/history`: one instance as the console's instance page shows
it: the request, the stage, and the history as a timeline (domain/timeline.py).

The instance id is a workflow's (`claim-CLM-1`) or one of a maintenance order's tasks
(`maintenance-MO-1:task:T1`); anything else is simply not found.
"""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from api import openapi
from api.common import ProblemError, handle_errors, json_response, started_input
from api.verdict import ACTIVE
from domain.common import Workflow, is_business_id, parse_instance_id
from domain.timeline import build_timeline
from domain.views import InstanceHistory, Problem

bp = df.Blueprint()


def _parse(instance_id: str) -> tuple[Workflow, str, str | None]:
    """(workflow, business id, task id or None), or a 404 for ids that are not ours."""
    order, _, task = instance_id.partition(":task:")
    parsed = parse_instance_id(order)
    is_task = bool(task) and parsed is not None and parsed[0] is Workflow.MAINTENANCE
    if parsed is None or (task and not (is_task and is_business_id(task))):
        raise ProblemError(404, f"No workflow instance has the id {instance_id!r}.")
    return parsed[0], parsed[1], task or None


@bp.route(route="workflows/{instanceId}/history", methods=["GET"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def instance_history(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """The instance page's data: 404 for an unknown id."""
    instance_id = req.route_params.get("instanceId", "")
    workflow, business_id, task_id = _parse(instance_id)
    status = await client.get_status(instance_id, show_history=True, show_input=True)
    if not status or status.runtime_status is None:
        raise ProblemError(404, f"No workflow instance has the id {instance_id!r}.")
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    # The SDK keeps the answer's `historyEvents` under that name (its `history` stays empty).
    events = getattr(status, "historyEvents", None) or status.history or []
    runtime_status = status.runtime_status.value
    body = InstanceHistory(
        id=instance_id,
        workflow=workflow,
        business_id=business_id,
        task_id=task_id,
        runtime_status=runtime_status,
        stage=custom.get("stage"),
        waiting_for=custom.get("waitingFor") or [],
        custom_status=status.custom_status,
        created_time=status.created_time,
        last_updated_time=status.last_updated_time,
        input=started_input(status),
        output=status.output,
        timeline=build_timeline(events, running=runtime_status in ACTIVE),
    )
    return json_response(body)


openapi.operation(
    "GET",
    "/workflows/{instanceId}/history",
    "One instance with its history as a timeline (activities, retries, timers, events, locks)",
    tag="workflows",
    responses={200: InstanceHistory, 404: Problem},
)
