"""Claim rules: what counts as missing, when a claim decides itself, what it pays, what is valid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.claims import (
    ClaimRequest,
    DecisionRequest,
    amount_paid,
    assess,
    missing_documents,
)
from domain.common import edge_context

POLICY = {
    "found": True,
    "policyNumber": "POL-1",
    "active": True,
    "coverageLimit": 50000.0,
    "deductible": 0.0,
    "coveredLossTypes": ["collision", "theft"],
    "requiredDocuments": ["invoice", "photo"],
}
KINDS = ["invoice", "photo", "police_report", "estimate"]


def valid_claim(**changes):
    claim = {
        "claimId": "CLM-1",
        "policyNumber": "POL-1",
        "claimant": {"name": "Ada", "email": "ada@example.com"},
        "lossDate": "2025-01-02",
        "amount": 120.5,
        "currency": "EUR",
        "description": "Rear bumper",
        "documents": [{"documentId": "D1", "kind": "invoice", "url": "https://files.example/d1"}],
    }
    return {**claim, **changes}


@given(
    required=st.sets(st.sampled_from(KINDS)),
    extractions=st.lists(
        st.fixed_dictionaries({"kind": st.sampled_from(KINDS), "readable": st.booleans()})
    ),
)
def test_missing_documents_are_the_required_kinds_no_readable_document_provides(
    required, extractions
):
    missing = missing_documents(required, extractions)
    readable = {e["kind"] for e in extractions if e["readable"]}
    assert set(missing) == required - readable
    assert missing == sorted(missing)


def test_an_unreadable_invoice_still_counts_as_missing():
    assert missing_documents(["invoice"], [{"kind": "invoice", "readable": False}]) == ["invoice"]


@given(
    amount=st.floats(min_value=0.01, max_value=1e6),
    score=st.floats(min_value=0, max_value=1),
    limit=st.floats(min_value=0, max_value=1e5),
    threshold=st.floats(min_value=0, max_value=1),
)
def test_a_covered_claim_is_approved_exactly_when_small_and_clean(amount, score, limit, threshold):
    result = assess(amount, score, POLICY, auto_approval_limit=limit, fraud_threshold=threshold)
    clean = amount <= limit and score < threshold
    assert result.route == ("approve" if clean else "manual")
    assert result.reasons


@given(
    amount=st.floats(min_value=0.01, max_value=1e6),
    score=st.floats(min_value=0, max_value=1),
    uncovered=st.sampled_from(
        [{"active": False}, {"coveredLossTypes": []}, {"coverageLimit": 0.0}, {"found": False}]
    ),
)
def test_a_claim_the_policy_does_not_cover_is_rejected_whatever_else(amount, score, uncovered):
    result = assess(amount, score, {**POLICY, **uncovered})
    assert result.route == "reject"


def test_an_inconsistent_photo_sends_a_small_claim_to_an_adjuster():
    reviews = [{"documentId": "P1", "damageConsistent": False}]
    result = assess(100, 0.1, POLICY, reviews)
    assert result.route == "manual" and "P1" in result.reasons[0]


def test_default_limits_are_2000_and_point_seven():
    assert assess(2000, 0.69, POLICY).route == "approve"
    assert assess(2000.01, 0.1, POLICY).route == "manual"
    assert assess(100, 0.7, POLICY).route == "manual"


@given(
    amount=st.floats(min_value=0.01, max_value=1e6),
    limit=st.floats(min_value=0, max_value=1e6),
    deductible=st.floats(min_value=0, max_value=1e4),
)
def test_amount_paid_is_capped_by_the_limit_less_the_deductible_and_never_negative(
    amount, limit, deductible
):
    paid = amount_paid(amount, {**POLICY, "coverageLimit": limit, "deductible": deductible})
    assert 0 <= paid <= round(min(amount, limit), 2) + 0.005
    assert paid == pytest.approx(max(0.0, min(amount, limit) - deductible), abs=0.006)


def test_a_valid_claim_round_trips_in_camel_case():
    claim = ClaimRequest.model_validate(valid_claim())
    assert claim.claim_id == "CLM-1"
    assert claim.model_dump(mode="json", by_alias=True)["policyNumber"] == "POL-1"


def test_every_invalid_field_is_reported():
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    bad = valid_claim(
        claimId="bad id!",
        amount=0,
        currency="EURO",
        lossDate=tomorrow,
        claimant={"name": "", "email": "nope"},
        documents=[{"documentId": "D1", "kind": "selfie", "url": "not a url"}],
        surprise=1,
    )
    with pytest.raises(ValidationError) as error:
        ClaimRequest.model_validate(bad, context=edge_context(datetime.now(UTC)))
    fields = {".".join(map(str, e["loc"])) for e in error.value.errors()}
    assert fields >= {
        "claimId",
        "amount",
        "currency",
        "lossDate",
        "claimant.name",
        "claimant.email",
        "documents.0.kind",
        "documents.0.url",
        "surprise",
    }


def test_document_ids_must_be_unique():
    doc = {"documentId": "D1", "kind": "photo", "url": "https://files.example/p"}
    with pytest.raises(ValidationError, match="repeated: D1"):
        ClaimRequest.model_validate(valid_claim(documents=[doc, doc]))


@given(st.text())
def test_a_decision_is_approve_or_reject(value):
    if value in ("approve", "reject"):
        assert DecisionRequest.model_validate({"decision": value}).decision == value
    else:
        with pytest.raises(ValidationError):
            DecisionRequest.model_validate({"decision": value})
