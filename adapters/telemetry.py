"""Business events to Application Insights, when it is configured; logs go there through the host.

Support follows an instance through its stages in Application Insights ("WorkflowStageChanged"
custom events) without reading orchestration history. Without APPLICATIONINSIGHTS_CONNECTION_STRING
nothing is exported and only local logging happens, so devhost and tests pay nothing for it.

Each item reaches Application Insights once. Log records travel the Functions host's way: the
Python worker hangs a handler on the root logger that forwards every record to the host
(azure_functions_worker Dispatcher.dispatch_forever and on_logging), and the host writes them as
traces with the invocation's context. Exporting them from here as well would send each line
twice, so the app logger has no exporter of its own. Custom events have no host equivalent: they
go through opencensus's event handler, on a logger that does not propagate to the root.

Where Application Insights accepts only Entra ID (local authentication disabled), the app setting
APPLICATIONINSIGHTS_AUTHENTICATION_STRING ("ClientId=<guid>;Authorization=AAD", the format the
Functions host reads too) makes the exporters send a managed-identity token with every batch.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from adapters import settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

APP_LOGGER = "workflows"
STAGE_EVENT = "WorkflowStageChanged"
CONNECTION_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
AUTHENTICATION_SETTING = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"

_lock = threading.Lock()
_configured = False
_handlers: list[logging.Handler] = []
_events = logging.getLogger(f"{APP_LOGGER}.events")
_events.propagate = False  # events go to the event handler only, not to the traces as well
_events.setLevel(logging.INFO)
_log = logging.getLogger(f"{APP_LOGGER}.telemetry")


def managed_identity(client_id: str | None) -> TokenCredential:
    """The app's managed identity: user-assigned with `client_id`, else system-assigned."""
    from azure.identity import ManagedIdentityCredential  # only where Entra ID auth is used

    return ManagedIdentityCredential(client_id=client_id)


# Seam for tests (a fake credential); production asks the app's managed identity for tokens.
credential_factory: Callable[[str | None], TokenCredential] = managed_identity


def parse_authentication(value: str) -> str | None:
    """The ClientId from an authentication string, None for the system-assigned identity.

    Follows the Functions host's rules, so both accept the same setting: `;`-separated
    key=value pairs, keys and "AAD" case-insensitive, blanks trimmed, other keys ignored;
    Authorization=AAD is required and ClientId must be a GUID. Raises ValueError otherwise.
    """
    pairs = {}
    for part in value.split(";"):
        key, equals, item = part.partition("=")
        if equals and key.strip():
            pairs[key.strip().lower()] = item.strip()
    authorization = pairs.get("authorization")
    if authorization is None or authorization.lower() != "aad":
        raise ValueError(
            f"setting {AUTHENTICATION_SETTING} must contain Authorization=AAD, got "
            f"Authorization={authorization!r}"
        )
    client_id = pairs.get("clientid")
    if client_id is not None:
        try:
            uuid.UUID(client_id)
        except ValueError:
            raise ValueError(
                f"setting {AUTHENTICATION_SETTING} has ClientId={client_id!r}, not a GUID; "
                "use the client id of the app's user-assigned identity"
            ) from None
    return client_id


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
        credential = None
        authentication = settings.get(AUTHENTICATION_SETTING)
        if authentication is not None:
            # Logged, not raised: configure() runs when function_app is imported, and a bad
            # telemetry setting must not take the workflows down. Exporting without the token
            # would only be rejected, so nothing is exported; the error reaches the host's logs.
            try:
                client_id = parse_authentication(authentication)
            except ValueError as exc:
                _log.error("%s; telemetry is not exported to Application Insights", exc)
                return False
            credential = credential_factory(client_id)
        # Imported here so processes without Application Insights never load the exporter.
        from opencensus.ext.azure.log_exporter import AzureEventHandler

        app_logger = logging.getLogger(APP_LOGGER)
        if app_logger.level == logging.NOTSET:
            app_logger.setLevel(logging.INFO)
        event_handler = AzureEventHandler(
            connection_string=connection_string, credential=credential
        )
        _events.addHandler(event_handler)
        _handlers.append(event_handler)
        return True


def logger(name: str) -> logging.Logger:
    """A logger under the app's logger; its records reach Application Insights through the
    host once the worker forwards them."""
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
            _events.removeHandler(handler)
            handler.close()
        _handlers.clear()
        _configured = False
