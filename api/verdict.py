"""Honest answers to portal actions: the instance decides which action it takes, the API says so.

Twenty supervisors may decide one claim at once; only one decision can count. Each action is
raised with a fresh `actionId`; when the instance takes an action it lists it in its custom
status (`actions`: event, who, when, actionId; see orchestrators/common.record_action) and
waits for nothing until its next stage. The API waits for that verdict before answering:

    202 `applied: true`    the instance took this action;
    409                    it took another one for this event and no longer waits for it, or it
                           finished (even before the event reached it) without taking this one:
                           the same answer a caller refused up front gets (`refusal`), naming
                           who took this event and when;
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


def taken(status: df.DurableOrchestrationStatus | None, event: str) -> list[dict[str, Any]]:
    """The actions for `event` the instance lists as taken, oldest first: from its custom
    status, or from its output once it has finished (a result lists them too)."""
    for record in (status.custom_status, status.output) if status else ():
        actions = record.get("actions") if isinstance(record, dict) else None
        if actions:
            return [a for a in actions if isinstance(a, dict) and a.get("event") == event]
    return []


def runtime(status: df.DurableOrchestrationStatus | None) -> str | None:
    return status.runtime_status.value if status and status.runtime_status else None


def waiting_for(status: df.DurableOrchestrationStatus | None) -> list[str]:
    """The portal events the instance accepts now (none once it has finished)."""
    custom = status.custom_status if status else None
    events = custom.get("waitingFor") if isinstance(custom, dict) else None
    return list(events or []) if runtime(status) in ACTIVE else []


def standing(runtime_status: str | None, stage: str | None) -> str:
    """Where an instance stands, for the people reading a refusal: `Running at stage
    'assessing'`, or `Running before its first stage` just after it started."""
    where = f"at stage {stage!r}" if stage else "before its first stage"
    return f"{runtime_status} {where}"


def refusal(
    instance_id: str, status: df.DurableOrchestrationStatus | None, event: str, url: str
) -> ProblemError:
    """The 409 for an action the instance does not take: where it stands and, when it took
    this event from someone else, who and when. Every late caller gets this same answer,
    whether it was refused before its event was raised or after."""
    custom = status.custom_status if status and isinstance(status.custom_status, dict) else {}
    waiting = ", ".join(waiting_for(status)) or "nothing"
    detail = (
        f"{instance_id} is {standing(runtime(status), custom.get('stage'))} and waits for "
        f"{waiting}, not {event}."
    )
    if earlier := taken(status, event):
        who = (earlier[-1].get("by") or {}).get("name", "someone")
        detail += (
            f" It took the {event} of {who} at {earlier[-1].get('at')}; this one was not applied."
        )
    return ProblemError(409, detail, status_url=url)


async def verdict(
    client: df.DurableOrchestrationClient,
    instance_id: str,
    event: str,
    action_id: str,
    taken_before: int,
    url: str,
) -> bool:
    """True once the instance lists `action_id` as taken; 409 when it is sure not to take it
    (it finished, or took this event from someone else and no longer waits for it); False
    when it has not said within VERDICT_WAIT_SECONDS."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + VERDICT_WAIT_SECONDS
    while True:
        status = await client.get_status(instance_id)
        done = taken(status, event)
        if any(action.get("actionId") == action_id for action in done):
            return True
        finished = runtime(status) not in ACTIVE
        if finished or (len(done) > taken_before and event not in waiting_for(status)):
            raise refusal(instance_id, status, event, url)
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(POLL_SECONDS)
