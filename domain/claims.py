"""Insurance claims: the request and portal payloads, and the pure rules that decide a claim.

The orchestrator calls these rules directly (they are deterministic); the activity
`claims_assess` applies `assess` with the settings AUTO_APPROVAL_LIMIT and FRAUD_THRESHOLD.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    HttpUrl,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from domain.access import Actor, TakenAction
from domain.common import (
    ApiModel,
    BusinessId,
    Money,
    PortalAction,
    Workflow,
    edge_now,
    require_unique,
    text,
)
from domain.contract import Action, Contract
from domain.roles import Role
from domain.views import StatusView

DEFAULT_AUTO_APPROVAL_LIMIT = 2000.0
DEFAULT_FRAUD_THRESHOLD = 0.7

MAX_DOCUMENTS_AT_START = 50
MAX_DOCUMENTS_PER_SUBMISSION = 20
MAX_SUBMISSIONS = 5
MAX_DOCUMENTS_PER_CLAIM = 100
"""A claim's documents bound its history: each one is read (and a photo reviewed) by an
activity. Submissions beyond MAX_SUBMISSIONS are refused (409); a submission that would take
the claim past MAX_DOCUMENTS_PER_CLAIM, or carries more than MAX_DOCUMENTS_PER_SUBMISSION, is
too large (413). A claim still missing documents after its last submission is abandoned."""
MAX_LOSS_AGE_YEARS = 10
"""Older losses are past any policy's claim period; an older date is a typo."""

# ISO 4217 codes of currencies in circulation.
CURRENCIES = frozenset(
    re.findall(
        "[A-Z]{3}",
        """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
    GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR
    KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK
    MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
    SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS
    UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
""",
    )
)


def _currency(code: str) -> str:
    if code not in CURRENCIES:
        raise ValueError("must be an ISO 4217 currency code such as EUR or USD")
    return code


Currency = Annotated[
    str,
    AfterValidator(_currency),
    WithJsonSchema({"type": "string", "enum": sorted(CURRENCIES)}),
]
# \x85 (NEL) is whitespace to pydantic's regex engine but not to ECMA-262's \s, which OpenAPI
# clients use: spelled out, both read the pattern alike.
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=254, pattern=r"^[^@\s\x85]+@[^@\s\x85]+\.[A-Za-z]{2,63}$"
    ),
]
Text = Annotated[str, text(2000)]
PersonName = Annotated[str, text(200)]


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    PHOTO = "photo"
    POLICE_REPORT = "police_report"
    ESTIMATE = "estimate"


class Document(ApiModel):
    """A document attached to a claim; the file itself stays at `url`."""

    document_id: BusinessId
    kind: DocumentKind
    url: Annotated[HttpUrl, Field(json_schema_extra={"pattern": "^https?://[A-Za-z0-9]"})]


def _unique_ids(documents: list[Document]) -> list[Document]:
    require_unique((document.document_id for document in documents), "documentId")
    return documents


Documents = Annotated[
    list[Document],
    Field(max_length=MAX_DOCUMENTS_AT_START, description="Each documentId at most once."),
    AfterValidator(_unique_ids),
]


class Claimant(ApiModel):
    name: PersonName
    email: Email


class ClaimRequest(ApiModel):
    """`POST /api/claims`."""

    claim_id: BusinessId
    policy_number: BusinessId
    claimant: Claimant
    loss_date: date = Field(
        description=f"The day of the loss: not in the future, within {MAX_LOSS_AGE_YEARS} years."
    )
    amount: Money = Field(
        description="Amount claimed, in `currency`: at least 0.01, at most 100,000,000, "
        "whole cents (at most two decimals)."
    )
    currency: Currency
    description: Text
    documents: Documents = Field(default_factory=list)

    @field_validator("loss_date")
    @classmethod
    def _recent_past(cls, value: date, info: ValidationInfo) -> date:
        now = edge_now(info)
        if now is None:
            return value
        if value > now.date():
            raise ValueError("must not be in the future")
        if value < now.date() - timedelta(days=round(365.25 * MAX_LOSS_AGE_YEARS)):
            raise ValueError(f"must be within the last {MAX_LOSS_AGE_YEARS} years")
        return value


class DocumentsSubmission(PortalAction):
    """`POST /api/claims/{claimId}/documents`: documents the claimant sends later."""

    documents: Annotated[Documents, Field(min_length=1)]


class DecisionRequest(PortalAction):
    """`POST /api/claims/{claimId}/decision`: a claims supervisor's decision."""

    decision: Literal["approve", "reject"]
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None


def submission_refusal(waiting: Mapping[str, Any], documents: int) -> tuple[int, str] | None:
    """Why a claim that waits for documents cannot take a submission of `documents` now.

    `waiting` is the claim's custom status while it waits (`submissionsLeft`, `documentsLeft`);
    None when the submission fits.
    """
    if documents > MAX_DOCUMENTS_PER_SUBMISSION:
        return 413, f"a submission carries at most {MAX_DOCUMENTS_PER_SUBMISSION} documents"
    if int(waiting.get("submissionsLeft", MAX_SUBMISSIONS)) <= 0:
        return 409, f"the claim has taken its {MAX_SUBMISSIONS} submissions"
    room = int(waiting.get("documentsLeft", MAX_DOCUMENTS_PER_CLAIM))
    if documents > room:
        return 413, (
            f"a claim holds at most {MAX_DOCUMENTS_PER_CLAIM} documents; "
            f"this one has room for {room} more"
        )
    return None


class Stage(StrEnum):
    """The business stages of a claim while it runs; it ends at a stage named for its Outcome."""

    WAITING_FOR_POLICY = "waiting_for_policy"
    ASSESSING = "assessing"
    AWAITING_DOCUMENTS = "awaiting_documents"
    AWAITING_DECISION = "awaiting_decision"
    PAYING = "paying"


class Event(StrEnum):
    """External events a claim accepts; the values are the Durable event names."""

    DOCUMENTS_SUBMITTED = "DocumentsSubmitted"
    CLAIM_DECISION = "ClaimDecision"


class Activity(StrEnum):
    """The activities the workflow calls; the values are their function names."""

    EXTRACT_DOCUMENT = "claims_extract_document"
    REVIEW_PHOTO = "claims_review_photo"
    LOOKUP_POLICY = "claims_lookup_policy"
    SCORE_FRAUD = "claims_score_fraud"
    ASSESS = "claims_assess"
    PAY = "claims_pay"
    NOTIFY = "claims_notify"


class Outcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    ABANDONED = "abandoned"
    EXPIRED = "expired"
    LOCK_TIMEOUT = "lock_timeout"


class ClaimResult(ApiModel):
    """The orchestration output."""

    claim_id: str
    outcome: Outcome
    amount_paid: float = 0.0
    payout_id: str | None = None
    fraud_score: float | None = None
    decided_by: Actor | None = None
    decided_at: datetime | None = None
    reasons: list[str] = Field(default_factory=list)
    comment: str | None = None
    actions: list[TakenAction] = Field(default_factory=list)


class Assessment(ApiModel):
    """The automatic decision: approve, reject, or leave it to an adjuster."""

    route: Literal["approve", "reject", "manual"]
    reasons: list[str]


def missing_documents(
    required: Iterable[str], extractions: Iterable[Mapping[str, Any]]
) -> list[str]:
    """Required kinds that no readable document provides (an unreadable one does not count)."""
    provided = {str(e.get("kind")) for e in extractions if e.get("readable")}
    return sorted(set(required) - provided)


def policy_covers(policy: Mapping[str, Any]) -> tuple[bool, str | None]:
    """Whether the policy pays for losses at all, and if not, why."""
    if not policy.get("found", True):
        return False, f"policy {policy.get('policyNumber')} does not exist"
    if not policy.get("active"):
        return False, "the policy is not active"
    if not policy.get("coveredLossTypes") or float(policy.get("coverageLimit") or 0) <= 0:
        return False, "the policy does not cover this loss"
    return True, None


def amount_paid(amount: float, policy: Mapping[str, Any]) -> float:
    """What an approved claim pays: the amount up to the coverage limit, less the deductible."""
    limit = float(policy.get("coverageLimit") or 0)
    deductible = float(policy.get("deductible") or 0)
    return round(max(0.0, min(amount, limit) - deductible), 2)


def assess(
    amount: float,
    fraud_score: float,
    policy: Mapping[str, Any],
    photo_reviews: Iterable[Mapping[str, Any]] = (),
    *,
    auto_approval_limit: float = DEFAULT_AUTO_APPROVAL_LIMIT,
    fraud_threshold: float = DEFAULT_FRAUD_THRESHOLD,
) -> Assessment:
    """Reject what the policy does not cover; approve small, clean claims; else an adjuster.

    Clean means: fraud score under the threshold and every photo consistent with the claim.
    """
    covered, why_not = policy_covers(policy)
    if not covered:
        return Assessment(route="reject", reasons=[why_not or "not covered"])
    reasons = []
    if amount > auto_approval_limit:
        reasons.append(f"amount {amount:g} exceeds the auto-approval limit {auto_approval_limit:g}")
    if fraud_score >= fraud_threshold:
        reasons.append(f"fraud score {fraud_score:g} is at or above {fraud_threshold:g}")
    inconsistent = [r["documentId"] for r in photo_reviews if not r.get("damageConsistent", True)]
    if inconsistent:
        reasons.append(f"photos inconsistent with the claim: {', '.join(inconsistent)}")
    if reasons:
        return Assessment(route="manual", reasons=reasons)
    return Assessment(route="approve", reasons=["within the auto-approval rules"])


CONTRACT = Contract(
    workflow=Workflow.CLAIM,
    id_param="claimId",
    start=ClaimRequest,
    status=StatusView,
    stages=Stage,
    events=Event,
    actions=(
        Action(
            "documents",
            Event.DOCUMENTS_SUBMITTED,
            DocumentsSubmission,
            frozenset({Role.CLAIMS_ADJUSTER}),
            "Submit missing documents",
        ),
        Action(
            "decision",
            Event.CLAIM_DECISION,
            DecisionRequest,
            frozenset({Role.CLAIMS_SUPERVISOR}),
            "Approve or reject a claim",
        ),
    ),
    supervisors=frozenset({Role.CLAIMS_SUPERVISOR}),
)
