"""The shape of one workflow's contract: what it is called, what starts it, its stages and the
portal actions people take on it.

Each workflow declares its contract once, in its own domain module (`domain.claims.CONTRACT`,
...); domain/workflows.py lists them. From a contract api/ registers the routes, their OpenAPI
entries and role checks, and the access rules and the console's view of who may act derive:

    POST /api/{collection}                       start with `start`
    GET  /api/{collection}/{id_param}            the business view
    POST /api/{collection}/{id_param}/{path}     each action: raises `event`, body `body`,
                                                 needs one of `roles`
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from domain.common import Workflow
from domain.roles import Role


@dataclass(frozen=True)
class Action:
    """A portal action: its route below an instance, the Durable event it raises, what it
    carries, who may take it, and how the OpenAPI document sums it up."""

    path: str
    event: StrEnum
    body: type[BaseModel]
    roles: frozenset[Role]
    summary: str


@dataclass(frozen=True)
class Contract:
    """One workflow, declared once."""

    workflow: Workflow
    id_param: str
    start: type[BaseModel]
    status: type[BaseModel]
    stages: type[StrEnum]
    events: type[StrEnum]
    actions: tuple[Action, ...]
    supervisors: frozenset[Role]
    """Who may terminate or rewind an instance (api/support.py)."""

    def __post_init__(self) -> None:
        """Every event has exactly one action, and every action one of the workflow's events."""
        declared = [action.event for action in self.actions]
        if sorted(declared) != sorted(self.events) or len(set(declared)) != len(declared):
            raise ValueError(f"{self.workflow}: actions {declared} must cover {list(self.events)}")

    @property
    def collection(self) -> str:
        return self.workflow.collection

    def action(self, event: str) -> Action:
        """The action that raises `event`."""
        return next(action for action in self.actions if action.event == event)
