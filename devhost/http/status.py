"""Instance status and management URLs in the shapes the Durable HTTP API returns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote

from devhost.durable.history import EventType, event_name
from devhost.durable.http_activity import HTTP_ACTIVITY
from devhost.hub.store import Instance

HIDDEN = {EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED}
SCHEDULING = (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_CREATED)
RUNNING = ("Pending", "Running", "Suspended")


def _json(text: str | None) -> Any:
    return json.loads(text) if text is not None else None


def _seconds(wire: str) -> str:
    """Azure reports instance times to the second: 2024-05-01T10:00:00Z."""
    return wire[:19] + "Z"


def instance_status(
    instance: Instance,
    *,
    show_input: bool = True,
    history: list[dict[str, Any]] | None = None,
    show_history_output: bool = False,
    scheduled_inputs: bool = False,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": instance.name,
        "instanceId": instance.id,
        "runtimeStatus": instance.status,
        "input": _json(instance.input) if show_input else None,
        "customStatus": _json(instance.custom_status),
        "output": _json(instance.output),
        "createdTime": _seconds(instance.created_at),
        "lastUpdatedTime": _seconds(instance.updated_at),
    }
    if history is not None:
        body["historyEvents"] = readable_history(
            history, show_history_output, show_input, scheduled_inputs=scheduled_inputs
        )
    return body


def readable_history(
    events: list[dict[str, Any]], with_output: bool, with_input: bool, *, scheduled_inputs: bool
) -> list[dict[str, Any]]:
    """History as the status API shows it: scheduling folded into its completion.

    As the extension's `DurableClient.GetDurableOrchestrationStatusAsync` does: a completion
    takes its scheduling event's FunctionName, ScheduledTime and (with showInput) Input and the
    scheduling event goes (one still unanswered stays, so running work shows); every
    Input goes when showInput is false; Result is shown only with showHistoryOutput, parsed
    (ConvertOutputToJToken), while Input stays the stored JSON text, never parsed. Activity and
    sub-orchestration inputs are in history only with host.json's
    storeInputsInOrchestrationHistory (TaskOrchestrationDispatcher.IncludeParameters, set by
    DurableTaskExtension); otherwise those rows show Input null.
    """
    scheduled = {e["EventId"]: e for e in events if e["EventType"] in SCHEDULING}
    answered = {e["TaskScheduledId"] for e in events if e.get("TaskScheduledId") is not None}
    readable = []
    for event in events:
        kind = EventType(event["EventType"])
        if kind in HIDDEN or (kind in SCHEDULING and event["EventId"] in answered):
            continue
        row: dict[str, Any] = {"EventType": event_name(kind), "Timestamp": event["Timestamp"]}
        origin = scheduled.get(event.get("TaskScheduledId", -2))
        if kind == EventType.EXECUTION_STARTED:
            row["FunctionName"] = event.get("Name")
        elif origin is not None:
            row["FunctionName"] = origin.get("Name")
            row["ScheduledTime"] = origin["Timestamp"]
            if with_input:
                row["Input"] = stored_input(origin) if scheduled_inputs else None
        for field in ("Name", "FireAt", "Reason", "Details", "OrchestrationStatus", "InstanceId"):
            if field == "Name" and kind == EventType.EXECUTION_STARTED:
                continue  # it became FunctionName (DurableClient.GetDurableOrchestrationStatus)
            if event.get(field) is not None and field not in row:
                row[field] = event[field]
        if with_input and "Input" in event and "Input" not in row:
            hidden = kind in SCHEDULING and not scheduled_inputs
            row["Input"] = None if hidden else stored_input(event)
        if with_output and "Result" in event:
            row["Result"] = _json(event["Result"])
        readable.append(row)
    return readable


def stored_input(event: dict[str, Any]) -> str | None:
    """An event's Input as DurableTask.Core stores it: an activity's is the parameters array
    TaskOrchestrationContext.ScheduleTaskInternal serializes, `[input]`, around the SDK's
    JSON text (which the extension passes on as a string, OutOfProcOrchestrationShim), and
    devhost keeps the built-in HTTP activity's so already; a termination's is the reason
    itself, not JSON (TaskHubClient.TerminateInstanceAsync)."""
    text: str | None = event.get("Input")
    if text is None:
        return None
    if event["EventType"] == EventType.TASK_SCHEDULED and event.get("Name") != HTTP_ACTIVITY:
        return json.dumps([text], ensure_ascii=False, separators=(",", ":"))
    if event["EventType"] == EventType.EXECUTION_TERMINATED:
        return cast(str, json.loads(text))
    return text


@dataclass(frozen=True)
class Urls:
    """Builds the management URLs a client is handed, with the system key as Azure does."""

    origin: str
    hub: str
    system_key: str

    @property
    def base(self) -> str:
        return f"{self.origin}/runtime/webhooks/durabletask"

    @property
    def query(self) -> str:
        return f"taskHub={quote(self.hub)}&connection=Storage&code={quote(self.system_key)}"

    def management_payload(self, instance_id: str) -> dict[str, str]:
        instance = f"{self.base}/instances/{quote(instance_id, safe='')}"
        q = self.query
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{instance}?{q}",
            "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{q}",
            "terminatePostUri": f"{instance}/terminate?reason={{text}}&{q}",
            "rewindPostUri": f"{instance}/rewind?reason={{text}}&{q}",
            "purgeHistoryDeleteUri": f"{instance}?{q}",
            "restartPostUri": f"{instance}/restart?{q}",
            "suspendPostUri": f"{instance}/suspend?reason={{text}}&{q}",
            "resumePostUri": f"{instance}/resume?reason={{text}}&{q}",
        }

    def client_binding(self, rpc_base_url: str) -> str:
        """The JSON a durableClient binding receives."""
        payload = self.management_payload("INSTANCEID")
        start = (
            f"{self.base}/orchestrators/{{functionName}}[/{{instanceId}}]?code={self.system_key}"
        )
        return json.dumps(
            {
                "taskHubName": self.hub,
                "creationUrls": {
                    "createNewInstancePostUri": start,
                    "createAndWaitOnNewInstancePostUri": start + "&timeout={timeoutInSeconds}"
                    "&pollingInterval={intervalInSeconds}",
                },
                "managementUrls": payload,
                "baseUrl": self.base,
                "requiredQueryStringParameters": f"code={self.system_key}",
                "rpcBaseUrl": rpc_base_url,
            }
        )
