"""Taking and releasing lock entities from an orchestrator, with durable-timer backoff.

    policy = LockPolicy(lease=timedelta(days=30), deadline=timedelta(days=30))
    lock = yield from acquire_lock(context, "aircraft:N123AB", policy, "waiting_for_aircraft")
    if not lock.granted:                       # waited past policy.deadline, and left the queue
        return {"outcome": "lock_timeout", ...}
    result = yield from holding_lock(context, "aircraft:N123AB", critical_section(context, order))

While waiting, the custom status is `{"stage": waiting_stage, "waitingFor": [], "lock": {...}}`
with the queue position and holder. The wait is a durable timer that doubles from
`first_backoff` to `max_backoff` between polls (never a busy loop); when the holder releases,
the lock passes to the first waiter, which sees the grant on its next poll.

`holding_lock` runs a generator and releases the lock when it returns or raises. (A plain
`try/finally` would also run when the SDK discards a suspended generator between replays, and
yielding there is an error.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from domain.common import iso
from domain.locks import LOCK_ENTITY
from orchestrators.common import Steps, log, set_stage


@dataclass(frozen=True)
class LockPolicy:
    """How long a lock is held at most (lease) and waited for at most (deadline)."""

    lease: timedelta
    deadline: timedelta
    first_backoff: timedelta = timedelta(seconds=30)
    max_backoff: timedelta = timedelta(minutes=30)

    @property
    def patience(self) -> timedelta:
        """How long the queue keeps a waiter's place between its polls."""
        return self.max_backoff * 2 + timedelta(minutes=1)


@dataclass(frozen=True)
class LockResult:
    """The outcome of `acquire_lock`: granted, or given up after `waited`."""

    resource: str
    granted: bool
    waited: timedelta
    holder: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for outputs."""
        return {
            "resource": self.resource,
            "granted": self.granted,
            "waitedSeconds": self.waited.total_seconds(),
            "holder": self.holder,
        }


def lock_id(resource: str) -> df.EntityId:
    """The lock entity for a resource such as `policy:POL-1`."""
    return df.EntityId(LOCK_ENTITY, resource)


def acquire_lock(
    context: df.DurableOrchestrationContext,
    resource: str,
    policy: LockPolicy,
    waiting_stage: str = "waiting_for_lock",
    waiting_for: tuple[str, ...] = (),
) -> Steps:
    """Take the lock for `resource` as this instance; returns a LockResult (use `yield from`).

    `waiting_for` names the events the caller still honours while it waits (shown in the
    custom status, so portals may send them; they are buffered until the caller looks).
    """
    started = context.current_utc_datetime
    give_up_at = started + policy.deadline
    delay = policy.first_backoff
    while True:
        now = context.current_utc_datetime
        answer = yield context.call_entity(
            lock_id(resource),
            "acquire",
            {
                "owner": context.instance_id,
                "now": iso(now),
                "leaseSeconds": policy.lease.total_seconds(),
                "patienceSeconds": policy.patience.total_seconds(),
            },
        )
        if answer["granted"]:
            log(context, "holds lock %s", resource)
            return LockResult(resource, True, now - started, context.instance_id)
        if now >= give_up_at:
            yield from _call(context, resource, "withdraw")
            log(context, "gave up waiting for lock %s held by %s", resource, answer["holder"])
            return LockResult(resource, False, now - started, answer["holder"])
        lock_info = {
            "resource": resource,
            "holder": answer["holder"],
            "position": answer["position"],
        }
        yield from set_stage(context, waiting_stage, waiting_for, lock=lock_info)
        yield context.create_timer(min(now + delay, give_up_at))
        delay = min(delay * 2, policy.max_backoff)


def release_lock(context: df.DurableOrchestrationContext, resource: str) -> Steps:
    """Release this instance's lock on `resource`; harmless when it does not hold it."""
    result = yield from _call(context, resource, "release")
    log(context, "lock %s: %s", resource, result["reason"])
    return result


def holding_lock(context: df.DurableOrchestrationContext, resource: str, steps: Steps) -> Steps:
    """Run `steps` (a generator) holding the lock; release it however `steps` ends.

    Failures are re-raised after the release. GeneratorExit is left alone on purpose: it means
    the SDK dropped a suspended replay, not that the work ended.
    """
    try:
        result = yield from steps
    except Exception:
        yield from release_lock(context, resource)
        raise
    yield from release_lock(context, resource)
    return result


def _call(context: df.DurableOrchestrationContext, resource: str, operation: str) -> Steps:
    payload = {"owner": context.instance_id, "now": iso(context.current_utc_datetime)}
    return (yield context.call_entity(lock_id(resource), operation, payload))
