"""Honest answers to portal actions: the instance decides which action it takes, the API says so.

Twenty supervisors may decide one claim at once; only one decision can count. Each action is
raised with its `actionId` under the name the instance's custom status gives for the event now
(`raiseAs`; each name is taken at most once, see orchestrators/inbox.py). When the instance
takes an action it lists it in its custom status (`actions`: event, who, when, actionId; see
orchestrators/common.record_action) and stops listing the event as awaited until its next
stage. The API waits for that verdict before answering:

    202 `applied: true`    the instance took this action;
    409                    it finished, or no longer accepts the event under the name this one
                           was raised under, without taking it: the same answer a caller
                           refused up front gets (`refusal`), naming who took this event and
                           when;
    202 `applied: false`   it had not said within VERDICT_WAIT: received, not yet taken; the
                           status view says what happened.
"""

from __future__ import annotations

import asyncio
from typing import Any

import azure.durable_functions as df

from api.problems import ProblemError
from domain.common import ACTIVE_STATUSES

VERDICT_WAIT_SECONDS = 10.0
POLL_SECONDS = 0.1
ACTIVE = ACTIVE_STATUSES


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


def raise_as(status: df.DurableOrchestrationStatus | None, event: str) -> str | None:
    """The name under which `event` counts now, or None when the instance does not accept it
    (instances from before `raiseAs` accept the event under its own name)."""
    if event not in waiting_for(status):
        return None
    names = status.custom_status.get("raiseAs") if status else None
    return (names or {}).get(event, event)


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
    where = standing(runtime(status), custom.get("stage"))
    earlier = taken(status, event)
    who = (earlier[-1].get("by") or {}).get("name", "someone") if earlier else None
    if who and event in waiting_for(status):
        detail = (
            f"{instance_id} took the {event} of {who}, sent at the same moment, at "
            f"{earlier[-1].get('at')}; this one was not applied. It is {where} and waits for "
            f"another {event}: send this one again if it is still needed."
        )
        return ProblemError(409, detail, status_url=url)
    waiting = ", ".join(waiting_for(status)) or "nothing"
    detail = f"{instance_id} is {where} and waits for {waiting}, not {event}."
    if who:
        detail += (
            f" It took the {event} of {who} at {earlier[-1].get('at')}; this one was not applied."
        )
    return ProblemError(409, detail, status_url=url)


async def verdict(
    client: df.DurableOrchestrationClient,
    instance_id: str,
    event: str,
    name: str,
    action_id: str,
    url: str,
) -> bool:
    """True once the instance lists `action_id` as taken; 409 when it is sure not to take it
    (it finished, or no longer accepts `event` under `name`, the name it was raised under);
    False when it has not said within VERDICT_WAIT_SECONDS."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + VERDICT_WAIT_SECONDS
    while True:
        status = await client.get_status(instance_id)
        if any(action.get("actionId") == action_id for action in taken(status, event)):
            return True
        if runtime(status) not in ACTIVE or raise_as(status, event) != name:
            raise refusal(instance_id, status, event, url)
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(POLL_SECONDS)
