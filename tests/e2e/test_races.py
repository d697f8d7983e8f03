"""Racing portal actions get honest answers: the instance takes one, the API says which.

Twenty supervisors decide one claim at the same moment. Durable delivers every event, and the
claim takes the first; the others must not be told "accepted" as if theirs had counted. The
API waits for the instance's verdict (api/verdict.py): one caller gets 202 `applied: true`,
the others 409 naming who decided, and the status lists exactly the decision that counted.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.e2e.conftest import App, assert_problem, local

CALLERS = 20


def test_twenty_concurrent_decisions_one_counts_and_the_others_are_told_so(app: App):
    body = {
        "claimId": "CLM-RACE",
        "policyNumber": "POL-RACE",
        "claimant": {"name": "Ada", "email": "ada@example.com"},
        "lossDate": "2025-03-01",
        "amount": 9000,
        "currency": "EUR",
        "description": "Storm damage",
        "documents": [
            {"documentId": "I1", "kind": "invoice", "url": "https://f.example/i1.pdf"},
            {"documentId": "P1", "kind": "photo", "url": "https://f.example/p1.jpg"},
        ],
    }
    path = "/api/claims/CLM-RACE"
    assert app.http.post("/api/claims", json=body).status_code == 202
    app.wait_stage(path, "awaiting_decision")

    start = threading.Barrier(CALLERS)

    def decide(n: int) -> httpx.Response:
        decision = {"decision": "approve" if n % 2 else "reject", "actor": f"supervisor-{n}"}
        with httpx.Client(base_url=app.host.base_url, timeout=60.0) as http:
            start.wait()
            return http.post(f"{path}/decision", json=decision)

    with ThreadPoolExecutor(CALLERS) as pool:
        answers = list(pool.map(decide, range(CALLERS)))

    counted = [(n, r.json()) for n, r in enumerate(answers) if r.status_code == 202]
    assert len(counted) == 1, [(r.status_code, r.text) for r in answers]
    [(winner, accepted)] = counted
    assert accepted["applied"] is True and accepted["by"] == local(f"supervisor-{winner}")
    for n, response in enumerate(answers):
        if n != winner:
            problem = assert_problem(response, 409)
            assert f"supervisor-{winner}" in problem["detail"], problem

    out = app.wait_done(path)["output"]
    assert out["decidedBy"] == local(f"supervisor-{winner}")
    assert out["outcome"] == ("approved" if winner % 2 else "rejected")
    decisions = [a for a in out["actions"] if a["event"] == "ClaimDecision"]
    assert [(a["by"]["name"], a["actionId"]) for a in decisions] == [
        (f"supervisor-{winner}", accepted["actionId"])
    ]
