"""Taking and releasing lock entities from an orchestrator; a released lock wakes its next holder.

    lock = yield from acquire_lock(context, "aircraft:N123AB", POLICY, "waiting_for_aircraft")
    if not lock.granted:                       # waited past policy.deadline, and left the queue
        return {"outcome": "aircraft_unavailable", ...}
    result = yield from holding_lock(context, "aircraft:N123AB", critical_section(context, order))

Whoever makes a new holder tells it at once: the release, a waiter that gave up after it was
granted, or a waiter that found the holder no longer running raise `LockGranted` on the new
holder through the `lock_notify_holder` activity (a durable client bound on an activity), and
hand the lock on again when that instance no longer runs. A waiter waits for that event or its
poll timer, whichever comes first: the poll (doubling from `first_poll` to `max_poll`) is only a
safety net, and the moment it checks a holder whose lease is over (domain/locks.py).

While waiting, the custom status is `{"stage": waiting_stage, "waitingFor": [...], "lock":
{resource, holder, position}}`.

Answers recorded by instances that started before leases were checked lack `leaseExpired`,
`changed` (it was `released`) and `handedTo`; replaying them reads those as absent.

`holding_lock` runs a generator and releases the lock when it returns or raises. A plain
`try/finally` would also run when the SDK discards a suspended generator between replays, and
yielding there is an error ("generator ignored GeneratorExit"). While it runs, the custom
status lists the resource under `locks`, so whoever terminates the instance knows what to free:
the `locks_release` orchestration takes a terminated owner off its locks and wakes the next
holders at once (api/support.py starts it), where a lock would otherwise wait for its lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from domain.common import iso
from domain.locks import LOCK_ENTITY, LOCK_GRANTED, LOCKS_RELEASE, LockActivity
from orchestrators.common import log, retry, set_stage, wait_for_event
from orchestrators.inbox import Inbox, Steps

bp = df.Blueprint()

OWNER_CALL_RETRY = retry(attempts=3, first_interval=timedelta(seconds=1))


class LockLost(Exception):
    """A holder learnt at its release that it no longer held its lock: never silent."""


@dataclass(frozen=True)
class LockPolicy:
    """How long the lock trusts its holder before checking it still runs (lease), how long a
    waiter waits at most (deadline), and its safety-net poll."""

    lease: timedelta
    deadline: timedelta
    first_poll: timedelta = timedelta(seconds=30)
    max_poll: timedelta = timedelta(hours=1)


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
    delay = policy.first_poll
    while True:
        now = context.current_utc_datetime
        request = {
            "owner": context.instance_id,
            "now": iso(now),
            "leaseSeconds": policy.lease.total_seconds(),
        }
        if (wake := Inbox.of(context).name(LOCK_GRANTED)) != LOCK_GRANTED:
            # The name its wait listens under now: a wake-up sent under a spent name would be
            # handed again to every later wait (orchestrators/inbox.py). The first round's
            # plain name is the entity's default, so histories from before stay as they were.
            request["wake"] = wake
        answer = yield context.call_entity(lock_id(resource), "acquire", request)
        if answer["granted"]:
            log(context, "holds lock %s", resource)
            return LockResult(resource, True, now - started, context.instance_id)
        if answer.get("leaseExpired") and (yield from _check_holder(context, resource, answer)):
            continue  # the holder was confirmed or replaced: ask again at once
        if now >= give_up_at:
            yield from _leave(context, resource, context.instance_id)
            log(context, "gave up waiting for lock %s held by %s", resource, answer["holder"])
            return LockResult(resource, False, now - started, answer["holder"])
        lock_info = {
            "resource": resource,
            "holder": answer["holder"],
            "position": answer["position"],
        }
        yield from set_stage(context, waiting_stage, waiting_for, lock=lock_info)
        woken = yield from wait_for_event(context, [LOCK_GRANTED], min(now + delay, give_up_at))
        if woken is None:
            delay = min(delay * 2, policy.max_poll)


def release_lock(context: df.DurableOrchestrationContext, resource: str) -> Steps:
    """Release this instance's lock on `resource` and wake the next holder.

    Raises LockLost when this instance no longer held it: its critical section ran unguarded.
    """
    change = yield from _call(context, resource, "release", context.instance_id)
    log(context, "lock %s: %s", resource, change["reason"])
    if not change.get("changed", change.get("released")):
        raise LockLost(f"{context.instance_id} did not hold lock {resource}: {change['reason']}")
    _show_held(context, resource, held=False)
    yield from _hand_on(context, resource, change)
    return change


def holding_lock(context: df.DurableOrchestrationContext, resource: str, steps: Steps) -> Steps:
    """Run `steps` (a generator) holding the lock; release it however `steps` ends.

    Failures are re-raised after the release. GeneratorExit is left alone on purpose: it means
    the SDK dropped a suspended replay, not that the work ended.
    """
    _show_held(context, resource, held=True)
    try:
        result = yield from steps
    except Exception:
        yield from release_lock(context, resource)
        _show_released_on_failure(context, resource)
        raise
    yield from release_lock(context, resource)
    return result


def _show_held(context: df.DurableOrchestrationContext, resource: str, held: bool) -> None:
    """List `resource` under `locks` in the custom status while the instance holds it."""
    status = dict(context.custom_status) if isinstance(context.custom_status, dict) else {}
    locks = [name for name in status.get("locks") or [] if name != resource]
    status["locks"] = [*locks, resource] if held else locks
    context.set_custom_status(status)


def _show_released_on_failure(context: df.DurableOrchestrationContext, resource: str) -> None:
    """List `resource` under `releasedOnFailure`: a rewind must take it again first, since the
    lock's state is not rewound with the instance's history (api/support.py)."""
    status = dict(context.custom_status) if isinstance(context.custom_status, dict) else {}
    status["releasedOnFailure"] = [*(status.get("releasedOnFailure") or []), resource]
    context.set_custom_status(status)


@bp.orchestration_trigger(context_name="context", orchestration=LOCKS_RELEASE)
def locks_release(context: df.DurableOrchestrationContext) -> Steps:
    """Take an owner that no longer runs off its locks (input `{owner, resources}`), waking
    whoever holds each next; returns what each lock did."""
    request = context.get_input()
    changes = {}
    for resource in request["resources"]:
        changes[resource] = yield from _leave(context, resource, request["owner"])
    return changes


def _check_holder(
    context: df.DurableOrchestrationContext, resource: str, answer: dict[str, Any]
) -> Steps:
    """The holder's lease is over: confirm it if it still runs, else take it off the lock.

    Returns False when the durable client could not tell (the next poll asks again).
    """
    holder = answer["holder"]
    try:
        running = yield context.call_activity_with_retry(
            LockActivity.OWNER_RUNNING, OWNER_CALL_RETRY, holder
        )
    except Exception as error:  # the SDK raises a plain Exception after the last retry
        log(context, "lock %s: could not check holder %s: %s", resource, holder, error)
        return False
    if running:
        yield from _call(context, resource, "confirm", holder)
    else:
        log(context, "lock %s: holder %s no longer runs; handing the lock on", resource, holder)
        yield from _leave(context, resource, holder)
    return True


def _leave(context: df.DurableOrchestrationContext, resource: str, owner: str) -> Steps:
    """Take `owner` off the lock (queue or holding), and wake whoever holds it because of that."""
    change = yield from _call(context, resource, "withdraw", owner)
    yield from _hand_on(context, resource, change)
    return change


def _hand_on(
    context: df.DurableOrchestrationContext, resource: str, change: dict[str, Any]
) -> Steps:
    """Wake the holder `change` made; skip past any that no longer runs.

    Repeating this is harmless (the event only makes the holder ask the entity again), and the
    event goes only to the holder the entity named.
    """
    owner = change.get("handedTo")
    while owner is not None and owner != context.instance_id:
        try:
            woken = yield context.call_activity_with_retry(
                LockActivity.NOTIFY_HOLDER,
                OWNER_CALL_RETRY,
                {"owner": owner, "resource": resource, "event": change.get("wake")},
            )
        except Exception as error:  # its own poll will find the lock
            log(context, "lock %s: could not wake %s: %s", resource, owner, error)
            return
        if woken:
            return
        log(context, "lock %s: %s no longer runs; handing the lock on", resource, owner)
        change = yield from _call(context, resource, "withdraw", owner)
        owner = change["handedTo"]


def _call(
    context: df.DurableOrchestrationContext, resource: str, operation: str, owner: str
) -> Steps:
    payload = {"owner": owner, "now": iso(context.current_utc_datetime)}
    return (yield context.call_entity(lock_id(resource), operation, payload))
