"""The HTTP edge every workflow shares: problem+json errors, body validation, start, status, events.

Each workflow's routes are registered from its contract (api/workflow_routes.py), and come
here for the work:

    claim = parse_body(req, ClaimRequest)                          # 400 lists every bad field
    await start_workflow(req, client, Workflow.CLAIM, claim.claim_id, to_json(claim))
    await status_response(client, Workflow.CLAIM, route_id(req, "claimId"))
    await deliver_event(req, client, Workflow.CLAIM, business_id,
                        Event.CLAIM_DECISION, DecisionRequest)     # 401/403 first

`handle_errors` turns a raised `ProblemError` into its response and any other exception into a
bare 500 problem: no traceback ever reaches a client. Instances run `workflow.orchestrator`
(e.g. `claim_orchestrator`) under the id `<workflow>-<business id>`.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ValidationError

from api.body import read_json
from api.idempotency import IdempotentAction
from api.identity import acting, authorize, require_sign_in
from api.problems import ProblemError, problem_response, title
from api.verdict import raise_as, refusal, verdict, waiting_for
from domain.access import Actor
from domain.common import Workflow, edge_context, instance_id, is_business_id, to_json
from domain.timeline import decode
from domain.views import Accepted, FieldError, Problem, Started, StatusView

ROUTE_PREFIX = "api"

M = TypeVar("M", bound=BaseModel)
Handler = Callable[..., Awaitable[func.HttpResponse]]
Admission = Callable[[dict[str, Any], Any], tuple[int, str] | None]
"""A workflow's bound on a portal action: (status, reason) to refuse it, None to let it in."""
Vetting = Callable[[Any, Actor], Awaitable[None]]
"""A rule about who may act on one instance (e.g. segregation of duties): raises to refuse."""

_log = logging.getLogger("workflows.api")


def json_response(
    body: BaseModel | dict[str, Any] | list[Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> func.HttpResponse:
    """A JSON response from a model (by alias) or plain data."""
    data = to_json(body) if isinstance(body, BaseModel) else body
    return func.HttpResponse(
        json.dumps(data), status_code=status, mimetype="application/json", headers=headers
    )


def handle_errors(handler: Handler | None = None, *, signed_in: bool = True) -> Any:
    """Wrap an HTTP handler so failures become problem responses and never tracebacks.

    Every route is refused in Azure to callers the platform did not sign in
    (api/identity.require_sign_in), unless `signed_in=False`: the console's page and scripts,
    which hold no data and send a browser to sign in themselves.
    """
    if handler is None:
        return functools.partial(handle_errors, signed_in=signed_in)

    @functools.wraps(handler)
    async def wrapper(*args: Any, **kwargs: Any) -> func.HttpResponse:
        try:
            if signed_in:
                require_sign_in(args[0] if args else kwargs["req"])
            return await handler(*args, **kwargs)
        except ProblemError as error:
            return problem_response(error.problem)
        except Exception:
            _log.exception("unhandled error in %s", handler.__name__)
            return problem_response(
                Problem(
                    title=title(500),
                    status=500,
                    detail="The request could not be completed; try again later.",
                )
            )

    return wrapper


def field_errors(error: ValidationError) -> list[FieldError]:
    """Every invalid field of a pydantic error, as dotted paths in wire (camelCase) names."""
    found = []
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in item["loc"]) or "body"
        found.append(FieldError(field=path, message=item["msg"]))
    return found


def validate(model: type[M], data: Any) -> M:
    """`data` as `model`, or a 400 listing every invalid field.

    Validated at the edge, with the request's time: rules such as "a pickup window not years
    away" hold for new requests only, never for inputs an orchestrator replays later.
    """
    try:
        return model.model_validate(data, context=edge_context(datetime.now(UTC)))
    except ValidationError as error:
        raise ProblemError(
            400, f"The request is not a valid {model.__name__}.", errors=field_errors(error)
        ) from None


def parse_body(req: func.HttpRequest, model: type[M]) -> M:
    """The JSON body validated into `model` (400 when it is not JSON or not valid)."""
    return validate(model, read_json(req))


def route_id(req: func.HttpRequest, name: str) -> str:
    """A business id from the route; one that cannot exist is simply not found."""
    value = req.route_params.get(name, "")
    if not is_business_id(value):
        raise ProblemError(404, f"No instance has the id {value!r}.")
    return value


def status_url(req: func.HttpRequest, workflow: Workflow, business_id: str) -> str:
    """The app's own status route for an instance, on the host the caller used."""
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}/{ROUTE_PREFIX}/{workflow.collection}/{business_id}"


async def find_status(
    client: df.DurableOrchestrationClient, workflow: Workflow, business_id: str
) -> df.DurableOrchestrationStatus | None:
    """The instance of `workflow` with this business id, or None (other workflows' too)."""
    status = await client.get_status(instance_id(workflow, business_id))
    if not status or status.runtime_status is None:
        return None
    name = getattr(status, "name", None)
    if name and name != workflow.orchestrator:
        return None
    return status


async def start_workflow(
    req: func.HttpRequest,
    client: df.DurableOrchestrationClient,
    workflow: Workflow,
    business_id: str,
    payload: dict[str, Any],
) -> func.HttpResponse:
    """Start `workflow` for a business id: 202 + Location, or 409 when it already has one."""
    url = status_url(req, workflow, business_id)
    conflict = ProblemError(
        409, f"{workflow.value} {business_id} already exists; see statusUrl.", status_url=url
    )
    if await client.get_status(instance_id(workflow, business_id)):
        raise conflict
    try:
        new_id = await client.start_new(
            workflow.orchestrator, instance_id(workflow, business_id), payload
        )
    except Exception as error:  # the extension refuses to replace a running instance
        if "already exists" in str(error).lower():
            raise conflict from None
        raise
    body = Started(instance_id=new_id, business_id=business_id, workflow=workflow, status_url=url)
    return json_response(body, 202, headers={"Location": url})


def started_input(status: df.DurableOrchestrationStatus) -> Any:
    """The input an instance was started with, as data. The host keeps what `start_new`
    posts, a JSON string of JSON (SDK issue #195), so `input_` is text there and an object
    for instances started through the HTTP API with a plain JSON body."""
    return decode(status.input_)


def status_view(workflow: Workflow, status: df.DurableOrchestrationStatus) -> StatusView:
    """The business view of an orchestration status."""
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    return StatusView(
        id=status.instance_id,
        workflow=workflow,
        runtime_status=status.runtime_status.value,
        stage=custom.get("stage"),
        waiting_for=custom.get("waitingFor") or [],
        created_time=status.created_time,
        last_updated_time=status.last_updated_time,
        output=status.output,
        actions=custom.get("actions") or [],
    )


async def status_response(
    client: df.DurableOrchestrationClient, workflow: Workflow, business_id: str
) -> func.HttpResponse:
    """200 with the business view, or 404 when the workflow has no such instance."""
    status = await find_status(client, workflow, business_id)
    if status is None:
        raise ProblemError(404, f"No {workflow.value} has the id {business_id!r}.")
    return json_response(status_view(workflow, status))


async def deliver_event(
    req: func.HttpRequest,
    client: df.DurableOrchestrationClient,
    workflow: Workflow,
    business_id: str,
    event: str,
    model: type[BaseModel],
    *,
    admit: Admission | None = None,
    vet: Vetting | None = None,
) -> func.HttpResponse:
    """Check who calls, validate a portal action and raise it as `event` on the instance.

    401 nobody signed in; 403 the caller lacks the roles `event` needs (domain.access); 404
    unknown instance; 400 bad body (or nobody named where the actor field is accepted); 409
    when the instance's custom status does not list `event` in `waitingFor` (naming who took
    it before, and when); a replay when this request's key was answered or its action taken
    before (api/idempotency.py); the status and
    reason `admit(custom status, body)` gives when the instance's bounds refuse the action;
    whatever `await vet(status, actor)` raises (a rule about who may act on this instance);
    then the instance's verdict (api/verdict.py): 202 taken, 409 another was taken instead.
    The payload sent is the body's JSON with `actor` replaced by who acted.
    """
    caller = authorize(req, event)
    status = await find_status(client, workflow, business_id)
    if status is None:
        raise ProblemError(404, f"No {workflow.value} has the id {business_id!r}.")
    body = parse_body(req, model)
    actor = acting(caller, getattr(body, "actor", None))
    if vet is not None:
        await vet(status, actor)
    view = status_view(workflow, status)
    url = status_url(req, workflow, business_id)
    action = await IdempotentAction.begin(req, client, view.id, to_json(body), actor)
    if (earlier := action.replay(status, event, url)) is not None:
        return earlier
    if event not in waiting_for(status):
        raise refusal(view.id, status, event, url)
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    bound = admit(custom, body) if admit else None
    if bound:
        code, why = bound
        raise ProblemError(code, f"{view.id} cannot take this {event}: {why}.", status_url=url)
    accepted = await raise_portal_event(client, status, event, body, actor, url, action)
    return await action.remember(client, json_response(accepted, 202))


async def raise_portal_event(
    client: df.DurableOrchestrationClient,
    status: df.DurableOrchestrationStatus,
    event: str,
    body: BaseModel,
    actor: Actor,
    url: str,
    action: IdempotentAction,
    *,
    shown_as: str | None = None,
) -> Accepted:
    """Raise `event` under the name the instance gives it now, with the body, who acted and
    the action's id, then wait for the instance's verdict on it (an instance that finished
    meanwhile answers as any late one: 409, naming who took this event). `shown_as` is the
    instance the answer names (an order, for an event raised on one of its tasks)."""
    instance_id = status.instance_id
    name = raise_as(status, event) or event
    payload = {**to_json(body), "actor": to_json(actor), "actionId": action.action_id}
    try:
        await client.raise_event(instance_id, name, payload)
    except Exception as error:  # 410: finished between the caller's check and the event
        if "gone" not in str(error).lower():
            raise
    applied = await verdict(client, instance_id, event, name, action.action_id, url)
    return Accepted(
        id=shown_as or instance_id,
        event=event,
        status_url=url,
        applied=applied,
        action_id=action.action_id,
        by=actor,
    )
