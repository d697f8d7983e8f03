"""Support's actions on one instance: terminate it for good, or rewind it after a failure.

`POST /api/workflows/{instanceId}/terminate` stops an instance and frees its locks at once.
Terminating through the Durable HTTP API runs none of the instance's code, so a lock it held
would stay taken until a waiter's lease check finds the holder gone (hours, for a policy or an
aircraft). This route terminates, waits until the host has done so, and starts the
`locks_release` orchestration (orchestrators/locking.py), which takes the instance off every
lock its custom status lists (held, or queued for) and wakes each next holder.

`POST /api/workflows/{instanceId}/rewind` re-runs a Failed instance from its failed step. An
instance that failed holding a lock released it as it failed (`releasedOnFailure` in its custom
status), and a lock's state is not rewound with the history: the route takes each such lock for
the instance again first (409 while another instance holds it), then rewinds.

Both need the workflow's supervising role (its contract's `supervisors`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

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
from domain.access import Actor
from domain.common import Workflow, iso, parse_instance_id
from domain.locks import LOCK_ENTITY, LOCKS_RELEASE, LockState, release_instance_id
from domain.maintenance import task_instance_id
from domain.views import Problem, Rewound, SupportRequest, Terminated
from domain.workflows import CONTRACTS

bp = df.Blueprint()

WAIT_SECONDS = 10.0
POLL_SECONDS = 0.05
RETAKEN_LEASE_SECONDS = 3600.0
"""The lease of a lock a rewind takes again: only when the lock next checks its holder runs."""


class SupportAction:
    """One support request on one instance: who asks, why, and where the instance stands."""

    def __init__(self, req: func.HttpRequest, verb: str) -> None:
        self.instance_id = req.route_params.get("instanceId", "")
        parsed = parse_instance_id(self.instance_id)
        if parsed is None:
            raise ProblemError(404, f"No workflow instance has the id {self.instance_id!r}.")
        self.workflow, self.business_id = parsed
        roles = CONTRACTS[self.workflow].supervisors
        caller = authorize(req, f"{verb} a {self.workflow.value}", roles)
        body = parse_body(req, SupportRequest)
        self.actor: Actor = acting(caller, body.actor)
        self.reason = f"{body.reason} ({verb}d by {self.actor.name})"
        self.url = business_status_url(req, self.workflow, self.business_id)

    async def status(self, client: df.DurableOrchestrationClient) -> Any:
        found = await find_status(client, self.workflow, self.business_id)
        if found is None:
            raise ProblemError(404, f"No {self.workflow.value} has the id {self.business_id!r}.")
        return found

    def conflict(self, status: Any, why: str) -> ProblemError:
        custom = status.custom_status if isinstance(status.custom_status, dict) else {}
        where = standing(runtime(status), custom.get("stage"))
        return ProblemError(409, f"{self.instance_id} is {where}; {why}.", status_url=self.url)


@bp.route(route="workflows/{instanceId}/terminate", methods=["POST"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def terminate_instance(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """202 once the instance is terminated and its locks are being handed on; 404 unknown,
    409 when it already ended."""
    action = SupportAction(req, "terminate")
    status = await action.status(client)
    if runtime(status) not in ACTIVE:
        raise action.conflict(status, "it has ended")
    await client.terminate(action.instance_id, action.reason)
    for child in await _running_children(client, action.workflow, action.instance_id):
        await client.terminate(child, action.reason)
    status = await _until(client, action.instance_id, lambda s: runtime(s) not in ACTIVE)
    locks = _locks_of(status)
    if locks:
        await client.start_new(
            LOCKS_RELEASE,
            release_instance_id(action.instance_id),
            {"owner": action.instance_id, "resources": locks},
        )
    answer = Terminated(
        id=action.instance_id,
        status_url=action.url,
        reason=action.reason,
        by=action.actor,
        released_locks=locks,
    )
    return json_response(answer, 202, headers={"Location": action.url})


@bp.route(route="workflows/{instanceId}/rewind", methods=["POST"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def rewind_instance(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """202 once a Failed instance holds its locks again and is rewound; 404 unknown, 409 when
    it did not fail or another instance holds a lock it released."""
    action = SupportAction(req, "rewind")
    status = await action.status(client)
    if runtime(status) != "Failed":
        raise action.conflict(status, "only a Failed instance is rewound")
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    locks = [name for name in custom.get("releasedOnFailure") or [] if isinstance(name, str)]
    for resource in locks:
        holder = await _retake(client, action.instance_id, resource)
        if holder != action.instance_id:
            raise action.conflict(
                status,
                f"{holder} holds {resource}, which it released as it failed; rewind it once "
                "that lock is free",
            )
    await client.rewind(action.instance_id, action.reason)
    await _until(client, action.instance_id, lambda s: runtime(s) != "Failed")
    answer = Rewound(
        id=action.instance_id,
        status_url=action.url,
        reason=action.reason,
        by=action.actor,
        retaken_locks=locks,
    )
    return json_response(answer, 202, headers={"Location": action.url})


async def _retake(client: df.DurableOrchestrationClient, owner: str, resource: str) -> str | None:
    """Ask the lock for `owner` again; who holds it once the entity has answered (the owner
    leaves the queue again when someone else does)."""
    entity = df.EntityId(LOCK_ENTITY, resource)
    now = iso(datetime.now(UTC))
    request = {"owner": owner, "now": now, "leaseSeconds": RETAKEN_LEASE_SECONDS}
    await client.signal_entity(entity, "acquire", request)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while True:
        read = await client.read_entity_state(entity)
        state = LockState.model_validate(read.entity_state or {}) if read.entity_exists else None
        holder = state.holder.owner if state and state.holder else None
        if state and (holder == owner or owner in {waiter.owner for waiter in state.queue}):
            break
        if loop.time() >= deadline:
            raise RuntimeError(f"lock {resource} did not answer within {WAIT_SECONDS}s")
        await asyncio.sleep(POLL_SECONDS)
    if holder != owner:
        await client.signal_entity(entity, "withdraw", {"owner": owner, "now": now})
    return holder


async def _until(client: df.DurableOrchestrationClient, instance_id: str, done: Any) -> Any:
    """The instance's status once `done(status)` holds: the host has processed the request.
    A host that has not within WAIT_SECONDS is a failure of its own (500)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while not done(status := await client.get_status(instance_id)):
        if loop.time() >= deadline:
            raise RuntimeError(f"{instance_id} did not change within {WAIT_SECONDS}s")
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


def _locks_of(status: Any) -> list[str]:
    """The locks an instance held (`locks`) or was queued for (`lock`), from its custom status."""
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    found = [name for name in custom.get("locks") or [] if isinstance(name, str)]
    queued = custom.get("lock")
    if isinstance(queued, dict) and isinstance(queued.get("resource"), str):
        found.append(queued["resource"])
    return list(dict.fromkeys(found))


SUPERVISORS = sorted({str(role) for c in CONTRACTS.values() for role in c.supervisors})
for verb, answer, summary in (
    ("terminate", Terminated, "Stop an instance for good; its locks pass to their next waiters"),
    ("rewind", Rewound, "Re-run a Failed instance from its failed step, holding its locks again"),
):
    openapi.operation(
        "POST",
        f"/workflows/{{instanceId}}/{verb}",
        summary,
        tag="workflows",
        body=SupportRequest,
        responses={202: answer, 400: Problem, 404: Problem, 409: Problem},
        roles=SUPERVISORS,
    )
