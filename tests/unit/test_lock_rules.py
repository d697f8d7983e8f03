"""The lock rules: one holder, FIFO waiters, idempotent re-acquire, harmless foreign release,
and leases that free a lock whose owner vanished."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.locks import (
    LockRequest,
    LockState,
    ReleaseRequest,
    acquire,
    release,
    settle,
    view,
    withdraw,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
HOUR = 3600.0


def ask(state, owner, at=T0, lease=HOUR, patience=HOUR):
    return acquire(
        state, LockRequest(owner=owner, now=at, lease_seconds=lease, patience_seconds=patience)
    )


def test_first_caller_gets_the_lock_and_the_next_queues_in_order():
    state, first = ask(LockState(), "a")
    state, second = ask(state, "b")
    state, third = ask(state, "c")
    assert first.granted and first.position == 0
    assert (second.granted, second.position, second.holder) == (False, 1, "a")
    assert (third.granted, third.position) == (False, 2)
    assert view("policy:P", state).queue == ["b", "c"]


def test_acquire_by_the_holder_is_idempotent_and_renews_the_lease():
    state, _ = ask(LockState(), "a")
    later = T0 + timedelta(minutes=30)
    renewed, again = ask(state, "a", at=later)
    assert again.granted
    assert renewed.holder.owner == "a" and renewed.queue == []
    assert again.lease_expires_at == later + timedelta(hours=1)


def test_a_waiter_asking_again_keeps_its_place():
    state, _ = ask(LockState(), "a")
    state, _ = ask(state, "b")
    state, _ = ask(state, "c")
    state, again = ask(state, "b", at=T0 + timedelta(minutes=1))
    assert again.position == 1
    assert [entry.owner for entry in state.queue] == ["b", "c"]


def test_release_by_the_holder_hands_the_lock_to_the_first_waiter():
    state, _ = ask(LockState(), "a")
    state, _ = ask(state, "b")
    state, _ = ask(state, "c")
    state, result = release(state, ReleaseRequest(owner="a", now=T0))
    assert result.released and result.next_holder == "b"
    state, granted = ask(state, "b")
    assert granted.granted
    _, waiting = ask(state, "c")
    assert waiting.position == 1


def test_release_by_someone_else_changes_nothing_and_says_so():
    state, _ = ask(LockState(), "a")
    state, _ = ask(state, "b")
    after, result = release(state, ReleaseRequest(owner="b", now=T0))
    assert not result.released
    assert "does not hold" in result.reason and result.next_holder == "a"
    assert after == state
    _, result = release(LockState(), ReleaseRequest(owner="x", now=T0))
    assert not result.released and "free" in result.reason


def test_an_expired_lease_frees_the_lock_of_a_vanished_holder():
    state, _ = ask(LockState(), "terminated", lease=60)
    _, blocked = ask(state, "b", at=T0 + timedelta(seconds=59))
    assert not blocked.granted
    _, granted = ask(state, "b", at=T0 + timedelta(seconds=61))
    assert granted.granted


def test_a_waiter_that_stops_asking_loses_its_place():
    state, _ = ask(LockState(), "a", lease=10 * HOUR)
    state, _ = ask(state, "gone", patience=60)
    state, queued = ask(state, "b", at=T0 + timedelta(seconds=120))
    assert queued.position == 1
    assert view("r", state).queue == ["b"]


def test_withdraw_leaves_the_queue_or_releases_a_lock_granted_meanwhile():
    state, _ = ask(LockState(), "a")
    state, _ = ask(state, "b")
    state, left = withdraw(state, ReleaseRequest(owner="b", now=T0))
    assert not left.released and state.queue == []
    state, _ = ask(state, "c")
    state, _ = release(state, ReleaseRequest(owner="a", now=T0))
    state, result = withdraw(state, ReleaseRequest(owner="c", now=T0))
    assert result.released and state.holder is None


operations = st.lists(
    st.tuples(
        st.sampled_from(["acquire", "release", "withdraw"]),
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(min_value=0, max_value=600),  # seconds since the previous operation
        st.integers(min_value=1, max_value=900),  # lease / patience seconds
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_invariants_hold_for_any_sequence_of_operations(ops):
    state, now = LockState(), T0
    for name, owner, step, seconds in ops:
        now += timedelta(seconds=step)
        before = settle(state, now)
        if name == "acquire":
            request = LockRequest(
                owner=owner, now=now, lease_seconds=seconds, patience_seconds=seconds
            )
            state, result = acquire(state, request)
            free_or_mine = before.holder is None or before.holder.owner == owner
            assert result.granted == free_or_mine
            if result.granted:
                assert state.holder.owner == owner and result.position == 0
            else:
                assert state.queue[result.position - 1].owner == owner
                assert [e.owner for e in state.queue if e.owner != owner] == [
                    e.owner for e in before.queue if e.owner != owner
                ]
        else:
            rule = release if name == "release" else withdraw
            state, result = rule(state, ReleaseRequest(owner=owner, now=now))
            held = before.holder is not None and before.holder.owner == owner
            assert result.released == held
            if held:
                waiters = [e.owner for e in before.queue]
                assert (state.holder.owner if state.holder else None) == (
                    waiters[0] if waiters else None
                )
            elif name == "release":
                assert state == before
        owners = [e.owner for e in state.queue]
        assert len(owners) == len(set(owners)), "an owner waits at most once"
        assert state.holder is None or state.holder.owner not in owners, "the holder never waits"
        assert state.holder is not None or not state.queue, "a free lock has no waiters"
