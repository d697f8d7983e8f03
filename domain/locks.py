"""The lock rules: one holder, a FIFO queue of waiters, and leases that are checked, not trusted.

A holder keeps the lock until it releases it; no clock takes it away. Its lease only says when
the lock must make sure again that the holder still runs: a waiter that finds the lease over
asks the durable client whether the holder's instance still runs (orchestrators/locking.py),
then either `confirm`s it (a new lease) or `withdraw`s it for good (terminated, failed, purged).

Why checked leases rather than renewal by the holder: a holder waits where the lock helper has
no timer of its own (sub-orchestrations, event waits of days), a renewal it misses (a suspended
instance, a host down for a weekend) would make two holders, and renewing from every wait would
grow every history. A checked lease asks the one question that matters: does the holder run?

Every operation that makes a new holder names it in `handed_to`; the caller tells that instance
at once (event `LockGranted`), so it does not wait for its next poll. Entities have no clock, so
every operation carries the caller's deterministic `now`. The lock entity (entities/lock.py)
only loads the state, applies these functions and stores the result.

    state, result = acquire(LockState(), LockRequest(owner="claim-A", now=t, lease_seconds=3600))
    result.granted  # True; a second owner would get granted=False, position=1
    state, change = release(state, OwnerRequest(owner="claim-A", now=t))
    change.handed_to  # the first waiter, or None
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import ConfigDict, Field

from domain.common import BUSINESS_ID_RE, ApiModel, Timestamp

LOCK_ENTITY = "lock"
"""The entity name: lock `policy:P-1` is the entity `lock@policy:P-1`."""

_TAIL_NUMBER = r"[A-Z0-9-]{2,10}"  # TailNumber (domain/maintenance.py), stored upper-cased
_CARRIER_CODE = r"[A-Z0-9_-]{1,32}"  # CarrierCode (domain/shipments.py)
_DAY = r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"  # a date's isoformat()

LOCK_RESOURCE_RE = re.compile(
    rf"policy:{BUSINESS_ID_RE.pattern}"
    rf"|aircraft:{_TAIL_NUMBER}"
    rf"|carrier:{_CARRIER_CODE}:{_DAY}"
)
"""Every lock resource the workflows take, and nothing else (match it whole):

- `policy:<policy number>` (a business id), one claim per policy at a time;
- `aircraft:<tail number>` (domain/maintenance.py `aircraft_lock`), one order per aircraft;
- `carrier:<carrier code>:<YYYY-MM-DD>` (domain/shipments.py `carrier_lock`), one booking of a
  carrier's day at a time.

None of them holds `?`, `#`, `/`, `%` or `.`: a resource that matches is safe in the durable
client's entity URLs as it is.
"""

LOCK_RESOURCE_EXAMPLE = "policy:POL-1"


def is_lock_resource(value: str) -> bool:
    """True when `value` is a lock resource some workflow can take (see LOCK_RESOURCE_RE)."""
    return LOCK_RESOURCE_RE.fullmatch(value) is not None


LOCK_GRANTED = "LockGranted"
"""The event that tells a waiter it now holds a lock: `{"resource": ...}`. Each waiter names
the round it listens under (`wake`, e.g. `LockGranted_2`: orchestrators/inbox.py)."""


LOCKS_RELEASE = "locks_release"
"""The orchestration that frees the locks of a terminated owner: input `{owner, resources}`."""


def release_instance_id(owner: str) -> str:
    """The id of the `locks_release` run for `owner` (one per owner: a second is refused)."""
    return f"{owner}:release-locks"


class LockActivity(StrEnum):
    """The activities that reach lock owners through the durable client."""

    OWNER_RUNNING = "lock_owner_running"
    NOTIFY_HOLDER = "lock_notify_holder"


OwnerId = str


class Holder(ApiModel):
    """The owner holding the lock, and when the lock next checks that it still runs."""

    owner: OwnerId
    lease_seconds: float = Field(gt=0)
    expires_at: Timestamp


class Waiter(ApiModel):
    """An owner waiting for the lock, with the lease it asked for and the event name that
    wakes it (waiters stored before wake names listen under the plain LOCK_GRANTED).

    States stored before leases were checked gave each waiter an expiry; it is ignored now.
    """

    model_config = ConfigDict(extra="ignore")

    owner: OwnerId
    lease_seconds: float = Field(gt=0)
    wake: str = LOCK_GRANTED


class LockState(ApiModel):
    """The entity state: the holder (if any) and the waiters in arrival order."""

    holder: Holder | None = None
    queue: list[Waiter] = Field(default_factory=list)


class LockRequest(ApiModel):
    """`acquire` input: who asks, the caller's now, and its lease."""

    owner: OwnerId = Field(min_length=1)
    now: Timestamp
    lease_seconds: float = Field(gt=0)
    wake: str = Field(default=LOCK_GRANTED, min_length=1)


class OwnerRequest(ApiModel):
    """`release`, `withdraw` and `confirm` input: the owner concerned and the caller's now."""

    owner: OwnerId = Field(min_length=1)
    now: Timestamp


class AcquireResult(ApiModel):
    """`granted`, or the caller's 1-based place in the queue and who holds the lock."""

    granted: bool
    holder: OwnerId | None
    position: int = Field(ge=0, description="0 when granted, else the place in the queue.")
    lease_expires_at: Timestamp | None = None
    lease_expired: bool = Field(
        default=False, description="The holder's lease is over: check that it still runs."
    )


class LockChange(ApiModel):
    """What `release`, `withdraw` or `confirm` did; `handed_to` is a holder it made, to be
    woken with the event `wake`."""

    changed: bool
    reason: str
    holder: OwnerId | None = None
    handed_to: OwnerId | None = None
    wake: str | None = None


def _lease(owner: OwnerId, lease_seconds: float, now: datetime) -> Holder:
    return Holder(
        owner=owner, lease_seconds=lease_seconds, expires_at=now + timedelta(seconds=lease_seconds)
    )


def _pass_on(queue: list[Waiter], now: datetime) -> tuple[LockState, Waiter | None]:
    """The lock after its holder left: the first waiter holds it, with a fresh lease."""
    if not queue:
        return LockState(), None
    first, *rest = queue
    return LockState(holder=_lease(first.owner, first.lease_seconds, now), queue=rest), first


def acquire(state: LockState, request: LockRequest) -> tuple[LockState, AcquireResult]:
    """Grant a free lock, renew the holder's lease (idempotent), or queue the caller FIFO."""
    now, holder = request.now, state.holder
    if holder is None and state.queue:  # never stored so; repaired rather than trusted
        state, _ = _pass_on(state.queue, now)
        holder = state.holder
    if holder is None or holder.owner == request.owner:
        granted = _lease(request.owner, request.lease_seconds, now)
        if holder is not None:
            granted = granted.model_copy(
                update={"expires_at": max(granted.expires_at, holder.expires_at)}
            )
        return LockState(holder=granted, queue=state.queue), AcquireResult(
            granted=True, holder=request.owner, position=0, lease_expires_at=granted.expires_at
        )
    waiter = Waiter(owner=request.owner, lease_seconds=request.lease_seconds, wake=request.wake)
    owners = [entry.owner for entry in state.queue]
    if request.owner in owners:
        position = owners.index(request.owner) + 1
        queue = [waiter if entry.owner == request.owner else entry for entry in state.queue]
    else:
        queue = [*state.queue, waiter]
        position = len(queue)
    result = AcquireResult(
        granted=False,
        holder=holder.owner,
        position=position,
        lease_expires_at=holder.expires_at,
        lease_expired=holder.expires_at <= now,
    )
    return LockState(holder=holder, queue=queue), result


def release(state: LockState, request: OwnerRequest) -> tuple[LockState, LockChange]:
    """Release by the holder hands the lock to the first waiter; anyone else changes nothing."""
    holder = state.holder
    if holder is not None and holder.owner == request.owner:
        state, first = _pass_on(state.queue, request.now)
        handed_to = first.owner if first else None
        reason = f"released; {handed_to} holds it now" if handed_to else "released; it is free"
        change = LockChange(
            changed=True,
            reason=reason,
            holder=handed_to,
            handed_to=handed_to,
            wake=first.wake if first else None,
        )
        return state, change
    current = holder.owner if holder else None
    reason = (
        f"{request.owner} does not hold the lock ({current} does); nothing changed"
        if current
        else f"the lock is free; {request.owner} held nothing"
    )
    return state, LockChange(changed=False, reason=reason, holder=current)


def withdraw(state: LockState, request: OwnerRequest) -> tuple[LockState, LockChange]:
    """`owner` leaves: from the queue, or from holding (handing the lock on).

    A waiter past its deadline withdraws, so it is never handed a lock it no longer wants; a
    waiter that found the holder no longer running withdraws that holder.
    """
    if state.holder is not None and state.holder.owner == request.owner:
        return release(state, request)
    queue = [entry for entry in state.queue if entry.owner != request.owner]
    current = state.holder.owner if state.holder else None
    left = len(queue) != len(state.queue)
    reason = f"{request.owner} left the queue" if left else f"{request.owner} was not waiting"
    return LockState(holder=state.holder, queue=queue), LockChange(
        changed=left, reason=reason, holder=current
    )


def confirm(state: LockState, request: OwnerRequest) -> tuple[LockState, LockChange]:
    """The holder was seen running: its lease starts again. Anyone else changes nothing."""
    holder = state.holder
    if holder is None or holder.owner != request.owner:
        current = holder.owner if holder else None
        reason = f"{request.owner} does not hold the lock; nothing changed"
        return state, LockChange(changed=False, reason=reason, holder=current)
    renewed = _lease(holder.owner, holder.lease_seconds, request.now)
    return LockState(holder=renewed, queue=state.queue), LockChange(
        changed=True, reason=f"{holder.owner} still runs; lease renewed", holder=holder.owner
    )


class LockView(ApiModel):
    """What `GET /api/locks/{resource}` shows."""

    resource: str
    holder: OwnerId | None
    lease_expires_at: Timestamp | None = Field(
        description="When the lock next checks that its holder still runs."
    )
    queue: list[OwnerId]


def view(resource: str, state: LockState) -> LockView:
    """The stored state as support reads it."""
    return LockView(
        resource=resource,
        holder=state.holder.owner if state.holder else None,
        lease_expires_at=state.holder.expires_at if state.holder else None,
        queue=[entry.owner for entry in state.queue],
    )
