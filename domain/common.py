"""What every workflow shares: business ids, instance ids, stages, actor names, the model base.

Usage:

    from domain.common import ApiModel, BusinessId, Workflow, instance_id, stage_status

    class OrderRequest(ApiModel):          # camelCase on the wire, unknown fields rejected
        order_id: BusinessId

    instance_id(Workflow.MAINTENANCE, "ORD-1")          # "maintenance-ORD-1"
    parse_instance_id("maintenance-ORD-1")              # (Workflow.MAINTENANCE, "ORD-1")
    stage_status("awaiting_approval", ["ReturnToServiceApproval"])
    # {"stage": "awaiting_approval", "waitingFor": ["ReturnToServiceApproval"]}

Models validate once at the edge (api/); orchestrators and activities exchange the plain JSON
form, `model.model_dump(mode="json", by_alias=True)`, or `to_json(model)` for short.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidationInfo,
)
from pydantic.alias_generators import to_camel

BUSINESS_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")

BusinessId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
"""A business id as users type it: 1-64 of letters, digits, `_` and `-` (safe in URLs and ids)."""


def text(max_length: int) -> StringConstraints:
    """Free text a person types, as `Annotated[str, text(200)]`: trimmed, at least one visible
    character, at most `max_length`.

    The `\\S` pattern puts "not blank" into the JSON Schema too, so the OpenAPI document does
    not promise that "   " is accepted.
    """
    return StringConstraints(
        strip_whitespace=True, min_length=1, max_length=max_length, pattern=r"\S"
    )


ActorName = Annotated[str, text(200)]
Timestamp = AwareDatetime
"""Datetimes on the wire carry a timezone, so no one guesses what a naive time meant."""


def _integral(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


Count = Annotated[int, BeforeValidator(_integral), Strict()]
"""A whole number as JSON has it: `3` or `3.0` (JSON Schema's integer), never `"3"` or `true`."""


def _whole_cents(value: float) -> float:
    exponent = Decimal(repr(value)).as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -2:
        raise ValueError("must be a whole number of cents: at most two decimals")
    return value


Money = Annotated[
    float,
    Field(
        strict=True,
        ge=0.01,
        le=100_000_000,
        allow_inf_nan=False,
        description="An amount of money: at least 0.01, at most 100,000,000, whole cents "
        "(at most two decimals).",
    ),
    AfterValidator(_whole_cents),
]
"""An amount of money as a JSON number: at least one cent, at most 100,000,000, in whole cents.

Money has a smallest unit, the cent: `1e-320` or `0.001` is no amount anyone can pay, and
taken as one it became a claim approved for 0.00 (payouts round to cents). The cents are
checked on the number as written (`Decimal(repr(value))`: 19.99 and 0.1 pass, 0.015 fails),
not with JSON Schema's `multipleOf: 0.01`, which float arithmetic makes unreliable in
validators (0.07 / 0.01 is not a whole number in binary floating point). Up to the maximum a
float still tells every cent apart; larger amounts are typos. JSON numbers only, never
`"12.50"` or `true`.
"""

_EDGE_NOW = "requestTime"


def edge_context(now: datetime) -> dict[str, datetime]:
    """The validation context of a new request at the edge: the time it arrived.

    Rules relative to "now" (a loss not in the future, a pickup not years away) check only
    with this context, so an orchestrator that validates its stored input on replay, months
    later, still accepts what was accepted when it started.
    """
    return {_EDGE_NOW: now}


def edge_now(info: ValidationInfo) -> datetime | None:
    """The request time from `edge_context`, or None when not validating a new request."""
    context = info.context if isinstance(info.context, dict) else {}
    return context.get(_EDGE_NOW)


class ApiModel(BaseModel):
    """Base of every payload model: camelCase aliases on the wire, snake_case in Python.

    Unknown fields are rejected (a typo in a field name is a 400, not a silently dropped value)
    and instances are immutable, so a validated payload stays validated.
    """

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class Workflow(StrEnum):
    """The workflows; the value is the instance-id prefix."""

    CLAIM = "claim"
    SHIPMENT = "shipment"
    MAINTENANCE = "maintenance"

    @property
    def collection(self) -> str:
        """The API collection under /api/ where this workflow's instances live."""
        return _COLLECTIONS[self]

    @property
    def orchestrator(self) -> str:
        """The orchestrator function name that runs this workflow."""
        return f"{self.value}_orchestrator"


_COLLECTIONS = {
    Workflow.CLAIM: "claims",
    Workflow.SHIPMENT: "shipments",
    Workflow.MAINTENANCE: "maintenance-orders",
}


ACTIVE_STATUSES = frozenset({"Pending", "Running", "Suspended", "ContinuedAsNew"})
"""Runtime statuses of an instance that has not ended (ContinuedAsNew: it goes on afresh)."""


def is_business_id(value: str) -> bool:
    """True when `value` is a valid business id."""
    return BUSINESS_ID_RE.fullmatch(value) is not None


def instance_id(workflow: Workflow | str, business_id: str) -> str:
    """The orchestration instance id of a workflow's business id, e.g. `claim-CLM-1001`.

    Deterministic, so a second start for the same business id finds the first instance.
    """
    if not is_business_id(business_id):
        raise ValueError(f"invalid business id {business_id!r}")
    return f"{Workflow(workflow).value}-{business_id}"


def parse_instance_id(value: str) -> tuple[Workflow, str] | None:
    """Split an instance id into (workflow, business id); None when it is not one of ours.

    Sub-orchestration ids and other instances that do not follow the rule are not workflows.
    """
    prefix, _, business_id = value.partition("-")
    try:
        workflow = Workflow(prefix)
    except ValueError:
        return None
    return (workflow, business_id) if is_business_id(business_id) else None


def stage_status(stage: str, waiting_for: Iterable[str] = (), **extra: Any) -> dict[str, Any]:
    """The custom status of an instance: its business stage and the events it accepts now.

    Portals read it through the status view; api/ refuses (409) a portal event that is not
    listed in `waitingFor`. `extra` adds small details (e.g. a lock queue position).
    """
    return {"stage": stage, "waitingFor": list(waiting_for), **extra}


RESERVED_ACTORS = frozenset({"system"})
"""Names no caller may sign as: `system` marks decisions the workflow made by itself."""


def is_reserved_actor(name: str) -> bool:
    """Whether `name` is kept for the workflow itself (compared trimmed, ignoring case)."""
    return name.strip().casefold() in RESERVED_ACTORS


def _not_reserved(name: str) -> str:
    if is_reserved_actor(name):
        raise ValueError(f"{name!r} is reserved for decisions the workflow makes itself")
    return name


class PortalAction(ApiModel):
    """Base of every portal event body.

    `actor` names who acts only where local unauthenticated use is allowed (the
    ACCEPT_ACTOR_FIELD setting); everywhere else identity comes from sign-in alone.
    """

    actor: Annotated[ActorName, AfterValidator(_not_reserved)] | None = Field(
        default=None,
        description="Who acts; accepted only where ACCEPT_ACTOR_FIELD allows unauthenticated "
        "local use (never in Azure, where identity comes from sign-in).",
    )


def require_unique(values: Iterable[str], field: str) -> None:
    """Raise ValueError naming every value of `field` that appears more than once."""
    listed = list(values)
    repeated = sorted({value for value in listed if listed.count(value) > 1})
    if repeated:
        raise ValueError(f"{field} must be unique; repeated: {', '.join(repeated)}")


def to_json(model: BaseModel) -> dict[str, Any]:
    """The plain JSON dict passed to orchestrators and activities."""
    return model.model_dump(mode="json", by_alias=True)


def parse_time(value: str | datetime) -> datetime:
    """A timezone-aware UTC datetime from an ISO string (or a datetime) read back from JSON."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """The ISO form of a datetime as stored in JSON (UTC)."""
    return parse_time(moment).isoformat()
