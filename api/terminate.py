"""`POST /api/workflows/{instanceId}/terminate`: stop an instance for good and free its locks.

Terminating through the Durable HTTP API stops the instance without running any of its code,
so a lock it held would stay taken until a waiter's lease check finds the holder gone (hours,
for a policy or an aircraft). This route terminates, waits until the host has done so, and
starts the `locks_release` orchestration (orchestrators/locking.py), which takes the instance
off every lock its custom status lists (held, or queued for) and wakes each next holder.
"""

from __future__ import annotations

import asyncio

import azure.durable_functions as df
import azure.functions as func

from api import openapi
from api.common import (
    ProblemError,
    find_status,
    handle_errors,
    json_response,
    parse_body,
    started_input,
)
from api.common import status_url as business_status_url
from api.identity import acting, authorize
from api.verdict import ACTIVE, runtime, standing
from domain.common import Workflow, parse_instance_id
from domain.locks import LOCKS_RELEASE, release_instance_id
from domain.maintenance import task_instance_id
from domain.views import Problem, Terminated, TerminateRequest
from domain.workflows import CONTRACTS

bp = df.Blueprint()

TERMINATE_WAIT_SECONDS = 10.0
POLL_SECONDS = 0.05


@bp.route(route="workflows/{instanceId}/terminate", methods=["POST"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def terminate_instance(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """202 once the instance is terminated and its locks are being handed on; 404 unknown,
    409 when it already ended."""
    instance_id = req.route_params.get("instanceId", "")
    parsed = parse_instance_id(instance_id)
    if parsed is None:
        raise ProblemError(404, f"No workflow instance has the id {instance_id!r}.")
    workflow, business_id = parsed
    caller = authorize(req, f"terminating a {workflow.value}", CONTRACTS[workflow].supervisors)
    body = parse_body(req, TerminateRequest)
    actor = acting(caller, body.actor)
    status = await find_status(client, workflow, business_id)
    url = business_status_url(req, workflow, business_id)
    if status is None:
        raise ProblemError(404, f"No {workflow.value} has the id {business_id!r}.")
    if runtime(status) not in ACTIVE:
        custom = status.custom_status if isinstance(status.custom_status, dict) else {}
        where = standing(runtime(status), custom.get("stage"))
        raise ProblemError(409, f"{instance_id} is {where}; it has ended.", status_url=url)
    reason = f"{body.reason} (terminated by {actor.name})"
    await client.terminate(instance_id, reason)
    for child in await _running_children(client, workflow, instance_id):
        await client.terminate(child, reason)
    status = await _terminated(client, instance_id)
    locks = _locks_of(status)
    if locks:
        await client.start_new(
            LOCKS_RELEASE,
            release_instance_id(instance_id),
            {"owner": instance_id, "resources": locks},
        )
    answer = Terminated(
        id=instance_id, status_url=url, reason=reason, by=actor, released_locks=locks
    )
    return json_response(answer, 202, headers={"Location": url})


async def _terminated(
    client: df.DurableOrchestrationClient, instance_id: str
) -> df.DurableOrchestrationStatus:
    """The status once the host has processed the termination: a lock must not be handed on
    while its holder might still run an episode. 500 when it has not within the wait."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TERMINATE_WAIT_SECONDS
    while runtime(status := await client.get_status(instance_id)) in ACTIVE:
        if loop.time() >= deadline:
            raise RuntimeError(f"{instance_id} was not terminated within {TERMINATE_WAIT_SECONDS}s")
        await asyncio.sleep(POLL_SECONDS)
    return status


async def _running_children(
    client: df.DurableOrchestrationClient, workflow: Workflow, instance_id: str
) -> list[str]:
    """A maintenance order's task sub-orchestrations still running: terminating the order
    does not stop them, and they would wait for parts nobody can send any more."""
    if workflow is not Workflow.MAINTENANCE:
        return []
    order = await client.get_status(instance_id, show_input=True)
    tasks = (started_input(order) or {}).get("tasks") if order else None
    children = [task_instance_id(instance_id, task["taskId"]) for task in tasks or []]
    statuses = await asyncio.gather(*(client.get_status(child) for child in children))
    return [
        child for child, status in zip(children, statuses, strict=True) if runtime(status) in ACTIVE
    ]


def _locks_of(status: df.DurableOrchestrationStatus) -> list[str]:
    """The locks an instance held (`locks`) or was queued for (`lock`), from its custom status."""
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    found = [name for name in custom.get("locks") or [] if isinstance(name, str)]
    queued = custom.get("lock")
    if isinstance(queued, dict) and isinstance(queued.get("resource"), str):
        found.append(queued["resource"])
    return list(dict.fromkeys(found))


openapi.operation(
    "POST",
    "/workflows/{instanceId}/terminate",
    "Stop an instance for good; its locks pass to their next waiters at once",
    tag="workflows",
    body=TerminateRequest,
    responses={202: Terminated, 400: Problem, 404: Problem, 409: Problem},
    roles=sorted({str(role) for c in CONTRACTS.values() for role in c.supervisors}),
)
