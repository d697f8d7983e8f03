"""Helpers every orchestrator uses: stages, waiting for portal events, retries, replay-safe logs.

All are deterministic. The generators are used with `yield from` inside an orchestrator:

    yield from set_stage(context, "awaiting_decision", ["ClaimDecision"])
    received = yield from wait_for_event(context, ["ClaimDecision"], deadline)
    if received is None:            # the deadline passed first
        ...
    name, payload = received        # payload is always a dict (decoded defensively)

    result = yield context.call_activity_with_retry("claims_pay", retry(5), payload)
    log(context, "claim %s paid", claim_id)   # silent during replay
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from domain.common import iso, stage_status
from domain.timeline import RECORD_STAGE_ACTIVITY
from orchestrators.inbox import Inbox, Steps

_logger = logging.getLogger("workflows.orchestrators")


def log(context: df.DurableOrchestrationContext, message: str, *args: Any) -> None:
    """Log once per real step: replays would otherwise repeat every line."""
    if not context.is_replaying:
        _logger.info("%s: " + message, context.instance_id, *args)


def retry(attempts: int = 4, first_interval: timedelta = timedelta(seconds=5)) -> df.RetryOptions:
    """Retry policy for partner calls: `attempts` tries in all, `first_interval` apart."""
    return df.RetryOptions(
        first_retry_interval_in_milliseconds=int(first_interval.total_seconds() * 1000),
        max_number_of_attempts=attempts,
    )


def set_stage(
    context: df.DurableOrchestrationContext,
    stage: str,
    waiting_for: Iterable[str] = (),
    **extra: Any,
) -> Steps:
    """Publish the business stage in the custom status; record telemetry when the stage changes.

    `waiting_for` lists the portal events accepted now (api/ answers 409 to others); `since`
    keeps the moment the stage began, so the console shows how long it has waited. Use with
    `yield from`: the telemetry is an activity, so calling this without it does nothing.
    Take a deadline's "now" before calling this: portals see the stage before the activity
    returns, and a deadline computed afterwards would move with anything that happened meanwhile.
    """
    previous = context.custom_status
    same_stage = isinstance(previous, dict) and previous.get("stage") == stage
    since = previous.get("since") if same_stage else iso(context.current_utc_datetime)
    waiting_for = list(waiting_for)
    status = stage_status(stage, waiting_for, since=since, **extra)
    status["raiseAs"] = Inbox.of(context).names(waiting_for)
    if actions := taken_actions(context):
        status["actions"] = actions  # who acted stays visible through every later stage
    if isinstance(previous, dict) and previous.get("locks"):
        status["locks"] = previous["locks"]  # held across stages (orchestrators/locking.py)
    context.set_custom_status(status)
    if same_stage:
        return
    workflow = context.instance_id.partition("-")[0]
    yield context.call_activity(
        RECORD_STAGE_ACTIVITY,
        {"instanceId": context.instance_id, "workflow": workflow, "stage": stage},
    )


def record_action(
    context: df.DurableOrchestrationContext, event: str, payload: dict[str, Any]
) -> None:
    """Show in the custom status that the instance took a portal action, and from whom.

    The entry (event, who, when, the action id api/ sent) stays listed in every later stage
    and in the output, so status views show who acted; api/ waits for it to tell the caller
    that the action counted (api/verdict.py). Until its next stage the instance no longer
    lists this event as awaited, so a second caller is told at once that it was taken.
    """
    Inbox.of(context).mark_taken(payload)
    previous = context.custom_status if isinstance(context.custom_status, dict) else {}
    still = [name for name in previous.get("waitingFor") or [] if name != event]
    entry = {
        "event": event,
        "by": payload.get("actor"),
        "at": iso(context.current_utc_datetime),
        "actionId": payload.get("actionId"),
    }
    context.set_custom_status(
        {
            **previous,
            "waitingFor": still,
            "raiseAs": Inbox.of(context).names(still),
            "actions": [*taken_actions(context), entry],
        }
    )


def taken_actions(context: df.DurableOrchestrationContext) -> list[dict[str, Any]]:
    """The portal actions this instance took so far (record_action), oldest first."""
    status = context.custom_status
    return list(status.get("actions") or []) if isinstance(status, dict) else []


def wait_for_event(
    context: df.DurableOrchestrationContext, names: Sequence[str], deadline: datetime | None
) -> Steps:
    """Wait for the first of the portal events `names` or for `deadline` (a durable timer;
    None waits without one, adding nothing to history until an event comes).

    Returns `(event name, payload dict)`, or None when the deadline came first. Each event
    counts once, under a name of its own: see orchestrators/inbox.py.
    """
    return (yield from Inbox.of(context).receive(names, deadline))


def version_at_least(context: df.DurableOrchestrationContext, minimum: str) -> bool:
    """Whether this instance started at app version `minimum` or later.

    The version is host.json `durableTask.defaultVersion` when the instance was created (its
    sub-orchestrations get the same); instances from before versioning carry none and count as
    the oldest. Versions are major.minor numbers, compared as numbers. A branch on this keeps
    the old path for instances already in flight: see docs/releases.md.
    """
    return _version_parts(context.version or "") >= _version_parts(minimum)


def _version_parts(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")) if version else ()
