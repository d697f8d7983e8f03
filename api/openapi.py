"""`GET /api/openapi.yaml`: an OpenAPI 3.1 document built from the same models that validate.

Each api module registers its operations next to its routes, at import time (a workflow's
routes are documented from its contract by api/workflow_routes.py):

    from api import openapi
    openapi.operation("POST", "/claims", "Start a claim", tag="claims",
                      body=ClaimRequest, responses={202: Started, 400: Problem, 409: Problem})
    openapi.operation("GET", "/claims/{claimId}", "A claim's status", tag="claims",
                      responses={200: StatusView, 404: Problem})

Path parameters are read from the `{braces}`. Schemas come from `model_json_schema` (by alias),
so the document cannot drift from what the API accepts and answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api.common import ROUTE_PREFIX, handle_errors
from api.identity import actor_field_accepted
from domain.common import PortalAction
from domain.idempotency import HEADER, KEEP_FOR, KEY_PATTERN
from domain.roles import ROLE_DESCRIPTIONS
from domain.views import Problem

bp = df.Blueprint()

_DESCRIPTIONS = {
    200: "OK",
    202: "Accepted",
    400: "Invalid input; `errors` lists every invalid field",
    404: "Not found",
    409: "Conflict with the current state",
    401: "Not signed in: App Service Authentication's plain-text refusal, or the app's "
    "problem (in Azure, or for portal actions without an actor); `requiredRoles` lists the "
    "roles needed",
    403: "Signed in without one of the roles needed; `requiredRoles` lists them",
    503: "App Service Authentication is off: the app takes no request without it",
    413: "The body is larger than the route accepts",
    415: "The body is not `application/json`",
    422: "The Idempotency-Key was used for a different request",
}

BUSINESS_ID_PATTERN = "^[A-Za-z0-9_-]{1,64}$"
HOST_ERROR = {
    "type": "object",
    "description": "The host's own error (no route matched, no valid key)",
    "properties": {"Message": {"type": "string"}},
}
HOST_ERROR_REF = {"$ref": "#/components/schemas/HostError"}
PLATFORM_ANSWERS: dict[int, dict[str, Any]] = {
    401: {  # App Service Authentication refusing a caller
        "text/plain": {"schema": {"$ref": "#/components/schemas/PlatformMessage"}},
    },
    404: {"application/json": {"schema": HOST_ERROR_REF}},  # no route matches the path
}
"""Answers the platform gives before the app sees the request, beside the app's problems."""
IDEMPOTENCY_PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": "IETF draft-ietf-httpapi-idempotency-key-header: a retry with the same key and "
    "request answers as the first call did (header `Idempotent-Replayed: true`) and raises "
    f"nothing twice; another request under the key is 422. Keys are kept "
    f"{int(KEEP_FOR.total_seconds() // 3600)} hours.",
    "schema": {"type": "string", "pattern": KEY_PATTERN},
}
SIGN_IN = "entraId"


@dataclass(frozen=True)
class Operation:
    """One documented route."""

    method: str
    path: str
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    responses: dict[int, type[BaseModel] | None] = field(default_factory=dict)
    query: type[BaseModel] | None = None
    content_type: str = "application/json"
    anonymous: bool = False
    roles: tuple[str, ...] = ()
    idempotent_action: bool = False
    event: str | None = None
    starts: str | None = None  # the path parameter its 202 answer's businessId fills


_operations: dict[tuple[str, str], Operation] = {}


def operation(
    method: str,
    path: str,
    summary: str,
    *,
    tag: str,
    body: type[BaseModel] | None = None,
    responses: dict[int, type[BaseModel] | None] | None = None,
    query: type[BaseModel] | None = None,
    content_type: str = "application/json",
    anonymous: bool = False,
    roles: Iterable[str] = (),
    idempotent_action: bool = False,
    event: str | None = None,
    starts: str | None = None,
) -> None:
    """Document a route (`path` relative to /api, with `{param}` placeholders); `query` is the
    model its query string validates into; `anonymous` for the few routes served without sign-in;
    `roles` are the app roles of which a caller needs one (the route then answers 403 too);
    `idempotent_action` for portal actions that honour `Idempotency-Key`; `event` names the
    Durable event a portal action raises; `starts` names the path parameter (`claimId`) that
    the `businessId` of a start's 202 answer fills, which links it to the instance's routes.

    Answers every route can give are added here: 401, 403 and 503 of sign-in
    (api/identity.require_sign_in), 413/415 for a body that is too large or not JSON, 422 for
    a reused idempotency key."""
    op = Operation(
        method.upper(),
        path,
        summary,
        tag,
        body,
        {**_common_responses(body is not None, anonymous, idempotent_action), **(responses or {})},
        query,
        content_type,
        anonymous,
        tuple(sorted(str(role) for role in roles)),
        idempotent_action,
        event,
        starts,
    )
    _operations[(op.method, op.path)] = op


def operations() -> list[Operation]:
    """Every registered operation."""
    return list(_operations.values())


def _schemas(ops: list[Operation]) -> dict[str, Any]:
    models = {model for op in ops for model in [op.body, *op.responses.values()] if model}
    ordered = sorted(models, key=lambda m: m.__name__)
    _, top = models_json_schema(
        [(model, "validation") for model in ordered],
        by_alias=True,
        ref_template="#/components/schemas/{model}",
    )
    schemas = top.get("$defs", {})
    for model in ordered:
        if issubclass(model, PortalAction):
            _who_acts(schemas[model.__name__], actor_field_accepted())
    return schemas


def _who_acts(schema: dict[str, Any], actor_field: bool) -> None:
    """Where the actor field is accepted (local use), a caller that is not signed in must name
    who acts: `actor` is required and not null. Everywhere else identity comes from sign-in
    only and a body with `actor` is refused, so the schema has no such field."""
    if not actor_field:
        del schema["properties"]["actor"]
        return
    schema["required"] = sorted({*schema.get("required", []), "actor"})
    actor = schema["properties"]["actor"]
    named = [choice for choice in actor.pop("anyOf", []) if choice.get("type") != "null"]
    actor.pop("default", None)
    actor.update(named[0] if named else {})


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _common_responses(
    has_body: bool, anonymous: bool, idempotent_action: bool
) -> dict[int, type[BaseModel] | None]:
    answers: dict[int, type[BaseModel] | None] = (
        {} if anonymous else {401: Problem, 403: Problem, 503: Problem}
    )
    if has_body:
        answers |= {413: Problem, 415: Problem}
    if idempotent_action:
        answers[422] = Problem
    return answers


def _path_parameter(name: str) -> dict[str, Any]:
    """Business ids (`claimId`, `orderId`, ...) follow the id rule; other segments are text."""
    schema = (
        {"type": "string", "pattern": BUSINESS_ID_PATTERN}
        if name.endswith("Id")
        else {"type": "string"}
    )
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query_parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    """One parameter per field of the query model, typed as the model validates it."""
    if model is None:
        return []
    schema = model.model_json_schema(by_alias=True)
    defs = schema.get("$defs", {})
    params = []
    for name, prop in schema["properties"].items():
        prop = _plain(prop, defs)
        param: dict[str, Any] = {"name": name, "in": "query", "required": False}
        if "description" in prop:
            param["description"] = prop.pop("description")
        if prop.get("type") == "array":  # a comma-separated list, e.g. status=Running,Pending
            param |= {"style": "form", "explode": False}
        param["schema"] = prop
        params.append(param)
    return params


def _plain(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema without refs, titles or the null an absent parameter means."""
    if "$ref" in schema:
        schema = {**defs[schema["$ref"].rsplit("/", 1)[-1]], **schema}
        schema.pop("$ref")
    choices = [c for c in schema.pop("anyOf", []) if c.get("type") != "null"]
    if choices:
        schema = {**_plain(choices[0], defs), **schema}
    if "items" in schema:
        schema["items"] = _plain(schema["items"], defs)
    return {k: v for k, v in schema.items() if k != "title" and not (k == "default" and v is None)}


def _operation_id(op: Operation) -> str:
    return re.sub(r"\W+", "_", f"{op.method.lower()}{op.path}").strip("_")


def _links(op: Operation, ops: list[Operation]) -> dict[str, Any]:
    """OpenAPI links from a start's 202 answer to every route of the instance it started, the
    business id taken from the answer: how a client (or a fuzzer) goes from starting a claim
    to deciding it."""
    if op.starts is None:
        return {}
    instance = f"{op.path}/{{{op.starts}}}"
    return {
        _operation_id(other): {
            "operationId": _operation_id(other),
            "parameters": {op.starts: "$response.body#/businessId"},
        }
        for other in ops
        if other.path == instance or other.path.startswith(instance + "/")
    }


def _operation_document(op: Operation, ops: list[Operation]) -> dict[str, Any]:
    params = [_path_parameter(name) for name in re.findall(r"{(\w+)}", op.path)]
    params += _query_parameters(op.query)
    if op.idempotent_action:
        params.append(IDEMPOTENCY_PARAMETER)
    document: dict[str, Any] = {
        "summary": op.summary,
        "tags": [op.tag],
        "operationId": _operation_id(op),
        "parameters": params,
        "responses": {},
    }
    if op.anonymous:
        document["security"] = []
    if op.roles:
        document["description"] = f"Needs one of the app roles: {', '.join(op.roles)}."
        document["security"] = [{SIGN_IN: list(op.roles)}]
    if op.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(op.body)}},
        }
    for status, model in sorted(op.responses.items()):
        answer: dict[str, Any] = {"description": _DESCRIPTIONS.get(status, str(status))}
        if model is not None:
            media = "application/problem+json" if status >= 400 else op.content_type
            answer["content"] = {media: {"schema": _ref(model)}}
            answer["content"] |= PLATFORM_ANSWERS.get(status, {})
        if status == 202 and (links := _links(op, ops)):
            answer["links"] = links
        document["responses"][str(status)] = answer
    return document


def build_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every registered operation."""
    ops = sorted(operations(), key=lambda op: (op.path, op.method))
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        paths.setdefault(f"/{ROUTE_PREFIX}{op.path}", {})[op.method.lower()] = _operation_document(
            op, ops
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Durable workflows: claims, shipments, maintenance orders",
            "version": "1.0.0",
            "description": "Start workflows, read their business status, send portal actions. "
            "In Azure, App Service Authentication with Microsoft Entra ID signs every caller in "
            "(a browser session or a bearer token; no function key), the app takes only callers "
            "holding one of its roles, and each portal action needs one of the roles it lists:"
            "\n\n"
            + "\n".join(f"- `{role.value}`: {text}" for role, text in ROLE_DESCRIPTIONS.items()),
        },
        "components": {
            "schemas": {
                **_schemas(ops),
                "HostError": HOST_ERROR,
                "PlatformMessage": {"type": "string", "description": "A platform's plain text"},
            },
            "securitySchemes": {
                SIGN_IN: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An Entra ID token for the app registration; App Service "
                    "Authentication validates it and passes its `roles` claim to the app.",
                },
            },
        },
        "security": [{SIGN_IN: []}],
        "paths": paths,
    }


@bp.route(route="openapi.yaml", methods=["GET"])
@handle_errors
async def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    """Serve the document as YAML."""
    text = yaml.safe_dump(build_document(), sort_keys=False, allow_unicode=True)
    return func.HttpResponse(text, status_code=200, mimetype="application/yaml")


operation(
    "GET",
    "/openapi.yaml",
    "This document",
    tag="meta",
    responses={200: None},
    content_type="application/yaml",
)
