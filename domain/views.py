"""The shapes the HTTP API answers with, shared by every workflow's routes.

They are models so the OpenAPI document describes exactly what api/ sends.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from domain.access import Actor, TakenAction
from domain.common import ApiModel, PortalAction, Timestamp, Workflow, text
from domain.timeline import Timeline


class FieldError(ApiModel):
    """One invalid input field: where it is (dotted path) and what is wrong with it."""

    field: str
    message: str


class Problem(ApiModel):
    """RFC 9457 problem details, the body of every 4xx/5xx answer."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    status_url: str | None = Field(default=None, description="The existing instance (409).")
    required_roles: list[str] | None = Field(
        default=None, description="The roles of which the caller needs one (401, 403)."
    )


class Started(ApiModel):
    """Answer to a start: the ids it goes by and the app's own status route for it."""

    instance_id: str = Field(
        description="The orchestration instance id (`<workflow>-<business id>`), for the "
        "Durable HTTP API and support tools."
    )
    business_id: str = Field(
        description="The id the app's routes take (`{claimId}`, `{shipmentId}`, `{orderId}`)."
    )
    workflow: Workflow
    status_url: str


class Accepted(ApiModel):
    """Answer to a delivered portal event: who acted, and whether the instance took it."""

    id: str
    event: str
    status_url: str
    applied: bool = Field(
        description="True: the instance took this action. False: it had not said so in time; "
        "the status view shows what happened (another action may have been taken instead)."
    )
    action_id: str = Field(description="The action's id, as the status view lists it.")
    by: Actor


class StatusView(ApiModel):
    """The business view of one instance, for portals and support."""

    id: str
    workflow: Workflow
    runtime_status: str
    stage: str | None = None
    waiting_for: list[str] = Field(default_factory=list)
    created_time: Timestamp | None = None
    last_updated_time: Timestamp | None = None
    output: Any = None
    actions: list[TakenAction] = Field(
        default_factory=list, description="The portal actions the instance took: who, when."
    )


class WorkflowSummary(ApiModel):
    """One row of the workflows listing: where an instance stands and what it waits for."""

    id: str
    workflow: Workflow
    business_id: str
    runtime_status: str
    stage: str | None = None
    waiting_for: list[str] = Field(default_factory=list)
    since: Timestamp | None = Field(default=None, description="When the current stage began.")
    escalated: bool = Field(
        default=False, description="A deadline passed and the case was escalated."
    )
    created_time: Timestamp | None = None
    last_updated_time: Timestamp | None = None
    status_url: str


class WorkflowPage(ApiModel):
    """A page of the listing; pass `continuationToken` back to get the next one."""

    items: list[WorkflowSummary]
    continuation_token: str | None = None


class StageCount(ApiModel):
    """How many instances of a workflow stand at one stage."""

    workflow: Workflow
    stage: str | None
    count: int
    escalated: int = Field(description="Of these, how many are escalated.")


class StageCounts(ApiModel):
    """Counts per stage for the instances a listing filter selects."""

    items: list[StageCount]


class InstanceHistory(ApiModel):
    """One instance for the console's instance page: the request it was started with, where it
    stands, and its history as a timeline."""

    id: str
    workflow: Workflow
    business_id: str
    task_id: str | None = Field(default=None, description="Set for a maintenance task.")
    runtime_status: str
    stage: str | None = None
    waiting_for: list[str] = Field(default_factory=list)
    custom_status: Any = Field(default=None, description="Stage details: reasons, lock, tasks.")
    created_time: Timestamp | None = None
    last_updated_time: Timestamp | None = None
    input: Any = None
    output: Any = None
    timeline: Timeline


class SupportRequest(PortalAction):
    """Why support terminates or rewinds an instance (kept in its history, with who did it)."""

    reason: Annotated[str, text(500)]


class Terminated(ApiModel):
    """Answer to a termination: the instance has stopped, and which locks it left."""

    id: str
    status_url: str
    reason: str
    by: Actor
    released_locks: list[str] = Field(
        description="Locks the instance held or waited for; each passes to its next waiter at once."
    )


class Rewound(ApiModel):
    """Answer to a rewind: the instance runs again from its failed step."""

    id: str
    status_url: str
    reason: str
    by: Actor
    retaken_locks: list[str] = Field(
        description="Locks the instance released as it failed, which it holds again."
    )


class ActionRight(ApiModel):
    """Whether the caller may take one portal action, and the roles of which it needs one."""

    allowed: bool
    needs: list[str]


class Me(ApiModel):
    """Who the app sees calling: the signed-in principal, or nobody (local use)."""

    signed_in: bool
    name: str | None = None
    object_id: str | None = None
    roles: list[str] = Field(default_factory=list)
    kind: str | None = None
    actor_field: bool = Field(
        description="Whether a portal action may name who acts in its `actor` field (local "
        "use, nobody signed in)."
    )
    actions: dict[str, ActionRight] = Field(
        description="Each portal action (its Durable event name): may this caller take it."
    )
