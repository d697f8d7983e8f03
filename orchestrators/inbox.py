"""Portal events, each taken at most once: every wait listens under a name of its own.

What the Python SDK (azure-functions-durable 1.7.0) does with an external event, read from
`TaskOrchestrationExecutor.set_task_value` and `DurableOrchestrationContext._add_to_open_tasks`:

- An `EventRaised` replayed while a yielded `wait_for_external_event(name)` is open completes
  that waiter (the newest one, when several of one name are open).
- One replayed while none is open is kept in `deferred_tasks[name]`, a single slot: a second
  such event of the same name replaces the first, which no waiter ever sees.
- The slot is never emptied. Every waiter of that name yielded later in the same replay
  completes at once with the kept event (azure-functions-durable-python #507).

DurableTask.Core delivers every message that reached an instance while an episode ran as one
batch: the next episode's history holds them as consecutive `EventRaised`, in arrival order,
whoever waits for them. So two portal actions sent together reach the orchestrator in one
episode; it takes the first, goes on to an activity, and the second lands in the slot. Waiting
for the same name again then hands the second back on every later wait: one submission counted
five times, or a loop that never yields until the recursion limit fails the instance.

The rule that makes this harmless: **no name is ever waited for twice**. The n-th event of a
kind is waited for as `Event`, then `Event_2`, `Event_3`... (`event_name`). A name's one waiter
takes the first event raised under it (or, when two arrived before the waiter opened, the last
of them); any other event under a spent name is never applied. The custom status publishes the
name that counts now (`raiseAs`), api/ raises under it and then reads the verdict: the instance
lists every action it took by `actionId`, so a caller whose event landed under a spent name is
told 409, never 202. A waiter a timer beat stays open for the next round of the same wait, so
an event that arrives while a reminder is being sent still counts.

An action id the instance already took (a portal's retry with the same Idempotency-Key, whose
id api/ derives from the key) spends its name and is dropped, never applied twice.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable, Sequence
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

import azure.durable_functions as df
from azure.durable_functions.models.Task import TaskBase

Steps = Generator[Any, Any, Any]

ROUND_MARK = "_"
"""Between an event's name and its round: `DocumentsSubmitted_2` (safe in any URL path)."""


def event_name(event: str, round_: int) -> str:
    """The name the `round_`-th event of a kind is raised under (the first keeps the plain
    name, so instances that started before rounds replay and accept as they did)."""
    return event if round_ <= 1 else f"{event}{ROUND_MARK}{round_}"


def decode_event(value: Any) -> dict[str, Any]:
    """An external event's payload as a dict, whatever encoding it arrived in.

    `client.raise_event` JSON-encodes its payload once more than the wire needs (SDK issue
    #295), so an orchestrator may receive a JSON string where a dict was sent.
    """
    for _ in range(3):
        if not isinstance(value, str | bytes):
            break
        try:
            value = json.loads(value)
        except ValueError:
            return {"value": value}
    if value is None:
        return {}
    return value if isinstance(value, dict) else {"value": value}


_INBOXES: WeakKeyDictionary[df.DurableOrchestrationContext, Inbox] = WeakKeyDictionary()


class Inbox:
    """The external events of one replay of one orchestrator: rounds, open waiters, taken ids.

    It lives exactly as long as the SDK's context (one replay) and is rebuilt, deterministically,
    as the replay runs the orchestrator's code again.
    """

    def __init__(self, context: df.DurableOrchestrationContext) -> None:
        self.context = context
        self._rounds: dict[str, int] = {}
        self._waiters: dict[str, TaskBase] = {}
        self._taken: set[str] = set()

    @classmethod
    def of(cls, context: df.DurableOrchestrationContext) -> Inbox:
        """The inbox of this replay (created on first use)."""
        inbox = _INBOXES.get(context)
        if inbox is None:
            inbox = _INBOXES[context] = cls(context)
        return inbox

    def name(self, event: str) -> str:
        """The name under which the next `event` counts."""
        return event_name(event, self._rounds.get(event, 1))

    def names(self, events: Iterable[str]) -> dict[str, str]:
        """`{event: name it counts under now}`, for the custom status (`raiseAs`)."""
        return {event: self.name(event) for event in events}

    def waiter(self, event: str) -> TaskBase:
        """The one waiter of the current round of `event`, created on first use."""
        if event not in self._waiters:
            self._waiters[event] = self.context.wait_for_external_event(self.name(event))
        return self._waiters[event]

    def take(self, event: str) -> dict[str, Any]:
        """The payload of the current round's (completed) waiter; its name is spent."""
        payload = decode_event(self._waiters.pop(event).result)
        self._rounds[event] = self._rounds.get(event, 1) + 1
        self._publish_names()
        return payload

    def mark_taken(self, payload: dict[str, Any]) -> None:
        """Remember the action id of a payload the instance applied."""
        if action_id := payload.get("actionId"):
            self._taken.add(action_id)

    def is_repeat(self, payload: dict[str, Any]) -> bool:
        """Whether the instance already applied this payload's action id."""
        return payload.get("actionId") in self._taken

    def receive(self, events: Sequence[str], deadline: datetime | None) -> Steps:
        """The first new event of `events`, or None once `deadline` (a durable timer; None
        waits without one) passes first. Returns `(event, payload dict)`; use `yield from`.

        An event already waiting is taken without yielding, so no timer is scheduled for
        nothing; repeats of taken actions are dropped and the wait goes on under the next name.
        The timer is cancelled when an event wins, so a finished instance does not wait on it.
        """
        timer = None
        while True:
            ready = next((event for event in events if self.waiter(event).is_completed), None)
            if ready is not None:
                payload = self.take(ready)
                if self.is_repeat(payload):
                    continue
                if timer is not None:
                    timer.cancel()
                return ready, payload
            if deadline is not None and timer is None:
                timer = self.context.create_timer(deadline)
            waiters = [self.waiter(event) for event in events]
            winner = yield self.context.task_any([*waiters, timer] if timer else waiters)
            if winner is timer:
                return None

    def _publish_names(self) -> None:
        """Keep `raiseAs` in the custom status in step with the rounds."""
        status = self.context.custom_status
        if isinstance(status, dict) and "raiseAs" in status:
            waiting = status.get("waitingFor") or []
            self.context.set_custom_status({**status, "raiseAs": self.names(waiting)})
