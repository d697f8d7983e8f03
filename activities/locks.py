"""Lock activities: they reach lock owners through the durable client (bound on activities as
on HTTP triggers), since an entity cannot raise events and an orchestrator does no I/O.

Both are safe to repeat. A second `LockGranted` only makes the holder ask the lock entity once
more, and the entity alone decides who holds: the event is a wake-up, never a grant.
"""

from __future__ import annotations

import azure.durable_functions as df

from domain.common import ACTIVE_STATUSES
from domain.locks import LOCK_GRANTED

bp = df.Blueprint()


async def _runs(client: df.DurableOrchestrationClient, instance_id: str) -> bool:
    """Whether the instance still runs; an unknown (or purged) id does not."""
    status = await client.get_status(instance_id)
    return status.runtime_status is not None and status.runtime_status.value in ACTIVE_STATUSES


@bp.activity_trigger(input_name="owner")
@bp.durable_client_input(client_name="client")
async def lock_owner_running(owner: str, client: df.DurableOrchestrationClient) -> bool:
    """Whether a lock holder whose lease is over still runs (then it keeps the lock)."""
    return await _runs(client, owner)


@bp.activity_trigger(input_name="notice")
@bp.durable_client_input(client_name="client")
async def lock_notify_holder(notice: dict, client: df.DurableOrchestrationClient) -> bool:
    """Tell `owner` it now holds `resource`, under the event name its wait listens for;
    False when it no longer runs (hand the lock on)."""
    owner = notice["owner"]
    if not await _runs(client, owner):
        return False
    try:
        event = notice.get("event") or LOCK_GRANTED  # notices from before wake names
        await client.raise_event(owner, event, {"resource": notice["resource"]})
    except Exception:  # the SDK raises a plain Exception for 404/410: it ended meanwhile
        if await _runs(client, owner):
            raise
        return False
    return True
