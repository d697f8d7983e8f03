"""Claims over HTTP: start, status, documents submitted later, an adjuster's decision."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from api import openapi
from api.common import (
    deliver_event,
    handle_errors,
    parse_body,
    route_id,
    start_workflow,
    status_response,
)
from domain.claims import (
    ClaimRequest,
    DecisionRequest,
    DocumentsSubmission,
    submission_refusal,
)
from domain.common import Workflow, to_json
from domain.views import Accepted, Problem, Started, StatusView

bp = df.Blueprint()
CLAIM = Workflow.CLAIM


@bp.route(route="claims", methods=["POST"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def start_claim(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """Validate the claim and start its workflow under `claim-<claimId>`."""
    claim = parse_body(req, ClaimRequest)
    return await start_workflow(req, client, CLAIM, claim.claim_id, to_json(claim))


@bp.route(route="claims/{claimId}", methods=["GET"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def get_claim(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """Where the claim stands, and its outcome once decided."""
    return await status_response(client, CLAIM, route_id(req, "claimId"))


@bp.route(route="claims/{claimId}/documents", methods=["POST"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def submit_documents(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """Documents the claim was waiting for, sent by a claims adjuster."""
    claim_id = route_id(req, "claimId")
    return await deliver_event(
        req,
        client,
        CLAIM,
        claim_id,
        "DocumentsSubmitted",
        DocumentsSubmission,
        admit=lambda waiting, body: submission_refusal(waiting, len(body.documents)),
    )


@bp.route(route="claims/{claimId}/decision", methods=["POST"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def decide_claim(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """A claims supervisor approves or rejects; who decided is recorded as decidedBy."""
    claim_id = route_id(req, "claimId")
    return await deliver_event(req, client, CLAIM, claim_id, "ClaimDecision", DecisionRequest)


openapi.workflow(
    "claims",
    "claimId",
    tag="claims",
    start=ClaimRequest,
    started=Started,
    status=StatusView,
    problem=Problem,
    accepted=Accepted,
    actions={
        "documents": ("Submit missing documents", DocumentsSubmission, "DocumentsSubmitted"),
        "decision": ("Approve or reject a claim", DecisionRequest, "ClaimDecision"),
    },
)
