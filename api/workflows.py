"""`GET /api/workflows?type=&status=&stage=&pageSize=&continuationToken=`: instances, paged,
and `GET /api/workflows/stages`: how many of them stand at each stage (the console's queue).

Instances come from the host's instance query (filtered by the workflow's id prefix and runtime
status), read page by page: the host answers at most 100 instances per call with an
`x-ms-continuation-token` header for the next page, which the SDK's `get_status_by` ignores.
The stage lives in custom status, so it is filtered here. Rows are ordered by (createdTime, id);
this API's continuation token is the last row's key, so its pages stay stable while new
instances are created.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from typing import Annotated

import azure.durable_functions as df
import azure.functions as func
from pydantic import BeforeValidator, Field

from adapters.instances import host_instances
from api import openapi
from api.common import ProblemError, handle_errors, json_response, status_url, validate
from domain.common import ApiModel, Workflow, parse_instance_id, parse_time
from domain.views import (
    FieldError,
    Problem,
    StageCount,
    StageCounts,
    WorkflowPage,
    WorkflowSummary,
)

bp = df.Blueprint()

RuntimeStatus = df.OrchestrationRuntimeStatus
KEY_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def _split(value: object) -> object:
    return [part for part in value.split(",") if part] if isinstance(value, str) else value


class InstanceFilter(ApiModel):
    """Which instances: by workflow, runtime status and business stage (all when empty)."""

    type: Workflow | None = Field(default=None, description="Only this workflow's instances.")
    status: Annotated[list[RuntimeStatus], BeforeValidator(_split)] = Field(
        default_factory=list, description="Runtime statuses, comma separated (Running,Completed)."
    )
    stage: Annotated[list[str], BeforeValidator(_split)] = Field(
        default_factory=list, description="Business stages, comma separated (awaiting_decision)."
    )


class WorkflowQuery(InstanceFilter):
    """The listing's query string: the filter and the page."""

    page_size: int = Field(default=50, ge=1, le=500, description="Rows per page.")
    continuation_token: str | None = Field(default=None, description="From the previous page.")


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


Row = tuple[tuple[str, str], WorkflowSummary]


async def _rows(
    req: func.HttpRequest, client: df.DurableOrchestrationClient, query: InstanceFilter
) -> list[Row]:
    """Every workflow instance the query selects, keyed and sorted by (createdTime, id)."""
    prefix = f"{query.type.value}-" if query.type else None
    rows: list[Row] = []
    async for status in host_instances(client, prefix, query.status):
        parsed = parse_instance_id(status.instance_id or "")
        if parsed is None or (query.type and parsed[0] != query.type):
            continue
        if getattr(status, "name", None) not in (None, parsed[0].orchestrator):
            continue
        custom = status.custom_status if isinstance(status.custom_status, dict) else {}
        if query.stage and custom.get("stage") not in query.stage:
            continue
        summary = WorkflowSummary(
            id=status.instance_id,
            workflow=parsed[0],
            business_id=parsed[1],
            runtime_status=status.runtime_status.value,
            stage=custom.get("stage"),
            waiting_for=custom.get("waitingFor") or [],
            since=custom.get("since"),
            escalated=bool(custom.get("escalated")),
            created_time=status.created_time,
            last_updated_time=status.last_updated_time,
            status_url=status_url(req, parsed[0], parsed[1]),
        )
        created = parse_time(status.created_time).strftime(KEY_TIME) if status.created_time else ""
        rows.append(((created, status.instance_id), summary))
    rows.sort(key=lambda row: row[0])
    return rows


@bp.route(route="workflows", methods=["GET"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def list_workflows(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """One page of workflow instances, oldest first."""
    query = validate(WorkflowQuery, dict(req.params))
    rows = await _rows(req, client, query)
    if query.continuation_token:
        after = _decode(query.continuation_token)
        rows = [row for row in rows if row[0] > after]
    page = rows[: query.page_size]
    token = _encode(page[-1][0]) if len(rows) > query.page_size else None
    return json_response(WorkflowPage(items=[row[1] for row in page], continuation_token=token))


@bp.route(route="workflows/stages", methods=["GET"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def count_stages(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """Instances per (workflow, stage) under the listing's filters: the queue's overview."""
    query = validate(InstanceFilter, dict(req.params))
    counts: Counter[tuple[Workflow, str | None]] = Counter()
    escalated: Counter[tuple[Workflow, str | None]] = Counter()
    for _, summary in await _rows(req, client, query):
        key = (summary.workflow, summary.stage)
        counts[key] += 1
        escalated[key] += summary.escalated
    keys = sorted(counts, key=lambda key: (key[0], key[1] or ""))
    items = [
        StageCount(workflow=key[0], stage=key[1], count=counts[key], escalated=escalated[key])
        for key in keys
    ]
    return json_response(StageCounts(items=items))


openapi.operation(
    "GET",
    "/workflows",
    "List workflow instances, paged",
    tag="workflows",
    responses={200: WorkflowPage, 400: Problem},
    query=WorkflowQuery,
)

openapi.operation(
    "GET",
    "/workflows/stages",
    "How many instances stand at each stage",
    tag="workflows",
    responses={200: StageCounts, 400: Problem},
    query=InstanceFilter,
)
