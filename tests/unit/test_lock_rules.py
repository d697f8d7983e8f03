"""The lock rules: one holder, FIFO waiters, idempotent re-acquire, harmless foreign release,
and leases that are checked rather than trusted: time alone never takes a lock away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.locks import (
    LockRequest,
    LockState,
    OwnerRequest,
    acquire,
    confirm,
    release,
    view,
    withdraw,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
HOUR = 3600.0


def ask(state, owner, at=T0, lease=HOUR):
    return acquire(state, LockRequest(owner=owner, now=at, lease_seconds=lease))


def by(owner, at=T0):
    return OwnerRequest(owner=owner, now=at)


def test_first_caller_gets_the_lock_and_the_next_queue_in_order():
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
    state, again = ask(state, "b", at=T0 + timedelta(days=40))
    assert again.position == 1
    assert [entry.owner for entry in state.queue] == ["b", "c"]


def test_release_by_the_holder_hands_the_lock_to_the_first_waiter_and_names_it():
    state, _ = ask(LockState(), "a")
    state, _ = ask(state, "b", lease=60)
    state, _ = ask(state, "c")
    handed_at = T0 + timedelta(hours=5)
    state, change = release(state, by("a", handed_at))
    assert change.changed and change.handed_to == "b" and change.holder == "b"
    assert state.holder.expires_at == handed_at + timedelta(seconds=60)  # b's own lease
    _, granted = ask(state, "b", at=handed_at)
    assert granted.granted
    _, waiting = ask(state, "c", at=handed_at)
    assert waiting.position == 1


def test_release_of_a_lock_nobody_waits_for_hands_it_to_no_one():
    state, _ = ask(LockState(), "a")
    state, change = release(state, by("a"))
    assert change.changed and change.handed_to is None and state == LockState()


def test_release_by_someone_else_changes_nothing_and_says_so():
    state, _ = ask(LockState(), "a")
    state, _ = ask(state, "b")
    after, change = release(state, by("b"))
    assert not change.changed and change.handed_to is None
    assert "does not hold" in change.reason and change.holder == "a"
    assert after == state
    _, change = release(LockState(), by("x"))
    assert not change.changed and "free" in change.reason


def test_an_expired_lease_keeps_the_holder_and_tells_waiters_to_check_it():
    state, _ = ask(LockState(), "a", lease=60)
    _, fresh = ask(state, "b", at=T0 + timedelta(seconds=59))
    assert not fresh.lease_expired
    for days in (30, 60, 400):
        state, waiting = ask(state, "b", at=T0 + timedelta(days=days))
        assert (waiting.granted, waiting.holder, waiting.lease_expired) == (False, "a", True)
    assert state.holder.owner == "a"


def test_confirm_renews_a_running_holder_and_nobody_else():
    state, _ = ask(LockState(), "a", lease=60)
    state, _ = ask(state, "b")
    checked_at = T0 + timedelta(days=60)
    state, change = confirm(state, by("a", checked_at))
    assert change.changed and state.holder.expires_at == checked_at + timedelta(seconds=60)
    _, waiting = ask(state, "b", at=checked_at)
    assert not waiting.lease_expired
    after, change = confirm(state, by("b", checked_at))
    assert not change.changed and after == state


def test_withdrawing_a_holder_that_no_longer_runs_hands_the_lock_on():
    state, _ = ask(LockState(), "terminated", lease=60)
    state, _ = ask(state, "b")
    state, _ = ask(state, "c")
    state, change = withdraw(state, by("terminated", T0 + timedelta(minutes=2)))
    assert change.changed and change.handed_to == "b"
    assert view("r", state).queue == ["c"]


def test_a_waiter_that_gives_up_leaves_the_queue_and_never_receives_the_lock():
    state, _ = ask(LockState(), "a")
    state, _ = ask(state, "b")
    state, _ = ask(state, "c")
    state, left = withdraw(state, by("b"))
    assert left.changed and left.handed_to is None and view("r", state).queue == ["c"]
    state, change = release(state, by("a"))
    assert change.handed_to == "c"


def test_a_waiter_granted_while_giving_up_hands_the_lock_on():
    state, _ = ask(LockState(), "a")
    state, _ = ask(state, "b")
    state, _ = ask(state, "c")
    state, _ = release(state, by("a"))
    state, change = withdraw(state, by("b"))
    assert change.changed and change.handed_to == "c" and state.holder.owner == "c"


def test_waiters_stored_with_an_expiry_are_still_read():
    stored = {
        "holder": {"owner": "a", "leaseSeconds": 60, "expiresAt": T0.isoformat()},
        "queue": [{"owner": "b", "leaseSeconds": 60, "expiresAt": T0.isoformat()}],
    }
    assert view("r", LockState.model_validate(stored)).queue == ["b"]


operations = st.lists(
    st.tuples(
        st.sampled_from(["acquire", "release", "withdraw", "confirm"]),
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(min_value=0, max_value=40 * 86400),  # seconds since the previous operation
        st.integers(min_value=1, max_value=900),  # lease seconds
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_invariants_hold_for_any_sequence_of_operations(ops):
    state, now = LockState(), T0
    for name, owner, step, seconds in ops:
        now += timedelta(seconds=step)
        before = state
        held = before.holder is not None and before.holder.owner == owner
        if name == "acquire":
            state, result = ask(state, owner, at=now, lease=seconds)
            assert result.granted == (before.holder is None or held)
            if result.granted:
                assert state.holder.owner == owner and result.position == 0
            else:
                assert state.queue[result.position - 1].owner == owner
                assert [e.owner for e in state.queue if e.owner != owner] == [
                    e.owner for e in before.queue if e.owner != owner
                ]
        else:
            rule = {"release": release, "withdraw": withdraw, "confirm": confirm}[name]
            state, change = rule(state, by(owner, now))
            if name != "confirm" and held:
                waiters = [e.owner for e in before.queue]
                assert change.handed_to == (waiters[0] if waiters else None)
            else:
                assert change.handed_to is None
            if not held and name != "withdraw":
                assert state == before
        if before.holder is not None and not held:
            # Time alone never takes a lock away: only its holder (or a withdraw naming it).
            assert state.holder == before.holder or name == "withdraw"
        owners = [e.owner for e in state.queue]
        assert len(owners) == len(set(owners)), "an owner waits at most once"
        assert state.holder is None or state.holder.owner not in owners, "the holder never waits"
        assert state.holder is not None or not state.queue, "a free lock has no waiters"
