"""The `record_stage` activity: a stage change reaches Application Insights from outside replay.

Orchestrators call it through orchestrators.common.set_stage, never directly. Telemetry must
never fail a workflow, so errors are logged and swallowed.
"""

from __future__ import annotations

import azure.durable_functions as df

from adapters import telemetry

bp = df.Blueprint()
_log = telemetry.logger("activities.telemetry")


@bp.activity_trigger(input_name="change")
def record_stage(change: dict) -> bool:
    """Send one WorkflowStageChanged event; True when it was handed to the exporter."""
    try:
        telemetry.track_stage(change["instanceId"], change["workflow"], change["stage"])
    except Exception:  # telemetry is best effort by design
        _log.exception("could not record stage change %s", change)
        return False
    return True
