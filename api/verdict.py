"""Honest answers to portal actions: the instance decides which action it takes, the API says so.

Twenty supervisors may decide one claim at once; only one decision can count. Each action is
raised with a fresh `actionId`; when the instance takes an action it lists it in its custom
status (`actions`: event, who, when, actionId; see orchestrators/common.record_action) and
waits for nothing until its next stage. The API waits for that verdict before answering:

    202 `applied: true`    the instance took this action;
    409                    it took another one for this event (naming who) and no longer waits
                           for it, or it finished without taking this one;
    202 `applied: false`   it had not said within VERDICT_WAIT: received, not yet taken; the
                           status view says what happened.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import azure.durable_functions as df

from api.problems import ProblemError

VERDICT_WAIT_SECONDS = 10.0
POLL_SECONDS = 0.1
ACTIVE = {"Pending", "Running", "Suspended"}


def new_action_id() -> str:
    return uuid.uuid4().hex


def taken(custom: Any, event: str) -> list[dict[str, Any]]:
    """The actions for `event` the instance lists as taken, oldest first."""
    actions = custom.get("actions") if isinstance(custom, dict) else None
    return [a for a in actions or [] if isinstance(a, dict) and a.get("event") == event]


async def verdict(
    client: df.DurableOrchestrationClient,
    instance_id: str,
    event: str,
    action_id: str,
    taken_before: int,
    url: str,
) -> bool:
    """True once the instance lists `action_id` as taken; 409 when it is sure not to take it;
    False when it has not said within VERDICT_WAIT_SECONDS."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + VERDICT_WAIT_SECONDS
    while True:
        status = await client.get_status(instance_id)
        custom = status.custom_status if status else None
        done = taken(custom, event)
        if any(action.get("actionId") == action_id for action in done):
            return True
        runtime = status.runtime_status.value if status and status.runtime_status else None
        waiting = isinstance(custom, dict) and event in (custom.get("waitingFor") or [])
        if runtime not in ACTIVE:
            raise ProblemError(
                409, f"{instance_id} ended ({runtime}) without taking this {event}.", status_url=url
            )
        if len(done) > taken_before and not waiting:
            winner = (done[-1].get("by") or {}).get("name", "someone")
            raise ProblemError(
                409,
                f"{instance_id} took the {event} of {winner} first; this one was not applied.",
                status_url=url,
            )
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(POLL_SECONDS)
