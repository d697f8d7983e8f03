"""Claim activities: thin calls to the partners, plain dicts in and out.

Effects (payout, notifications) carry the idempotency key the orchestrator derived from its
instance id and step, so a retried activity repeats nothing. A failing partner raises and the
orchestrator's retry policy tries again, except where the answer is final (an unknown policy).
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from adapters import settings
from adapters.errors import PartnerError
from adapters.partners import documents, fraud, images, notifications, payments, policies
from domain import claims
from domain.claims import Activity
from domain.common import to_json

bp = df.Blueprint()
SUPERVISOR = "supervisor"


@bp.activity_trigger(input_name="document", activity=Activity.EXTRACT_DOCUMENT)
def claims_extract_document(document: dict) -> dict[str, Any]:
    """Read one document: `{documentId, kind, readable, fields}`."""
    return documents.client().extract(document)


@bp.activity_trigger(input_name="document", activity=Activity.REVIEW_PHOTO)
def claims_review_photo(document: dict) -> dict[str, Any]:
    """Check that a photo's damage fits the claim: `{documentId, damageConsistent, confidence}`."""
    return images.client().review(document)


@bp.activity_trigger(input_name="number", activity=Activity.LOOKUP_POLICY)
def claims_lookup_policy(number: str) -> dict[str, Any]:
    """The policy, or `{found: false}` when the policy system says it does not exist."""
    try:
        return {"found": True, **policies.client().lookup(number)}
    except PartnerError as error:
        if error.retryable:
            raise
        return {"found": False, "policyNumber": number, "error": error.message}


@bp.activity_trigger(input_name="claim", activity=Activity.SCORE_FRAUD)
def claims_score_fraud(claim: dict) -> dict[str, Any]:
    """`{score, reasons}` from the fraud service."""
    return fraud.client().score(claim)


@bp.activity_trigger(input_name="facts", activity=Activity.ASSESS)
def claims_assess(facts: dict) -> dict[str, Any]:
    """Apply the decision rule with today's settings; the result is then fixed in history."""
    assessment = claims.assess(
        facts["amount"],
        facts["fraudScore"],
        facts["policy"],
        facts.get("photoReviews", []),
        auto_approval_limit=settings.number(
            "AUTO_APPROVAL_LIMIT", claims.DEFAULT_AUTO_APPROVAL_LIMIT
        ),
        fraud_threshold=settings.number("FRAUD_THRESHOLD", claims.DEFAULT_FRAUD_THRESHOLD),
    )
    return to_json(assessment)


@bp.activity_trigger(input_name="payout", activity=Activity.PAY)
def claims_pay(payout: dict) -> dict[str, Any]:
    """Issue the payout once per idempotency key: `{payoutId, status, amount, currency}`."""
    return payments.client().pay(
        payout["claimId"],
        payout["amount"],
        payout["currency"],
        payout["payee"],
        idempotency_key=payout["idempotencyKey"],
    )


@bp.activity_trigger(input_name="message", activity=Activity.NOTIFY)
def claims_notify(message: dict) -> dict[str, Any]:
    """Send one message once per idempotency key: `{messageId}`.

    The recipient `supervisor` means the claims supervisors' address (setting
    CLAIMS_SUPERVISOR_EMAIL), which the orchestrator cannot read itself.
    """
    recipient = message["recipient"]
    if recipient == SUPERVISOR:
        recipient = settings.get("CLAIMS_SUPERVISOR_EMAIL", "claims-supervisors@example.com")
    return notifications.client().send(
        recipient,
        message["template"],
        message.get("data", {}),
        idempotency_key=message["idempotencyKey"],
    )
