"""Two steps the shipment and maintenance stories need beyond tests/e2e/conftest.py's App:
moving the clock until a view changes, and reading one instance's partner effects."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from adapters import simulator
from tests.e2e.conftest import App


def advance_until(
    app: App,
    path: str,
    predicate: Callable[[dict[str, Any]], bool],
    step: float = 10.0,
    limit: float = 600.0,
) -> dict[str, Any]:
    """Move the clock `step` seconds at a time (at most `limit` in all) until the view at
    `path` satisfies `predicate`. Each step first lets the host settle, so timers are crossed
    in order and the clock never runs far ahead of the workflow."""
    moved = 0.0
    while True:
        settle_until = time.monotonic() + 0.4
        while time.monotonic() < settle_until:
            view = app.view(path)
            if predicate(view):
                return view
            time.sleep(0.05)
        if moved >= limit:
            raise AssertionError(f"{path}: condition not met after {moved}s; last view {view}")
        app.advance(seconds=step)
        moved += step


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
