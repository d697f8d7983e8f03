"""`GET /api/workflows?type=&status=&pageSize=&continuationToken=`: instances for portals, paged.

Instances come from the durable client (`get_status_by`, filtered by the workflow's id prefix
and runtime status) and are ordered by (createdTime, id); the continuation token is the last
row's key, so pages stay stable while new instances are created.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated

import azure.durable_functions as df
import azure.functions as func
from pydantic import BeforeValidator, Field

from api import openapi
from api.common import ProblemError, handle_errors, json_response, status_url, validate
from domain.common import ApiModel, Workflow, parse_instance_id, parse_time
from domain.views import FieldError, Problem, WorkflowPage, WorkflowSummary

bp = df.Blueprint()

RuntimeStatus = df.OrchestrationRuntimeStatus
KEY_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def _split(value: object) -> object:
    return [part for part in value.split(",") if part] if isinstance(value, str) else value


class WorkflowQuery(ApiModel):
    """The listing's query string."""

    type: Workflow | None = None
    status: Annotated[list[RuntimeStatus], BeforeValidator(_split)] = Field(default_factory=list)
    page_size: int = Field(default=50, ge=1, le=500)
    continuation_token: str | None = None


def _encode(key: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def _decode(token: str) -> tuple[str, str]:
    try:
        created, instance = json.loads(base64.urlsafe_b64decode(token.encode()))
        return str(created), str(instance)
    except (binascii.Error, ValueError, TypeError):
        raise ProblemError(
            400,
            "Unknown continuation token; start again without one.",
            errors=[FieldError(field="continuationToken", message="not a token from this API")],
        ) from None


@bp.route(route="workflows", methods=["GET"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def list_workflows(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """One page of workflow instances, oldest first."""
    query = validate(WorkflowQuery, dict(req.params))
    prefix = f"{query.type.value}-" if query.type else None
    statuses = await client.get_status_by(
        runtime_status=query.status or None, instance_id_prefix=prefix
    )
    rows: list[tuple[tuple[str, str], WorkflowSummary]] = []
    for status in statuses:
        parsed = parse_instance_id(status.instance_id or "")
        if parsed is None or (query.type and parsed[0] != query.type):
            continue
        if getattr(status, "name", None) not in (None, parsed[0].orchestrator):
            continue
        custom = status.custom_status if isinstance(status.custom_status, dict) else {}
        summary = WorkflowSummary(
            id=status.instance_id,
            workflow=parsed[0],
            business_id=parsed[1],
            runtime_status=status.runtime_status.value,
            stage=custom.get("stage"),
            created_time=status.created_time,
            last_updated_time=status.last_updated_time,
            status_url=status_url(req, parsed[0], parsed[1]),
        )
        created = parse_time(status.created_time).strftime(KEY_TIME) if status.created_time else ""
        rows.append(((created, status.instance_id), summary))
    rows.sort(key=lambda row: row[0])
    if query.continuation_token:
        after = _decode(query.continuation_token)
        rows = [row for row in rows if row[0] > after]
    page = rows[: query.page_size]
    token = _encode(page[-1][0]) if len(rows) > query.page_size else None
    return json_response(WorkflowPage(items=[row[1] for row in page], continuation_token=token))


openapi.operation(
    "GET",
    "/workflows",
    "List workflow instances, paged",
    tag="workflows",
    responses={200: WorkflowPage, 400: Problem},
    query={
        "type": "claim | shipment | maintenance",
        "status": "Runtime statuses, comma separated (Running,Completed,...)",
        "pageSize": "Rows per page, 1-500 (default 50)",
        "continuationToken": "From the previous page",
    },
)
