"""A workflow's routes, OpenAPI entries and role checks, registered from its contract.

    register(bp, claims.CONTRACT, admit={Event.DOCUMENTS_SUBMITTED: submission_bound})

gives `POST /api/claims` (start), `GET /api/claims/{claimId}` (the business view) and, for each
action of the contract, `POST /api/claims/{claimId}/<path>` raising its event after checking
the caller's roles (api/common.deliver_event). A workflow whose routes do more passes its own
handler for the start payload, the status view or an action.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from api import openapi
from api.common import (
    Admission,
    Handler,
    Vetting,
    deliver_event,
    handle_errors,
    parse_body,
    route_id,
    start_workflow,
    status_response,
)
from domain.common import to_json
from domain.contract import Action, Contract
from domain.views import Accepted, Problem, Started

StartPayload = Callable[[func.HttpRequest, Any], dict[str, Any]]
"""The input an instance starts with, from the request and its validated body."""
VetFor = Callable[[df.DurableOrchestrationClient], Vetting]
"""A rule about who may act on one instance, given the durable client to read it with."""


def register(
    bp: df.Blueprint,
    contract: Contract,
    *,
    start_payload: StartPayload | None = None,
    status: Handler | None = None,
    actions: dict[str, Handler] | None = None,
    admit: dict[str, Admission] | None = None,
    vet: dict[str, VetFor] | None = None,
) -> None:
    """Register `contract`'s routes on `bp` and document them."""
    name = contract.workflow.value
    base, instance = contract.collection, f"{contract.collection}/{{{contract.id_param}}}"

    async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient):
        body = parse_body(req, contract.start)
        payload = start_payload(req, body) if start_payload else to_json(body)
        business_id = getattr(body, _snake(contract.id_param))
        return await start_workflow(req, client, contract.workflow, business_id, payload)

    async def view(req: func.HttpRequest, client: df.DurableOrchestrationClient):
        business_id = route_id(req, contract.id_param)
        return await status_response(client, contract.workflow, business_id)

    _route(bp, f"start_{name}", base, "POST", start)
    _route(bp, f"get_{name}", instance, "GET", status or view)
    for action in contract.actions:
        handler = (actions or {}).get(action.event) or _deliver(
            contract, action, (admit or {}).get(action.event), (vet or {}).get(action.event)
        )
        _route(bp, f"{name}_{_snake(action.path)}", f"{instance}/{action.path}", "POST", handler)
    _document(contract)


def _deliver(
    contract: Contract, action: Action, admit: Admission | None, vet: VetFor | None
) -> Handler:
    async def deliver(req: func.HttpRequest, client: df.DurableOrchestrationClient):
        business_id = route_id(req, contract.id_param)
        vetting = vet(client) if vet else None
        return await deliver_event(
            req,
            client,
            contract.workflow,
            business_id,
            action.event,
            action.body,
            admit=admit,
            vet=vetting,
        )

    return deliver


def _route(
    bp: df.Blueprint,
    name: str,
    route: str,
    method: str,
    handler: Callable[..., Awaitable[func.HttpResponse]],
) -> None:
    """One HTTP function named `name` (the host indexes functions by their Python name)."""

    async def function(req: func.HttpRequest, client: df.DurableOrchestrationClient):
        return await handler(req, client)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = handler.__doc__
    bp.route(route=route, methods=[method])(
        bp.durable_client_input(client_name="client")(handle_errors(function))
    )


def _document(contract: Contract) -> None:
    """The contract's routes in the OpenAPI document."""
    tag = contract.collection
    base = f"/{contract.collection}"
    instance = f"{base}/{{{contract.id_param}}}"
    openapi.operation(
        "POST",
        base,
        f"Start a {tag} workflow",
        tag=tag,
        body=contract.start,
        responses={202: Started, 400: Problem, 409: Problem},
        starts=contract.id_param,
    )
    openapi.operation(
        "GET",
        instance,
        "Business status of one instance",
        tag=tag,
        responses={200: contract.status, 404: Problem},
    )
    for action in contract.actions:
        openapi.operation(
            "POST",
            f"{instance}/{action.path}",
            action.summary,
            tag=tag,
            body=action.body,
            responses={202: Accepted, **dict.fromkeys((400, 401, 403, 404, 409), Problem)},
            roles=sorted(action.roles),
            idempotent_action=True,
            event=action.event,
        )


def _snake(name: str) -> str:
    """`claimId` -> `claim_id`, `parts-received` -> `parts_received`."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).replace("-", "_")
