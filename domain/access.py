"""Who may act: the app roles, the roles each portal action needs, and who acted.

The role values are the Entra ID app roles of the app registration (docs/deploy.md creates
them); a principal's `roles` claim carries the ones assigned to it. Every portal action is
named by the Durable event it raises, and needs one of the roles its workflow's contract lists
for it (domain/workflows.py):

    roles_for("ClaimDecision")                         # frozenset({Role.CLAIMS_SUPERVISOR})
    missing_roles(actor, roles_for("ClaimDecision"))   # empty when `actor` may decide claims

The carrier role counts only for a principal signed in as an application (a carrier's system
using the client-credentials flow), never for a person.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from domain.common import ActorName, ApiModel, is_reserved_actor
from domain.roles import APPLICATION_ONLY, Role


class Actor(ApiModel):
    """Who did something, as recorded in the event, the status and the output.

    `source` says how we know: `principal` (signed in through App Service Authentication,
    `identityProvider` names how), `body` (the request's `actor` field, accepted only where
    local unauthenticated use is allowed), `workflow` (the workflow decided by itself).
    """

    name: ActorName
    object_id: str | None = Field(default=None, max_length=64)
    roles: list[str] = Field(default_factory=list, max_length=100)
    identity_provider: str | None = Field(default=None, max_length=64)
    kind: Literal["user", "application", "workflow"] = "user"
    source: Literal["principal", "body", "workflow"] = "principal"

    @model_validator(mode="after")
    def _only_the_workflow_signs_as_system(self) -> Actor:
        if (self.source == "workflow") != (self.kind == "workflow"):
            raise ValueError("only the workflow itself acts as kind and source `workflow`")
        if self.source != "workflow" and is_reserved_actor(self.name):
            raise ValueError(f"{self.name!r} is reserved for decisions the workflow makes itself")
        return self


class TakenAction(ApiModel):
    """A portal action an instance took: which, who, when, and the id the API gave it."""

    event: str
    by: Actor | None = None
    at: str
    action_id: str | None = None


SYSTEM = Actor(name="system", kind="workflow", source="workflow")
"""The workflow itself, for decisions made by rule (e.g. a claim approved automatically)."""


def effective_roles(actor: Actor) -> frozenset[Role]:
    """The known app roles `actor` holds; application-only roles count only for applications."""
    held = {Role(role) for role in actor.roles if role in Role._value2member_map_}
    if actor.kind != "application":
        held -= APPLICATION_ONLY
    return frozenset(held)


def missing_roles(actor: Actor, needed: frozenset[Role]) -> frozenset[Role]:
    """Empty when `actor` holds one of the `needed` roles; otherwise those roles."""
    return frozenset() if effective_roles(actor) & needed else needed


def is_requester(actor: Actor, requested_by: str, started_by: Actor | None) -> bool:
    """Whether `actor` is the person who requested a maintenance order (segregation of duties).

    The requester is who started the order, when signed in (compared by object id, else by
    name), and whoever the order names in `requestedBy` (compared by name, ignoring case).
    """
    names = {requested_by.strip().casefold()}
    if started_by is not None:
        if started_by.object_id and started_by.object_id == actor.object_id:
            return True
        names.add(started_by.name.casefold())
    return actor.name.casefold() in names
