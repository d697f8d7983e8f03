"""The lock rules: one holder, a FIFO queue of waiters, and leases instead of trust.

Entities have no clock, so every operation carries the caller's deterministic `now` (the
orchestrator's `current_utc_datetime`). Leases make a lock safe against owners that vanish (a
terminated instance never releases): an expired holder is replaced by the next live waiter, and a
waiter that stops asking (its `patience` ran out) leaves the queue. The lock entity
(entities/lock.py) only loads the state, applies these functions and stores the result.

    state = LockState()
    state, result = acquire(state, LockRequest(owner="claim-A", now=t, lease_seconds=3600))
    result.granted  # True; a second owner would get granted=False, position=1
    state, result = release(state, ReleaseRequest(owner="claim-A", now=t))
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field

from domain.common import ApiModel, Timestamp

LOCK_ENTITY = "lock"
"""The entity name: lock `policy:P-1` is the entity `lock@policy:P-1`."""

OwnerId = str


class LockEntry(ApiModel):
    """An owner holding or waiting for the lock, and when that claim lapses."""

    owner: OwnerId
    expires_at: Timestamp
    lease_seconds: float = Field(gt=0, description="The lease granted when this owner holds.")


class LockState(ApiModel):
    """The entity state: the holder (if any) and the waiters in arrival order."""

    holder: LockEntry | None = None
    queue: list[LockEntry] = Field(default_factory=list)


class LockRequest(ApiModel):
    """`acquire` input: who asks, the caller's now, its lease, how long to keep its queue place."""

    owner: OwnerId = Field(min_length=1)
    now: Timestamp
    lease_seconds: float = Field(gt=0)
    patience_seconds: float = Field(default=3600, gt=0)


class ReleaseRequest(ApiModel):
    """`release` input."""

    owner: OwnerId = Field(min_length=1)
    now: Timestamp


class AcquireResult(ApiModel):
    """`granted`, or the caller's 1-based place in the queue and who holds the lock."""

    granted: bool
    holder: OwnerId | None
    position: int = Field(ge=0, description="0 when granted, else the place in the queue.")
    lease_expires_at: Timestamp | None = None


class ReleaseResult(ApiModel):
    """Whether the caller held the lock; `next_holder` is who holds it now."""

    released: bool
    reason: str
    next_holder: OwnerId | None = None


def _grant(entry: LockEntry, now: datetime) -> LockEntry:
    return entry.model_copy(update={"expires_at": now + timedelta(seconds=entry.lease_seconds)})


def settle(state: LockState, now: datetime) -> LockState:
    """Drop an expired holder and lapsed waiters; hand a free lock to the first live waiter."""
    queue = [entry for entry in state.queue if entry.expires_at > now]
    holder = state.holder if state.holder and state.holder.expires_at > now else None
    if holder is None and queue:
        holder, queue = _grant(queue[0], now), queue[1:]
    return LockState(holder=holder, queue=queue)


def acquire(state: LockState, request: LockRequest) -> tuple[LockState, AcquireResult]:
    """Grant the lock, renew the holder's lease (idempotent), or queue the caller FIFO."""
    now = request.now
    state = settle(state, now)
    holder = state.holder
    if holder is None or holder.owner == request.owner:
        lease_end = now + timedelta(seconds=request.lease_seconds)
        if holder is not None:
            lease_end = max(lease_end, holder.expires_at)
        entry = LockEntry(
            owner=request.owner, expires_at=lease_end, lease_seconds=request.lease_seconds
        )
        state = LockState(holder=entry, queue=state.queue)
        return state, AcquireResult(
            granted=True, holder=request.owner, position=0, lease_expires_at=lease_end
        )
    waiter = LockEntry(
        owner=request.owner,
        expires_at=now + timedelta(seconds=request.patience_seconds),
        lease_seconds=request.lease_seconds,
    )
    owners = [entry.owner for entry in state.queue]
    if request.owner in owners:
        position = owners.index(request.owner) + 1
        queue = [waiter if entry.owner == request.owner else entry for entry in state.queue]
    else:
        queue = [*state.queue, waiter]
        position = len(queue)
    result = AcquireResult(
        granted=False, holder=holder.owner, position=position, lease_expires_at=holder.expires_at
    )
    return LockState(holder=holder, queue=queue), result


def release(state: LockState, request: ReleaseRequest) -> tuple[LockState, ReleaseResult]:
    """Release by the holder frees the lock for the next waiter; anyone else changes nothing."""
    now = request.now
    state = settle(state, now)
    holder = state.holder
    if holder is not None and holder.owner == request.owner:
        state = settle(LockState(holder=None, queue=state.queue), now)
        next_holder = state.holder.owner if state.holder else None
        return state, ReleaseResult(released=True, reason="released", next_holder=next_holder)
    current = holder.owner if holder else None
    reason = (
        f"{request.owner} does not hold the lock ({current} does); nothing changed"
        if current
        else f"the lock is free; {request.owner} held nothing"
    )
    return state, ReleaseResult(released=False, reason=reason, next_holder=current)


def withdraw(state: LockState, request: ReleaseRequest) -> tuple[LockState, ReleaseResult]:
    """A caller that gives up: it leaves the queue, or releases if it was granted meanwhile.

    So a waiter past its deadline is never handed a lock it no longer wants.
    """
    state = settle(state, request.now)
    if state.holder is not None and state.holder.owner == request.owner:
        return release(state, request)
    queue = [entry for entry in state.queue if entry.owner != request.owner]
    current = state.holder.owner if state.holder else None
    left = len(queue) != len(state.queue)
    reason = f"{request.owner} left the queue" if left else f"{request.owner} was not waiting"
    return LockState(holder=state.holder, queue=queue), ReleaseResult(
        released=False, reason=reason, next_holder=current
    )


class LockView(ApiModel):
    """What `GET /api/locks/{resource}` shows."""

    resource: str
    holder: OwnerId | None
    lease_expires_at: Timestamp | None
    queue: list[OwnerId]


def view(resource: str, state: LockState) -> LockView:
    """The stored state as support reads it (expiry is judged by the next operation's `now`)."""
    return LockView(
        resource=resource,
        holder=state.holder.owner if state.holder else None,
        lease_expires_at=state.holder.expires_at if state.holder else None,
        queue=[entry.owner for entry in state.queue],
    )
