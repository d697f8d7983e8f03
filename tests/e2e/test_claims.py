"""The claims story over HTTP, with the clock in our hands.

A claimant files a claim; small clean claims pay themselves, others wait for an adjuster (who is
reminded via escalation), missing documents are chased, and one policy is decided one claim at a
time. Every answer a portal can get is checked as a portal would see it.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import App, assert_problem, local, principal, signed
from tests.e2e.portal import RETRIES_RUN_OUT

SYSTEM = {
    "name": "system",
    "objectId": None,
    "roles": [],
    "identityProvider": None,
    "kind": "workflow",
    "source": "workflow",
}
PHOTO = {"documentId": "P1", "kind": "photo", "url": "https://files.example/p1.jpg"}
INVOICE = {"documentId": "I1", "kind": "invoice", "url": "https://files.example/i1.pdf"}


def claim(claim_id: str, policy: str = "POL-1", **changes) -> dict:
    body = {
        "claimId": claim_id,
        "policyNumber": policy,
        "claimant": {"name": "Ada Lovelace", "email": f"{claim_id.lower()}@example.com"},
        "lossDate": "2025-03-01",
        "amount": 120.5,
        "currency": "EUR",
        "description": "Rear bumper dented in a car park",
        "documents": [INVOICE, PHOTO],
    }
    return {**body, **changes}


def file_claim(app: App, body: dict) -> str:
    response = app.http.post("/api/claims", json=body)
    assert response.status_code == 202, response.text
    started = response.json()
    assert started["instanceId"] == f"claim-{body['claimId']}" and started["workflow"] == "claim"
    assert started["businessId"] == body["claimId"]
    assert response.headers["location"] == started["statusUrl"]
    assert started["statusUrl"].endswith(f"/api/claims/{body['claimId']}")
    return f"/api/claims/{body['claimId']}"


def messages(app: App, claim_id: str, template: str) -> list[dict]:
    return [m for m in app.ledger("message", template=template) if m["data"]["claimId"] == claim_id]


def test_a_small_clean_claim_is_approved_and_paid_automatically(app: App):
    path = file_claim(app, claim("CLM-AUTO"))
    view = app.wait_done(path)
    assert view["runtimeStatus"] == "Completed" and view["stage"] == "approved"
    out = view["output"]
    assert (out["claimId"], out["outcome"]) == ("CLM-AUTO", "approved")
    assert out["decidedBy"] == SYSTEM
    assert out["amountPaid"] == 120.5 and out["fraudScore"] < 0.3 and out["decidedAt"]
    payouts = app.ledger("payout", claimId="CLM-AUTO")
    assert [p["payoutId"] for p in payouts] == [out["payoutId"]]
    assert payouts[0]["amount"] == 120.5 and payouts[0]["currency"] == "EUR"
    assert len(messages(app, "CLM-AUTO", "claim_approved")) == 1
    lock = app.view("/api/locks/policy:POL-1")
    assert lock["holder"] is None and lock["queue"] == []


def test_claims_since_version_2_are_acknowledged_and_older_ones_replay_without_it(app: App):
    """host.json defaultVersion "2.0" stamps new claims; `context.version` lets the orchestrator
    keep the old path for instances an earlier release started (Learn, "Orchestration
    versioning in Durable Functions", Step 2). The older instance is started the way the
    Durable HTTP API allows, with `?version=`
    (HttpApiHandler.HandleStartOrchestratorRequestAsync)."""
    path = file_claim(app, claim("CLM-ACK", policy="POL-ACK"))
    assert app.wait_done(path)["stage"] == "approved"
    # start_new's input is kept as the JSON text the SDK posted (SDK issue #195)
    stored = json.loads(app.view("/runtime/webhooks/durabletask/instances/claim-CLM-ACK")["input"])
    older = {**stored, "claimId": "CLM-OLD", "policyNumber": "POL-OLD"}
    response = app.http.post(
        "/runtime/webhooks/durabletask/orchestrators/claim_orchestrator/claim-CLM-OLD",
        params={"version": "1.0"},
        json=older,
    )
    assert response.status_code == 202, response.text

    assert app.wait_done("/api/claims/CLM-OLD")["stage"] == "approved"
    [acknowledgement] = messages(app, "CLM-ACK", "claim_received")
    assert acknowledgement["recipient"] == "clm-ack@example.com"
    assert messages(app, "CLM-OLD", "claim_received") == []
    assert len(messages(app, "CLM-OLD", "claim_approved")) == 1
    for claim_id in ("CLM-ACK", "CLM-OLD"):  # started through the SDK, and as JSON
        page = app.view(f"/api/workflows/claim-{claim_id}/history")
        assert page["input"]["claimId"] == claim_id


def test_an_adjuster_approves_a_large_claim_and_is_recorded_from_the_principal(app: App):
    path = file_claim(app, claim("CLM-BIG", "POL-2", amount=5000))
    view = app.wait_stage(path, "awaiting_decision")
    assert view["waitingFor"] == ["ClaimDecision"] and view["runtimeStatus"] == "Running"
    response = app.http.post(
        f"{path}/decision",
        json={"decision": "approve", "comment": "photos match", "actor": "not-me"},
        headers=principal("grace@contoso.com", "Claims.Supervisor"),
    )
    assert response.status_code == 202, response.text
    assert response.json()["event"] == "ClaimDecision"
    out = app.wait_done(path)["output"]
    assert out["outcome"] == "approved"
    assert out["decidedBy"] == signed("grace@contoso.com", "Claims.Supervisor")
    assert out["amountPaid"] == 5000 and out["comment"] == "photos match"
    assert len(app.ledger("payout", claimId="CLM-BIG")) == 1


def test_an_adjuster_rejects_a_suspicious_claim_and_nothing_is_paid(app: App):
    path = file_claim(app, claim("CLM-SUS", "POL-3", description="Suspicious water damage"))
    app.wait_stage(path, "awaiting_decision")
    response = app.http.post(f"{path}/decision", json={"decision": "reject", "actor": "alan"})
    assert response.status_code == 202, response.text
    out = app.wait_done(path)["output"]
    assert (out["outcome"], out["decidedBy"], out["amountPaid"]) == ("rejected", local("alan"), 0)
    assert out["fraudScore"] >= 0.8 and out["payoutId"] is None
    assert app.ledger("payout", claimId="CLM-SUS") == []
    assert len(messages(app, "CLM-SUS", "claim_rejected")) == 1


def test_a_decision_needs_to_say_who_decides(app: App):
    path = file_claim(app, claim("CLM-ANON", "POL-4", amount=9000))
    app.wait_stage(path, "awaiting_decision")
    assert_problem(app.http.post(f"{path}/decision", json={"decision": "approve"}), 400, "actor")
    bad = app.http.post(f"{path}/decision", json={"decision": "maybe", "actor": "x", "extra": 1})
    assert_problem(bad, 400, "decision", "extra")
    assert app.view(path)["stage"] == "awaiting_decision"
    app.http.post(f"{path}/decision", json={"decision": "reject", "actor": "ops"})
    assert app.wait_done(path)["output"]["outcome"] == "rejected"


def test_a_claim_without_required_documents_waits_for_them(app: App):
    path = file_claim(app, claim("CLM-DOCS", "POL-5", documents=[INVOICE]))
    view = app.wait_stage(path, "awaiting_documents")
    assert view["waitingFor"] == ["DocumentsSubmitted"]
    # Not waiting for a decision yet: the portal is told so.
    wrong = app.http.post(f"{path}/decision", json={"decision": "approve", "actor": "ada"})
    assert_problem(wrong, 409)
    assert_problem(app.http.post(f"{path}/documents", json={"documents": []}), 400, "documents")
    response = app.http.post(f"{path}/documents", json={"documents": [PHOTO], "actor": "ada"})
    assert response.status_code == 202, response.text
    out = app.wait_done(path)["output"]
    assert out["outcome"] == "approved" and out["amountPaid"] == 120.5


def test_a_claim_is_abandoned_after_three_unanswered_reminders(app: App):
    path = file_claim(app, claim("CLM-GONE", "POL-6", documents=[INVOICE]))
    app.wait_stage(path, "awaiting_documents")
    for reminder in (1, 2, 3):
        app.advance(days=3)
        assert len(messages(app, "CLM-GONE", "claim_documents_reminder")) == reminder
        assert app.view(path)["stage"] == "awaiting_documents"
    app.advance(days=3)
    view = app.wait_done(path)
    assert view["output"]["outcome"] == "abandoned" and view["output"]["amountPaid"] == 0
    assert len(messages(app, "CLM-GONE", "claim_documents_reminder")) == 3
    assert app.view("/api/locks/policy:POL-6")["holder"] is None


def test_an_undecided_claim_escalates_after_two_days_and_expires_after_ten(app: App):
    path = file_claim(app, claim("CLM-SLOW", "POL-7", amount=7000))
    app.wait_stage(path, "awaiting_decision")
    app.advance(days=1)
    assert messages(app, "CLM-SLOW", "claim_escalated") == []
    app.advance(days=1)
    [escalation] = messages(app, "CLM-SLOW", "claim_escalated")
    assert escalation["recipient"] == "claims-supervisors@example.com"
    assert app.view(path)["waitingFor"] == ["ClaimDecision"]
    app.advance(days=8)
    out = app.wait_done(path)["output"]
    assert out["outcome"] == "expired" and out["decidedBy"] is None
    assert len(messages(app, "CLM-SLOW", "claim_escalated")) == 1


def test_a_claim_the_policy_does_not_cover_is_rejected_automatically(app: App):
    path = file_claim(app, claim("CLM-NOCOV", "POL-NOCOVER-1"))
    out = app.wait_done(path)["output"]
    assert (out["outcome"], out["decidedBy"]) == ("rejected", SYSTEM)
    assert any("does not cover" in reason for reason in out["reasons"])
    assert app.ledger("payout", claimId="CLM-NOCOV") == []


def test_two_claims_on_one_policy_are_decided_one_at_a_time(app: App):
    first = file_claim(app, claim("CLM-FIRST", "POL-SHARED", amount=4000))
    app.wait_stage(first, "awaiting_decision")
    second = file_claim(app, claim("CLM-SECOND", "POL-SHARED"))
    app.wait_stage(second, "waiting_for_policy")
    lock = app.view("/api/locks/policy:POL-SHARED")
    assert lock["holder"] == "claim-CLM-FIRST" and lock["queue"] == ["claim-CLM-SECOND"]
    assert lock["leaseExpiresAt"]
    app.advance(hours=1)  # the waiter polls with backoff; it is still second in line
    assert app.view(second)["stage"] == "waiting_for_policy"
    app.http.post(f"{first}/decision", json={"decision": "approve", "actor": "grace"})
    assert app.wait_done(first)["output"]["outcome"] == "approved"
    # The release hands the lock on and wakes the second at once: no time has to pass.
    assert app.wait_done(second)["output"]["outcome"] == "approved"
    lock = app.view("/api/locks/policy:POL-SHARED")
    assert lock["holder"] is None and lock["queue"] == []


def test_bad_input_is_refused_field_by_field_and_nothing_starts(app: App):
    body = claim(
        "CLM-BAD",
        amount=-5,
        currency="EURO",
        lossDate="2999-01-01",
        claimant={"name": "", "email": "not-an-email"},
        documents=[{"documentId": "D 1", "kind": "selfie", "url": "ftp:/x"}],
        unexpected=True,
    )
    problem = assert_problem(
        app.http.post("/api/claims", json=body),
        400,
        "amount",
        "currency",
        "lossDate",
        "claimant.name",
        "claimant.email",
        "documents.0.documentId",
        "documents.0.kind",
        "documents.0.url",
        "unexpected",
    )
    assert problem["detail"]
    assert_problem(app.http.get("/api/claims/CLM-BAD"), 404)
    not_json = app.http.post(
        "/api/claims", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert_problem(not_json, 400, "body")
    assert_problem(app.http.post("/api/claims", json=claim("bad id!")), 400, "claimId")


def test_unknown_claims_are_not_found(app: App):
    assert_problem(app.http.get("/api/claims/CLM-NOBODY"), 404)
    decision = {"decision": "approve", "actor": "x"}
    assert_problem(app.http.post("/api/claims/CLM-NOBODY/decision", json=decision), 404)
    docs = {"documents": [PHOTO]}
    assert_problem(app.http.post("/api/claims/CLM-NOBODY/documents", json=docs), 404)
    # A claim is not a shipment.
    assert_problem(app.http.get("/api/shipments/CLM-AUTO"), 404)


def test_a_second_start_and_late_actions_conflict(app: App):
    response = app.http.post("/api/claims", json=claim("CLM-AUTO"))
    problem = assert_problem(response, 409)
    assert problem["statusUrl"].endswith("/api/claims/CLM-AUTO")
    late = app.http.post("/api/claims/CLM-AUTO/decision", json={"decision": "reject", "actor": "x"})
    assert_problem(late, 409)
    assert app.view("/api/claims/CLM-AUTO")["output"]["outcome"] == "approved"


@pytest.fixture(scope="module")
def flaky_payments(start_app) -> App:
    """A second app: the payment provider takes the payout, then the answer is lost once; the
    fraud service is down for one claim; the auto-approval limit is raised."""
    failures = {"payments.pay!lost": 1, "fraud.score:CLM-DOOMED": 100}
    return start_app(SIMULATOR_FAILURES=json.dumps(failures), AUTO_APPROVAL_LIMIT="10000")


def test_a_payout_happens_exactly_once_when_the_payment_is_retried(flaky_payments: App):
    app = flaky_payments
    path = file_claim(app, claim("CLM-RETRY", "POL-9"))
    app.wait_stage(path, "paying")  # the payout took effect, its answer was lost
    assert len(app.ledger("payout", claimId="CLM-RETRY")) == 1
    # The retry policy waits on a durable timer: let its time pass.
    app.advance(seconds=RETRIES_RUN_OUT)
    out = app.wait_done(path)["output"]
    payouts = app.ledger("payout", claimId="CLM-RETRY")
    assert len(payouts) == 1 and payouts[0]["payoutId"] == out["payoutId"]
    assert out["outcome"] == "approved" and out["amountPaid"] == 120.5


def test_the_auto_approval_limit_is_a_setting(flaky_payments: App):
    app = flaky_payments
    out = app.wait_done(file_claim(app, claim("CLM-LIMIT", "POL-10", amount=5000)))["output"]
    assert (out["outcome"], out["decidedBy"], out["amountPaid"]) == ("approved", SYSTEM, 5000)


def test_a_claim_that_fails_still_releases_its_policy_lock(flaky_payments: App):
    app = flaky_payments
    path = file_claim(app, claim("CLM-DOOMED", "POL-11"))
    app.advance(seconds=RETRIES_RUN_OUT)  # the fraud service fails every retry
    view = app.wait_done(path)
    assert view["runtimeStatus"] == "Failed" and "Traceback" not in str(view["output"])
    lock = app.view("/api/locks/policy:POL-11")
    assert lock["holder"] is None and lock["queue"] == []
    later = file_claim(app, claim("CLM-AFTER", "POL-11"))
    assert app.wait_done(later)["output"]["outcome"] == "approved"
