"""Requests that put instances where the console tests need them, over the app's own API."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import App

DOCUMENTS = [
    {"documentId": "I1", "kind": "invoice", "url": "https://files.example/i1.pdf"},
    {"documentId": "P1", "kind": "photo", "url": "https://files.example/p1.jpg"},
]


def claim(claim_id: str, policy: str, amount: float = 5000, **changes: Any) -> dict[str, Any]:
    """A claim; above the auto-approval limit (2000) it waits for an adjuster's decision."""
    return {
        "claimId": claim_id,
        "policyNumber": policy,
        "claimant": {"name": "Ada Lovelace", "email": "ada@example.com"},
        "lossDate": "2025-03-01",
        "amount": amount,
        "currency": "EUR",
        "description": "Water damage in the kitchen",
        "documents": DOCUMENTS,
        **changes,
    }


def file_claim(app: App, body: dict[str, Any]) -> str:
    """Start the claim; returns its status path."""
    response = app.http.post("/api/claims", json=body)
    assert response.status_code == 202, response.text
    return f"/api/claims/{body['claimId']}"


def awaiting_decision(app: App, claim_id: str, policy: str, **changes: Any) -> str:
    """A claim that waits for an adjuster; returns its instance id."""
    path = file_claim(app, claim(claim_id, policy, **changes))
    return app.wait_stage(path, "awaiting_decision")["id"]
