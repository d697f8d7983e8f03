"""`GET /api/locks/{resource}`: who holds a lock, until when, and who waits (support's view)."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from api import openapi
from api.common import handle_errors, json_response
from api.problems import ProblemError
from domain.locks import (
    LOCK_ENTITY,
    LOCK_RESOURCE_EXAMPLE,
    LockState,
    LockView,
    is_lock_resource,
    view,
)
from domain.views import Problem

bp = df.Blueprint()


@bp.route(route="locks/{resource}", methods=["GET"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def get_lock(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """A lock never taken is simply free: holder null, empty queue.

    A resource no workflow can lock is not found, before the durable client is asked: the id
    goes into the client's URL as it is, so `policy:P-1?x` would read `policy:P-1`."""
    resource = req.route_params.get("resource", "")
    if not is_lock_resource(resource):
        raise ProblemError(
            404,
            f"No lock has the id {resource!r}; a lock id is policy:<policy number>, "
            "aircraft:<tail number> or carrier:<carrier code>:<YYYY-MM-DD>, "
            f"e.g. {LOCK_RESOURCE_EXAMPLE}.",
        )
    response = await client.read_entity_state(df.EntityId(LOCK_ENTITY, resource))
    state = (
        LockState.model_validate(response.entity_state or {})
        if response.entity_exists
        else (LockState())
    )
    return json_response(view(resource, state))


openapi.operation(
    "GET",
    "/locks/{resource}",
    "Holder, lease and queue of a lock (e.g. policy:POL-1)",
    tag="locks",
    responses={200: LockView, 404: Problem},
)
