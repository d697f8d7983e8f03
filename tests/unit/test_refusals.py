"""The 409 a portal action gets says where the instance stands in words a support desk reads."""

from __future__ import annotations

from azure.durable_functions.models.DurableOrchestrationStatus import (
    DurableOrchestrationStatus,
)

from api.verdict import refusal


def status(custom: dict | None) -> DurableOrchestrationStatus:
    """A running claim as the status endpoint reports it (the SDK reads an answer without a
    createdTime as no instance at all)."""
    return DurableOrchestrationStatus.from_json(
        {"name": "claim_orchestrator", "instanceId": "claim-A", "runtimeStatus": "Running",
         "createdTime": "2026-11-30T09:00:00Z", "customStatus": custom}
    )  # fmt: skip


def test_a_claim_that_has_not_reached_a_stage_is_said_to_be_before_its_first():
    refused = refusal("claim-A", status(None), "ClaimDecision", "https://app/api/claims/A")
    assert refused.problem.status == 409
    assert refused.problem.detail == (
        "claim-A is Running before its first stage and waits for nothing, not ClaimDecision."
    )


def test_a_claim_at_a_stage_names_it_and_what_it_waits_for():
    waiting = {"stage": "awaiting_documents", "waitingFor": ["DocumentsSubmitted"]}
    refused = refusal("claim-A", status(waiting), "ClaimDecision", "https://app/api/claims/A")
    assert refused.problem.detail == (
        "claim-A is Running at stage 'awaiting_documents' and waits for DocumentsSubmitted,"
        " not ClaimDecision."
    )
