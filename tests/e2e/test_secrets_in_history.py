"""Nothing secret reaches history or logs, even from a partner that echoes our request headers.

The policy system answers 404 and the fraud service 400, both with every request header
(our API key among them) in their error bodies. The claim records the failures (a policy
not found, a fraud check that failed after its retries) and fails; the task hub file and the
host's log hold the status and the partner's error code, never the key.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from tests.adapters.conftest import LocalServer, Recorded, Reply
from tests.e2e.conftest import App
from tests.e2e.portal import RETRIES_RUN_OUT

POLICY_KEY = "pk-live-7d1e9c3b5a2f4e6d8c0b1a9f"
FRAUD_KEY = "fk-live-2b4d6f8a0c1e3g5i7k9m1o3q"


def echo(status: int, code: str):
    def respond(request: Recorded) -> Reply:
        lines = "\n".join(f"{name}: {value}" for name, value in request.headers.items())
        body = {"code": code, "message": f"Rejected. Request was:\n{lines}"}
        return Reply(status=status, body={**body, "headers": request.headers})

    return respond


@pytest.fixture(scope="module")
def echoing() -> Iterator[LocalServer]:
    server = LocalServer()
    server.respond = lambda request: echo(
        404 if request.path.startswith("/policies") else 400,
        "POLICY_NOT_FOUND" if request.path.startswith("/policies") else "INVALID_CLAIM",
    )(request)
    yield server
    server.close()


@pytest.fixture(scope="module")
def partners_echo(start_app, echoing: LocalServer) -> App:
    return start_app(
        POLICIES_BASE_URL=echoing.url,
        FRAUD_BASE_URL=echoing.url,
        POLICIES_API_KEY=POLICY_KEY,
        FRAUD_API_KEY=FRAUD_KEY,
    )


def hub_text(app: App) -> str:
    """Every value in every table of the task hub, as text."""
    with sqlite3.connect(f"file:{app.host.hub}?mode=ro", uri=True) as db:
        return "\n".join(db.iterdump())


def test_an_echoing_partner_leaves_no_key_in_history_or_logs(partners_echo: App, echoing):
    claim = {
        "claimId": "CLM-ECHO",
        "policyNumber": "POL-ECHO",
        "claimant": {"name": "Ada", "email": "ada@example.com"},
        "lossDate": "2026-01-02",
        "amount": 100,
        "currency": "EUR",
        "description": "Dent",
        "documents": [],
    }
    assert partners_echo.http.post("/api/claims", json=claim).status_code == 202
    partners_echo.advance(seconds=RETRIES_RUN_OUT)  # both partners fail every attempt
    partners_echo.wait(
        "/api/claims/CLM-ECHO", lambda v: v["runtimeStatus"] == "Failed", "a failed claim"
    )
    keys_sent = {r.headers.get("x-api-key") for r in echoing.requests}
    assert keys_sent == {POLICY_KEY, FRAUD_KEY}  # both partners got (and echoed) their key

    stored, logged = hub_text(partners_echo), partners_echo.host.log.read_text()
    assert "404 POLICY_NOT_FOUND" in stored and "400 INVALID_CLAIM" in stored
    for key in (POLICY_KEY, FRAUD_KEY):
        assert key not in stored and key[:10] not in stored
        assert key not in logged and key[:10] not in logged
