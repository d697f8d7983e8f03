"""Racing portal actions get honest answers: the instance takes one, the API says which.

Twenty supervisors decide one claim at the same moment. Durable delivers every event, and the
claim takes the first; the others must not be told "accepted" as if theirs had counted. The
API waits for the instance's verdict (api/verdict.py): one caller gets 202 `applied: true`,
the others 409 naming who decided and when, and the status lists exactly the decision that
counted.

A late decision can be refused at four moments, and each must give that same answer:
before its event is raised, the claim still running (paying) or finished; after, the claim
having taken another decision and gone on, or having finished (the event even arriving at a
finished instance: the extension's HandleRaiseEventRequestAsync answers 410 Gone). The
concurrent test meets whichever its timing brings; the tests after it pin each moment.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import azure.durable_functions as df
import httpx
import pytest
from azure.durable_functions.models.utils import http_utils

from api.common import raise_portal_event
from api.idempotency import IdempotentAction
from api.problems import ProblemError
from api.verdict import verdict
from domain.access import Actor
from domain.claims import DecisionRequest
from tests.e2e.conftest import App, assert_problem, local

CALLERS = 20
HELD = "CLM-HELD"
TAKEN = "CLM-TAKEN"
WEBHOOKS = "/runtime/webhooks/durabletask/"


@pytest.fixture(scope="module")
def app(start_app) -> App:
    """The app, with the payouts of CLM-HELD and CLM-TAKEN failing once: having taken its
    decision, such a claim stays in `paying` (the retry waits on a durable timer, and the
    clock is manual)."""
    rules = {f"payments.pay:{claim_id}": 1 for claim_id in (HELD, TAKEN)}
    return start_app(SIMULATOR_FAILURES=json.dumps(rules))


def awaiting_decision(app: App, claim_id: str) -> str:
    """Start a claim that needs a supervisor's decision; its path once it waits for one."""
    body = {
        "claimId": claim_id,
        "policyNumber": f"POL-{claim_id}",
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
    path = f"/api/claims/{claim_id}"
    assert app.http.post("/api/claims", json=body).status_code == 202
    app.wait_stage(path, "awaiting_decision")
    return path


def decide(http: httpx.Client, path: str, who: str, decision: str = "approve") -> httpx.Response:
    return http.post(f"{path}/decision", json={"decision": decision, "actor": who})


def the_decision(view: dict[str, Any]) -> dict[str, Any]:
    """The one ClaimDecision the instance lists as taken."""
    [decision] = [a for a in view["actions"] if a["event"] == "ClaimDecision"]
    return decision


def assert_told_who_decided(response: httpx.Response, decision: dict[str, Any]) -> None:
    """A 409 naming the supervisor whose decision counted, and when the claim took it."""
    detail = assert_problem(response, 409)["detail"]
    assert decision["by"]["name"] in detail and decision["at"] in detail, detail


def test_twenty_concurrent_decisions_one_counts_and_the_others_are_told_so(app: App):
    path = awaiting_decision(app, "CLM-RACE")
    start = threading.Barrier(CALLERS)

    def race(n: int) -> httpx.Response:
        with app.host.client(timeout=60.0) as http:
            start.wait()
            return decide(http, path, f"supervisor-{n}", "approve" if n % 2 else "reject")

    with ThreadPoolExecutor(CALLERS) as pool:
        answers = list(pool.map(race, range(CALLERS)))

    counted = [(n, r.json()) for n, r in enumerate(answers) if r.status_code == 202]
    assert len(counted) == 1, [(r.status_code, r.text) for r in answers]
    [(winner, accepted)] = counted
    assert accepted["applied"] is True and accepted["by"] == local(f"supervisor-{winner}")
    out = app.wait_done(path)["output"]
    decision = the_decision(out)
    assert (decision["by"]["name"], decision["actionId"]) == (
        f"supervisor-{winner}",
        accepted["actionId"],
    )
    for n, response in enumerate(answers):
        if n != winner:
            assert_told_who_decided(response, decision)
    assert out["decidedBy"] == local(f"supervisor-{winner}")
    assert out["outcome"] == ("approved" if winner % 2 else "rejected")


def test_a_decision_on_a_finished_claim_is_told_who_decided_and_when(app: App):
    path = awaiting_decision(app, "CLM-LATE")
    assert decide(app.http, path, "supervisor-1", "reject").status_code == 202
    decision = the_decision(app.wait_done(path))

    assert_told_who_decided(decide(app.http, path, "supervisor-2"), decision)

    out = app.view(path)["output"]
    assert out["outcome"] == "rejected" and out["decidedBy"] == local("supervisor-1")
    assert the_decision(out) == decision


def test_a_decision_on_a_claim_paying_out_is_told_who_decided_and_when(app: App):
    path = awaiting_decision(app, HELD)
    assert decide(app.http, path, "supervisor-1").status_code == 202
    decision = the_decision(app.wait_stage(path, "paying"))

    assert_told_who_decided(decide(app.http, path, "supervisor-2"), decision)

    app.advance(minutes=1)  # the payout's retry
    out = app.wait_done(path)["output"]
    assert out["outcome"] == "approved" and out["decidedBy"] == local("supervisor-1")
    assert len(app.ledger("payout", claimId=HELD)) == 1


def sdk_client(app: App) -> df.DurableOrchestrationClient:
    """The SDK's own client, bound to the host as a durableClient binding is (devhost serves
    its RPC calls with the webhooks' handlers)."""
    base = app.host.base_url + WEBHOOKS
    binding = {"taskHubName": "", "creationUrls": {}, "managementUrls": {}, "baseUrl": base}
    return df.DurableOrchestrationClient(json.dumps({**binding, "rpcBaseUrl": base}))


def refusal_of(app: App, late) -> ProblemError:
    """What the API raises for a late decision once its event is raised: `late(client)`."""

    async def run() -> None:
        try:
            await late(sdk_client(app))
        finally:  # the SDK keeps one aiohttp session per process, bound to this loop
            await http_utils._close_session()

    with pytest.raises(ProblemError) as refused:
        asyncio.run(run())
    return refused.value


def assert_refusal_names(refused: ProblemError, decision: dict[str, Any]) -> None:
    problem = refused.problem
    assert problem.status == 409, problem
    assert decision["by"]["name"] in problem.detail and decision["at"] in problem.detail, problem


def without_key(instance_id: str) -> IdempotentAction:
    """A portal action sent without an Idempotency-Key: a fresh action id of its own."""
    entity = df.EntityId("idempotency", instance_id)
    return IdempotentAction(None, None, "", uuid.uuid4().hex, entity, None)


def status_now(app: App, instance_id: str) -> df.DurableOrchestrationStatus:
    """The instance's status as the SDK's client reads it."""

    async def read() -> df.DurableOrchestrationStatus:
        try:
            return await sdk_client(app).get_status(instance_id)
        finally:
            await http_utils._close_session()

    return asyncio.run(read())


def test_a_decision_raised_as_the_claim_finishes_is_told_who_decided_and_when(app: App):
    """The caller was let in while the claim waited, and its event reaches it finished: the
    extension answers 410 Gone (HttpApiHandler.HandleRaiseEventRequestAsync), on which the SDK's
    raise_event raises. The caller is told what any late one is."""
    path = awaiting_decision(app, "CLM-GONE")
    seen = status_now(app, "claim-CLM-GONE")  # what the late caller read: still waiting
    assert decide(app.http, path, "supervisor-1", "reject").status_code == 202
    decision = the_decision(app.wait_done(path))
    body = DecisionRequest(decision="approve")
    late = Actor(name="supervisor-2", source="body")

    refused = refusal_of(
        app,
        lambda client: raise_portal_event(
            client, seen, "ClaimDecision", body, late, path, without_key("claim-CLM-GONE")
        ),
    )

    assert_refusal_names(refused, decision)
    assert the_decision(app.view(path)["output"]) == decision


def test_a_decision_raised_as_another_is_taken_is_told_who_decided_and_when(app: App):
    """The caller was let in while the claim waited (it listed no decision yet), and its event
    reaches it after another's was taken: the claim, paying out, waits for no decision."""
    path = awaiting_decision(app, TAKEN)
    assert decide(app.http, path, "supervisor-1").status_code == 202
    decision = the_decision(app.wait_stage(path, "paying"))
    instance = f"claim-{TAKEN}"

    refused = refusal_of(
        app,
        lambda client: verdict(
            client, instance, "ClaimDecision", "ClaimDecision", uuid.uuid4().hex, url=path
        ),
    )

    assert_refusal_names(refused, decision)
    app.advance(minutes=1)
    assert app.wait_done(path)["output"]["decidedBy"] == local("supervisor-1")
