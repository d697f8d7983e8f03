"""History retention: every night, purge the instances that finished more than
HISTORY_RETENTION_DAYS (default 90) ago.

Orchestration history is storage that only grows: every instance keeps every event until it is
purged. Running instances are never touched; a finished one is purged once its last update
(when it finished) is older than the retention period, so a long case that ended last week
stays however old it is. Sub-orchestrations (maintenance tasks) are instances too and go the
same way.

The run's "now" is the occurrence it runs for: the schedule status the host passes in is the one
recorded before this run, whose `Next` is this occurrence (on devhost, on devhost's clock).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import azure.functions as func

from adapters import settings
from adapters.instances import host_instances
from domain.common import parse_time

bp = df.Blueprint()

RETENTION_SETTING = "HISTORY_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 90
SCHEDULE = "0 30 2 * * *"
"""Six-field NCRONTAB ({second} {minute} {hour} {day} {month} {day-of-week}): 02:30 UTC daily."""
FINISHED = [
    df.OrchestrationRuntimeStatus.Completed,
    df.OrchestrationRuntimeStatus.Failed,
    df.OrchestrationRuntimeStatus.Terminated,
]

_log = logging.getLogger("workflows.retention")


def retention_days() -> float:
    """The setting; a value below one day would purge what support may still need: refused."""
    days = settings.number(RETENTION_SETTING, DEFAULT_RETENTION_DAYS)
    if days < 1:
        raise ValueError(f"setting {RETENTION_SETTING} must be at least 1 (days), got {days:g}")
    return days


def run_time(timer: func.TimerRequest) -> datetime:
    """The occurrence this run is for, or the wall clock when the host passed no status."""
    upcoming = (timer.schedule_status or {}).get("Next")
    return parse_time(upcoming) if upcoming else datetime.now(UTC)


@bp.timer_trigger(arg_name="timer", schedule=SCHEDULE)
@bp.durable_client_input(client_name="client")
async def purge_finished_history(
    timer: func.TimerRequest, client: df.DurableOrchestrationClient
) -> None:
    """Purge every instance that finished before now minus the retention period."""
    cutoff = run_time(timer) - timedelta(days=retention_days())
    expired = [
        status.instance_id
        async for status in host_instances(client, None, FINISHED)
        if status.last_updated_time and parse_time(status.last_updated_time) <= cutoff
    ]
    for instance_id in expired:
        await client.purge_instance_history(instance_id)
    _log.info("purged %d instances that finished before %s", len(expired), cutoff.isoformat())
