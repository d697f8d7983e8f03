"""What the shipment, maintenance and claims stories share beyond tests/e2e/conftest.py's App:
how long retries take in host time, and reading one instance's partner effects."""

from __future__ import annotations

from typing import Any

from adapters import simulator
from tests.e2e.conftest import App

RETRIES_RUN_OUT = 60
"""Seconds of host time in which every partner call's retries have run out (at most four
attempts 5 s apart, then one more 5 s timer), with room for a failed step and the next one.
Retry intervals are durable timers, so without this much time passing a retrying workflow waits.
"""


def effects(app: App, instance_id: str, kind: str | None = None) -> list[dict[str, Any]]:
    """The simulated partners' effects made for one instance (and its sub-orchestrations):
    every effect's idempotency key starts with the instance id that made it."""
    rows = simulator.ledger(kind, path=app.state)
    return [row for row in rows if row["idempotencyKey"].startswith(f"{instance_id}:")]


def messages(app: App, instance_id: str, template: str) -> list[dict[str, Any]]:
    """Notifications sent for one instance with one template."""
    return [row for row in effects(app, instance_id, "message") if row["template"] == template]


def output_of(app: App, path: str) -> dict[str, Any]:
    """Wait for the instance to finish; it must have completed (not failed)."""
    view = app.wait_done(path)
    assert view["runtimeStatus"] == "Completed", view
    return view["output"]


def failed_attempts(app: App, instance_id: str, activity: str) -> int:
    """How many calls of `activity` failed in the instance's history (each one was retried or
    given up on), read through the Durable HTTP API."""
    response = app.http.get(
        f"/runtime/webhooks/durabletask/instances/{instance_id}", params={"showHistory": "true"}
    )
    assert response.status_code == 200, response.text
    history = response.json()["historyEvents"]
    return sum(
        1
        for event in history
        if event["EventType"] == "TaskFailed" and event.get("FunctionName") == activity
    )
