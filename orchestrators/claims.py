"""The claim workflow: lock the policy, assess in parallel, chase documents, decide, pay, notify.

Stages (domain.claims.Stage): waiting_for_policy -> assessing -> [awaiting_documents] ->
[awaiting_decision] -> paying -> the outcome (approved, rejected, abandoned, expired,
lock_timeout).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.Task import TaskBase

from domain.access import SYSTEM, TakenAction
from domain.claims import (
    MAX_DOCUMENTS_PER_CLAIM,
    MAX_SUBMISSIONS,
    Activity,
    ClaimRequest,
    ClaimResult,
    Event,
    Outcome,
    Stage,
    amount_paid,
    missing_documents,
    policy_covers,
)
from domain.common import Workflow, to_json
from orchestrators.common import (
    log,
    record_action,
    retry,
    set_stage,
    taken_actions,
    version_at_least,
    wait_for_event,
)
from orchestrators.inbox import Steps
from orchestrators.locking import LockPolicy, acquire_lock, holding_lock

bp = df.Blueprint()

PARTNER_RETRY = retry(attempts=4, first_interval=timedelta(seconds=5))
LOCK = LockPolicy(
    lease=timedelta(hours=12), deadline=timedelta(days=30), max_poll=timedelta(hours=12)
)
REMINDER_EVERY = timedelta(days=3)
MAX_REMINDERS = 3
ESCALATE_AFTER = timedelta(days=2)
EXPIRE_AFTER = timedelta(days=10)
ACKNOWLEDGED_SINCE = "2.0"  # app version from which the claimant hears the claim arrived


@bp.orchestration_trigger(context_name="context", orchestration=Workflow.CLAIM.orchestrator)
def claim_orchestrator(context: df.DurableOrchestrationContext) -> Steps:
    """One claim per policy at a time: the policy lock is held from assessment to payout."""
    claim = ClaimRequest.model_validate(context.get_input())
    if version_at_least(context, ACKNOWLEDGED_SINCE):
        # Claims started before this version replay without the acknowledgement: inserting a
        # step ahead of recorded ones would break them (tests/histories, docs/releases.md).
        yield from _notify(context, claim, "claim_received", "received")
    resource = f"policy:{claim.policy_number}"
    lock = yield from acquire_lock(context, resource, LOCK, Stage.WAITING_FOR_POLICY)
    if not lock.granted:
        reason = f"policy {claim.policy_number} stayed busy with {lock.holder}"
        result = ClaimResult(
            claim_id=claim.claim_id, outcome=Outcome.LOCK_TIMEOUT, reasons=[reason]
        )
    else:
        result = yield from holding_lock(context, resource, _handle(context, claim))
    yield from set_stage(context, result.outcome.value)
    log(context, "claim %s ended %s", result.claim_id, result.outcome.value)
    return to_json(result)


def _handle(context: df.DurableOrchestrationContext, claim: ClaimRequest) -> Steps:
    yield from set_stage(context, Stage.ASSESSING)
    documents = [to_json(document) for document in claim.documents]
    *read, policy, fraud = yield context.task_all(
        [
            *_document_tasks(context, documents),
            context.call_activity_with_retry(
                Activity.LOOKUP_POLICY, PARTNER_RETRY, claim.policy_number
            ),
            context.call_activity_with_retry(Activity.SCORE_FRAUD, PARTNER_RETRY, to_json(claim)),
        ]
    )
    extractions, reviews = read[: len(documents)], read[len(documents) :]
    covered, _ = policy_covers(policy)
    if covered:
        extractions, more_reviews, gave_up = yield from _chase_documents(
            context, claim, policy, extractions
        )
        if gave_up:
            return (
                yield from _close(
                    context, claim, Outcome.ABANDONED, fraud["score"], reasons=[gave_up]
                )
            )
        reviews = reviews + more_reviews
    assessment = yield context.call_activity_with_retry(
        Activity.ASSESS,
        PARTNER_RETRY,
        {
            "amount": claim.amount,
            "fraudScore": fraud["score"],
            "policy": policy,
            "photoReviews": reviews,
        },
    )
    if assessment["route"] == "manual":
        decision = yield from _await_decision(context, claim, assessment["reasons"])
        if decision is None:
            return (yield from _close(context, claim, Outcome.EXPIRED, fraud["score"]))
    else:
        decision = {"decision": assessment["route"], "actor": to_json(SYSTEM), "comment": None}
    decided = {
        "decided_by": decision.get("actor"),
        "decided_at": context.current_utc_datetime,
        "comment": decision.get("comment"),
        "reasons": assessment["reasons"],
    }
    if decision["decision"] != "approve":
        return (yield from _close(context, claim, Outcome.REJECTED, fraud["score"], **decided))
    paid = amount_paid(claim.amount, policy)
    payout_id = None
    if paid > 0:
        yield from set_stage(context, Stage.PAYING)
        payout = yield context.call_activity_with_retry(
            Activity.PAY,
            PARTNER_RETRY,
            {
                "claimId": claim.claim_id,
                "amount": paid,
                "currency": claim.currency,
                "payee": to_json(claim.claimant),
                "idempotencyKey": f"{context.instance_id}:payout",
            },
        )
        payout_id = payout["payoutId"]
    return (
        yield from _close(
            context,
            claim,
            Outcome.APPROVED,
            fraud["score"],
            amount_paid=paid,
            payout_id=payout_id,
            **decided,
        )
    )


def _document_tasks(
    context: df.DurableOrchestrationContext, documents: list[dict[str, Any]]
) -> list[TaskBase]:
    """Extract every document, then review every photo: one task each, to run in parallel."""
    photos = [document for document in documents if document["kind"] == "photo"]
    return [
        *(
            context.call_activity_with_retry(Activity.EXTRACT_DOCUMENT, PARTNER_RETRY, d)
            for d in documents
        ),
        *(
            context.call_activity_with_retry(Activity.REVIEW_PHOTO, PARTNER_RETRY, p)
            for p in photos
        ),
    ]


def _chase_documents(
    context: df.DurableOrchestrationContext,
    claim: ClaimRequest,
    policy: dict[str, Any],
    extractions: list[dict[str, Any]],
) -> Steps:
    """Wait until the policy's required documents are in, within the claim's bounds.

    A reminder goes out every REMINDER_EVERY; after MAX_REMINDERS unanswered ones the claim is
    abandoned, and so it is when MAX_SUBMISSIONS submissions still leave a kind missing.
    Documents past MAX_DOCUMENTS_PER_CLAIM are not read (api/ refuses them; two submissions
    racing past its check are cut here). Returns (all extractions, reviews of the photos
    submitted later, why the claim was abandoned or None).
    """
    reviews: list[dict[str, Any]] = []
    reminders = submissions = 0
    documents = len(claim.documents)
    required = policy.get("requiredDocuments") or []
    while missing := missing_documents(required, extractions):
        if submissions == MAX_SUBMISSIONS:
            why = f"still missing {', '.join(missing)} after {MAX_SUBMISSIONS} submissions"
            return extractions, reviews, why
        remind_at = context.current_utc_datetime + REMINDER_EVERY
        yield from set_stage(
            context,
            Stage.AWAITING_DOCUMENTS,
            [Event.DOCUMENTS_SUBMITTED],
            missingDocuments=missing,
            reminders=reminders,
            submissionsLeft=MAX_SUBMISSIONS - submissions,
            documentsLeft=MAX_DOCUMENTS_PER_CLAIM - documents,
        )
        received = yield from wait_for_event(context, [Event.DOCUMENTS_SUBMITTED], remind_at)
        if received is None:
            if reminders == MAX_REMINDERS:
                return extractions, reviews, f"no answer to {MAX_REMINDERS} reminders"
            reminders += 1
            yield from _notify(
                context, claim, "claim_documents_reminder", f"reminder-{reminders}", missing=missing
            )
            continue
        record_action(context, Event.DOCUMENTS_SUBMITTED, received[1])
        submissions += 1
        submitted = received[1]["documents"][: MAX_DOCUMENTS_PER_CLAIM - documents]
        documents += len(submitted)
        read = (yield context.task_all(_document_tasks(context, submitted))) if submitted else []
        extractions = extractions + read[: len(submitted)]
        reviews = reviews + read[len(submitted) :]
    return extractions, reviews, None


def _await_decision(
    context: df.DurableOrchestrationContext, claim: ClaimRequest, reasons: list[str]
) -> Steps:
    """An adjuster's decision; escalates once after ESCALATE_AFTER, None after EXPIRE_AFTER."""
    started = context.current_utc_datetime
    escalated = False
    while True:
        deadline = started + (EXPIRE_AFTER if escalated else ESCALATE_AFTER)
        yield from set_stage(
            context,
            Stage.AWAITING_DECISION,
            [Event.CLAIM_DECISION],
            escalated=escalated,
            reasons=reasons,
        )
        received = yield from wait_for_event(context, [Event.CLAIM_DECISION], deadline)
        if received is not None:
            record_action(context, Event.CLAIM_DECISION, received[1])
            return received[1]
        if escalated:
            return None
        escalated = True
        yield from _notify(
            context, claim, "claim_escalated", "escalation", recipient="supervisor", reasons=reasons
        )


def _close(
    context: df.DurableOrchestrationContext,
    claim: ClaimRequest,
    outcome: Outcome,
    fraud_score: float,
    **fields: Any,
) -> Steps:
    """Tell the claimant the outcome and build the result."""
    result = ClaimResult(
        claim_id=claim.claim_id,
        outcome=outcome,
        fraud_score=fraud_score,
        actions=[TakenAction.model_validate(action) for action in taken_actions(context)],
        **fields,
    )
    summary: dict[str, Any] = {
        "outcome": outcome.value,
        "amountPaid": result.amount_paid,
        "payoutId": result.payout_id,
    }
    yield from _notify(context, claim, f"claim_{outcome.value}", "outcome", **summary)
    return result


def _notify(
    context: df.DurableOrchestrationContext,
    claim: ClaimRequest,
    template: str,
    step: str,
    recipient: str | None = None,
    **data: Any,
) -> Steps:
    """One message per (instance, step): a retried activity or a replay never sends twice."""
    yield context.call_activity_with_retry(
        Activity.NOTIFY,
        PARTNER_RETRY,
        {
            "recipient": recipient or claim.claimant.email,
            "template": template,
            "data": {"claimId": claim.claim_id, **data},
            "idempotencyKey": f"{context.instance_id}:notify:{step}",
        },
    )
