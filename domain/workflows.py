"""Every workflow's contract (domain/contract.py), and what derives from them: who may take
each portal action."""

from __future__ import annotations

from domain import claims, maintenance, shipments
from domain.common import Workflow
from domain.contract import Contract
from domain.roles import Role

CONTRACTS: dict[Workflow, Contract] = {
    contract.workflow: contract
    for contract in (claims.CONTRACT, shipments.CONTRACT, maintenance.CONTRACT)
}

ACTION_ROLES: dict[str, frozenset[Role]] = {
    str(action.event): action.roles
    for contract in CONTRACTS.values()
    for action in contract.actions
}
"""Portal action (its Durable event name) -> the roles of which the caller needs one."""


def roles_for(action: str) -> frozenset[Role]:
    """The roles of which a caller needs one to take `action` (a portal event name)."""
    return ACTION_ROLES[action]
