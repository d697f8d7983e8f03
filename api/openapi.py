"""`GET /api/openapi.yaml`: an OpenAPI 3.1 document built from the same models that validate.

Each api module registers its operations next to its routes, at import time:

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
from domain.access import ROLE_DESCRIPTIONS, roles_for

bp = df.Blueprint()

_DESCRIPTIONS = {
    200: "OK",
    202: "Accepted",
    400: "Invalid input; `errors` lists every invalid field",
    404: "Not found",
    409: "Conflict with the current state",
    410: "Gone",
    401: "Not signed in (App Service Authentication); `requiredRoles` lists the roles needed",
    403: "Signed in without one of the roles needed; `requiredRoles` lists them",
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
    query: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    anonymous: bool = False
    roles: tuple[str, ...] = ()


_operations: dict[tuple[str, str], Operation] = {}


def operation(
    method: str,
    path: str,
    summary: str,
    *,
    tag: str,
    body: type[BaseModel] | None = None,
    responses: dict[int, type[BaseModel] | None] | None = None,
    query: dict[str, str] | None = None,
    content_type: str = "application/json",
    anonymous: bool = False,
    roles: Iterable[str] = (),
) -> None:
    """Document a route (`path` relative to /api, with `{param}` placeholders); `anonymous`
    for the few routes that take no key; `roles` are the app roles of which a caller needs one
    (the route then answers 401 and 403 too)."""
    op = Operation(
        method.upper(),
        path,
        summary,
        tag,
        body,
        responses or {},
        query or {},
        content_type,
        anonymous,
        tuple(sorted(str(role) for role in roles)),
    )
    _operations[(op.method, op.path)] = op


def workflow(
    collection: str,
    id_param: str,
    *,
    tag: str,
    start: type[BaseModel],
    started: type[BaseModel],
    status: type[BaseModel],
    problem: type[BaseModel],
    accepted: type[BaseModel],
    actions: dict[str, tuple[str, type[BaseModel], str]],
) -> None:
    """Document one workflow's routes: start, status, and each portal action by path suffix
    as (summary, body model, the Durable event it raises, whose roles it needs)."""
    base = f"/{collection}"
    instance = f"{base}/{{{id_param}}}"
    operation(
        "POST",
        base,
        f"Start a {tag} workflow",
        tag=tag,
        body=start,
        responses={202: started, 400: problem, 409: problem},
    )
    operation(
        "GET",
        instance,
        "Business status of one instance",
        tag=tag,
        responses={200: status, 404: problem},
    )
    for suffix, (summary, model, event) in actions.items():
        operation(
            "POST",
            f"{instance}/{suffix}",
            summary,
            tag=tag,
            body=model,
            responses={
                202: accepted,
                400: problem,
                401: problem,
                403: problem,
                404: problem,
                409: problem,
            },
            roles=roles_for(event),
        )


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
    return top.get("$defs", {})


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation_document(op: Operation) -> dict[str, Any]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", op.path)
    ]
    params += [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": text,
            "schema": {"type": "string"},
        }
        for name, text in op.query.items()
    ]
    document: dict[str, Any] = {
        "summary": op.summary,
        "tags": [op.tag],
        "operationId": re.sub(r"\W+", "_", f"{op.method.lower()}{op.path}").strip("_"),
        "parameters": params,
        "responses": {},
    }
    if op.anonymous:
        document["security"] = []
    if op.roles:
        document["description"] = f"Needs one of the app roles: {', '.join(op.roles)}."
        document["security"] = [{"functionKey": [], SIGN_IN: list(op.roles)}]
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
        document["responses"][str(status)] = answer
    return document


def build_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every registered operation."""
    ops = sorted(operations(), key=lambda op: (op.path, op.method))
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        paths.setdefault(f"/{ROUTE_PREFIX}{op.path}", {})[op.method.lower()] = _operation_document(
            op
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Durable workflows: claims, shipments, maintenance orders",
            "version": "1.0.0",
            "description": "Start workflows, read their business status, send portal actions. "
            "Every route takes a function key (`code` query parameter or `x-functions-key`). "
            "In Azure, App Service Authentication with Microsoft Entra ID signs callers in; "
            "each portal action needs one of the app roles it lists:\n\n"
            + "\n".join(f"- `{role.value}`: {text}" for role, text in ROLE_DESCRIPTIONS.items()),
        },
        "components": {
            "schemas": _schemas(ops),
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                SIGN_IN: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An Entra ID token for the app registration; App Service "
                    "Authentication validates it and passes its `roles` claim to the app.",
                },
            },
        },
        "security": [{"functionKey": []}],
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
