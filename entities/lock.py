"""The lock entity: `lock@<resource>`, e.g. `lock@policy:POL-1`, `lock@aircraft:N123AB`.

Operations (inputs are plain dicts, camelCase; see domain/locks.py for the rules):
    acquire  {owner, now, leaseSeconds, wake} -> {granted, holder, position, leaseExpiresAt,
             leaseExpired}; `wake` names the event that tells this waiter it holds the lock
    release  {owner, now} -> {changed, reason, holder, handedTo, wake}
    withdraw {owner, now} -> the same; `owner` leaves the queue, or the lock if it held it
    confirm  {owner, now} -> the same; the holder was seen running, its lease starts again

Orchestrators use it through orchestrators/locking.py, never directly; portals read its state
with `GET /api/locks/{resource}`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import azure.durable_functions as df

from domain import locks
from domain.common import to_json
from domain.locks import LOCK_ENTITY

bp = df.Blueprint()

_OPERATIONS: dict[str, tuple[type[locks.ApiModel], Callable[..., tuple[locks.LockState, Any]]]] = {
    "acquire": (locks.LockRequest, locks.acquire),
    "release": (locks.OwnerRequest, locks.release),
    "withdraw": (locks.OwnerRequest, locks.withdraw),
    "confirm": (locks.OwnerRequest, locks.confirm),
}


@bp.entity_trigger(context_name="context", entity_name=LOCK_ENTITY)
def lock(context: df.DurableEntityContext) -> None:
    """Apply one operation to the stored lock state; unknown operations fail the call."""
    operation = context.operation_name
    if operation not in _OPERATIONS:
        raise ValueError(f"unknown lock operation {operation!r}; use {sorted(_OPERATIONS)}")
    request_model, rule = _OPERATIONS[operation]
    request = request_model.model_validate(context.get_input())
    state = locks.LockState.model_validate(context.get_state(dict) or {})
    state, result = rule(state, request)
    context.set_state(to_json(state))
    context.set_result(to_json(result))
