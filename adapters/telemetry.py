"""Logs and business events to Application Insights, when it is configured.

Support follows an instance through its stages in Application Insights ("WorkflowStageChanged"
custom events) without reading orchestration history. Without APPLICATIONINSIGHTS_CONNECTION_STRING
nothing is exported and only local logging happens, so devhost and tests pay nothing for it.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from adapters import settings

APP_LOGGER = "workflows"
STAGE_EVENT = "WorkflowStageChanged"
CONNECTION_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING"

_lock = threading.Lock()
_configured = False
_handlers: list[logging.Handler] = []
_events = logging.getLogger(f"{APP_LOGGER}.events")
_events.propagate = False  # events go to the event handler only, not to the traces as well
_events.setLevel(logging.INFO)


def configure() -> bool:
    """Attach the exporters once per process; True when Application Insights is in use."""
    global _configured
    with _lock:
        if _configured:
            return bool(_handlers)
        _configured = True
        connection_string = settings.get(CONNECTION_SETTING)
        if connection_string is None:
            return False
        # Imported here so processes without Application Insights never load the exporter.
        from opencensus.ext.azure.log_exporter import AzureEventHandler, AzureLogHandler

        app_logger = logging.getLogger(APP_LOGGER)
        if app_logger.level == logging.NOTSET:
            app_logger.setLevel(logging.INFO)
        log_handler = AzureLogHandler(connection_string=connection_string)
        event_handler = AzureEventHandler(connection_string=connection_string)
        app_logger.addHandler(log_handler)
        _events.addHandler(event_handler)
        _handlers.extend([log_handler, event_handler])
        return True


def logger(name: str) -> logging.Logger:
    """A logger under the app's logger, so it reaches Application Insights once configured."""
    configure()
    if name == APP_LOGGER or name.startswith(f"{APP_LOGGER}."):
        return logging.getLogger(name)
    return logging.getLogger(f"{APP_LOGGER}.{name}")


def track_stage(instance_id: str, workflow: str, stage: str, **extra: Any) -> None:
    """Record that an instance entered `stage`: a custom event plus a local log line.

    `extra` becomes further customDimensions; values that are not strings are sent as JSON.
    """
    dimensions = {"instanceId": instance_id, "workflow": workflow, "stage": stage}
    for key, value in extra.items():
        dimensions[key] = value if isinstance(value, str) else json.dumps(value, default=str)
    logger("telemetry").info("%s entered stage %s (%s)", instance_id, stage, workflow)
    if configure():
        _events.info(STAGE_EVENT, extra={"custom_dimensions": dimensions})


def flush(timeout: float = 5.0) -> None:
    """Send everything logged so far, now; the exporters otherwise batch every 15 s.

    The handlers' own flush() returns at once when their worker has already taken the records
    off the queue and is still waiting to fill a batch, so a sync marker is queued instead: the
    worker exports all it holds when it reaches the marker.
    """
    from opencensus.common.schedule import QueueEvent

    for handler in list(_handlers):
        marker = QueueEvent("flush")
        handler._queue.put(marker, block=True, timeout=timeout)
        marker.wait(timeout)


def shutdown() -> None:
    """Flush, detach and close the exporters; the next call configures afresh."""
    global _configured
    with _lock:
        flush()
        for handler in _handlers:
            logging.getLogger(APP_LOGGER).removeHandler(handler)
            _events.removeHandler(handler)
            handler.close()
        _handlers.clear()
        _configured = False
