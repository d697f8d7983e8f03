"""What a portal does over HTTP, for the end-to-end stories: start, read views, act, wait.

Wraps a RunningHost (tests/conftest.py) and the simulator ledger the host's partners write to,
so a test reads like the story it tells and never reaches into the task hub.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from adapters import simulator


def principal(name: str) -> dict[str, str]:
    """The App Service authentication header of a signed-in user."""
    claims = {"auth_typ": "aad", "userDetails": name, "claims": []}
    return {"X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps(claims).encode()).decode()}


class Portal:
    """One collection of the API (`shipments`, `maintenance-orders`) on a running devhost."""

    def __init__(self, host: Any, collection: str, simulator_state: Path) -> None:
        self.host = host
        self.http: httpx.Client = host.http
        self.collection = collection
        self.simulator_state = simulator_state

    def now(self) -> datetime:
        """The host's (manual) clock."""
        return datetime.fromisoformat(self.host.advance(0).replace("Z", "+00:00"))

    def start(self, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(f"/api/{self.collection}", json=body)

    def view(self, business_id: str) -> dict[str, Any]:
        response = self.http.get(f"/api/{self.collection}/{business_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def act(self, business_id: str, action: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        """A portal action such as `pickup`; `body` None sends `{}`."""
        url = f"/api/{self.collection}/{business_id}/{action}"
        return self.http.post(url, json={} if body is None else body, **kwargs)

    def wait_stage(self, business_id: str, stage: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait (without moving the clock) until the business view shows `stage`."""
        return self.host.wait_until(
            lambda: (view := self.view(business_id))["stage"] == stage and view,
            timeout=timeout,
            message=f"{business_id} to reach stage {stage}",
        )

    def advance_until(
        self,
        business_id: str,
        predicate: Callable[[dict[str, Any]], bool],
        step: float = 10.0,
        limit: float = 600.0,
    ) -> dict[str, Any]:
        """Move the clock `step` seconds at a time (at most `limit` in all) until the view
        satisfies `predicate`; each step first lets the host settle, so timers are crossed in
        order and the clock never runs far ahead of the workflow."""
        moved = 0.0
        while True:
            deadline = time.monotonic() + 0.4
            while time.monotonic() < deadline:
                view = self.view(business_id)
                if predicate(view):
                    return view
                time.sleep(0.05)
            if moved >= limit:
                raise AssertionError(f"{business_id}: condition not met after {moved}s; {view}")
            self.host.advance(step)
            moved += step

    def finished(self, business_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait for the instance to complete and return its output."""
        view = self.host.wait_until(
            lambda: (v := self.view(business_id))["runtimeStatus"] in ("Completed", "Failed") and v,
            timeout=timeout,
            message=f"{business_id} to finish",
        )
        assert view["runtimeStatus"] == "Completed", view
        return view["output"]

    def ledger(self, instance_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """The simulated partners' effects made on behalf of one instance (or its tasks)."""
        rows = simulator.ledger(kind, path=self.simulator_state)
        return [row for row in rows if row["idempotencyKey"].startswith(f"{instance_id}:")]

    def messages(self, instance_id: str, template: str) -> list[dict[str, Any]]:
        return [m for m in self.ledger(instance_id, "message") if m["template"] == template]
