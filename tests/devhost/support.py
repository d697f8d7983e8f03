"""Helpers shared by the devhost tests: the Durable HTTP API as a user drives it."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx

from devhost.testing import DevHost

WEBHOOKS = "/runtime/webhooks/durabletask"
APPS = Path(__file__).resolve().parent / "apps"
SAMPLER = APPS / "sampler"
DURABLE = APPS / "durable"


def unique(prefix: str) -> str:
    """An instance id no other test uses, so tests can share one host."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def start(host: DevHost, name: str, instance_id: str, payload: Any = None) -> str:
    """Start an orchestration through the management API and check it was accepted. The
    payload goes as the SDK client's start_new sends it, JSON text in a JSON string: the only
    body any value reaches `get_input` through on Azure (a bare string, number or list makes
    it raise; see test_azure_parity)."""
    kwargs = {} if payload is None else {"json": json.dumps(payload)}
    response = host.http.post(f"{WEBHOOKS}/orchestrators/{name}/{instance_id}", **kwargs)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def run(host: DevHost, name: str, payload: Any = None, prefix: str | None = None) -> dict:
    """Start an orchestration and wait for its final status, with full history."""
    instance_id = start(host, name, unique(prefix or name), payload)
    return host.wait_for(instance_id, showHistory="true", showHistoryOutput="true")


def status(host: DevHost, instance_id: str, **query: str) -> httpx.Response:
    return host.http.get(f"{WEBHOOKS}/instances/{instance_id}", params=query)


def history(host: DevHost, instance_id: str) -> list[dict[str, Any]]:
    response = status(host, instance_id, showHistory="true", showHistoryOutput="true")
    assert response.status_code in (200, 202), response.text
    return response.json()["historyEvents"]


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [event["EventType"] for event in events]


DONE = ("Completed", "Failed", "Terminated")


def settle(host: DevHost, instance_id: str, seconds: float = 60) -> dict[str, Any]:
    """The final status after `seconds` of host time: more than the sampler's retry policies
    wait in all (one-second intervals). The advance fires each timer at its own time and
    answers once the work they caused has run out."""
    host.advance(seconds)
    body = status(host, instance_id, showHistory="true", showHistoryOutput="true").json()
    assert body["runtimeStatus"] in DONE, body
    return body


def raise_event(host: DevHost, instance_id: str, name: str, data: Any) -> httpx.Response:
    return host.http.post(f"{WEBHOOKS}/instances/{instance_id}/raiseEvent/{name}", json=data)


def assert_error(response: httpx.Response, status_code: int) -> dict[str, Any]:
    """A refusal: the expected status with a JSON body that says what was wrong."""
    assert response.status_code == status_code, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body.get("Message"), str) and body["Message"], body
    return body


def assert_no_body(response: httpx.Response, status_code: int) -> None:
    """A refusal HttpApiHandler answers without a body (its 404s and 410s)."""
    assert response.status_code == status_code, (response.status_code, response.text)
    assert response.content == b"", response.text


def raw_history(hub: Path, instance_id: str) -> list[dict[str, Any]]:
    """The history exactly as replayed to the SDK, read from the task hub file (read-only)."""
    with sqlite3.connect(f"file:{hub}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT event FROM history WHERE instance_id = ? ORDER BY seq", (instance_id,)
        ).fetchall()
    return [json.loads(event) for (event,) in rows]
