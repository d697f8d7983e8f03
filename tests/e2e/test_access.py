"""Who may act, as Azure runs the app: the actor field off, identity only from sign-in.

Every portal action against every role (allowed, 401, 403), refusals that leave the instance
untouched, and the segregation rule for return-to-service approvals. The app reads the
principal App Service Authentication passes in `X-MS-CLIENT-PRINCIPAL`; here devhost passes
the test's header through, as Azure's front end does once it has validated a token; the last
test runs behind devhost's emulation of App Service Authentication, where a forged header
counts for nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from domain.roles import Role
from tests.e2e.conftest import App, assert_problem, principal, signed

# (path under /api/<collection>/<id>, the Durable event, a valid body)
ACTIONS = {
    "claims/{id}/documents": (
        "DocumentsSubmitted",
        {"documents": [{"documentId": "P9", "kind": "photo", "url": "https://f.example/p9.jpg"}]},
    ),
    "claims/{id}/decision": ("ClaimDecision", {"decision": "approve"}),
    "shipments/{id}/cancel": ("Cancel", {"reason": "no longer needed"}),
    "shipments/{id}/pickup": ("PickupConfirmed", {}),
    "shipments/{id}/delivery": ("Delivered", {"receivedBy": "Dock 3"}),
    "maintenance-orders/{id}/parts-received": ("PartsReceived", {"taskId": "T1"}),
    "maintenance-orders/{id}/approval": ("ReturnToServiceApproval", {"approved": True}),
}
# Who may take each action: the matrix, written out independently of domain/.
ALLOWED = {
    "DocumentsSubmitted": {"Claims.Adjuster"},
    "ClaimDecision": {"Claims.Supervisor"},
    "Cancel": {"Shipments.Dispatcher"},
    "PickupConfirmed": {"Shipments.Dispatcher", "carrier application"},
    "Delivered": {"Shipments.Dispatcher", "carrier application"},
    "PartsReceived": {"Maintenance.Controller"},
    "ReturnToServiceApproval": {"Maintenance.CertifyingInspector"},
}
CALLERS = {
    **{role.value: principal(f"user-{role.name.lower()}", role) for role in Role},
    "carrier application": principal("carrier-app", Role.CARRIER, app=True),
    "no roles": principal("nobody@contoso.com"),
}


@pytest.fixture(scope="module")
def secured(start_app) -> App:
    return start_app(ACCEPT_ACTOR_FIELD="false")


@pytest.mark.parametrize("route", ACTIONS)
def test_every_action_against_every_role(secured: App, route: str):
    """Allowed callers get past sign-in and roles to the instance lookup (404 for an id that
    does not exist); everyone else is stopped first, with the roles needed named."""
    event, body = ACTIONS[route]
    url = "/api/" + route.format(id="NOBODY-1")
    problem = assert_problem(secured.http.post(url, json=body), 401)
    assert set(problem["requiredRoles"]) == ALLOWED[event] - {"carrier application"} | (
        {"Shipments.Carrier"} if "carrier application" in ALLOWED[event] else set()
    )
    for caller, headers in CALLERS.items():
        response = secured.http.post(url, json=body, headers=headers)
        expected = 404 if caller in ALLOWED[event] else 403
        assert response.status_code == expected, (caller, response.text)
        if expected == 403:
            assert set(assert_problem(response, 403)["requiredRoles"]) == set(
                problem["requiredRoles"]
            )


def claim(claim_id: str, policy: str) -> dict:
    return {
        "claimId": claim_id,
        "policyNumber": policy,
        "claimant": {"name": "Ada", "email": "ada@example.com"},
        "lossDate": "2025-03-01",
        "amount": 9000,
        "currency": "EUR",
        "description": "Water damage",
        "documents": [
            {"documentId": "I1", "kind": "invoice", "url": "https://f.example/i1.pdf"},
            {"documentId": "P1", "kind": "photo", "url": "https://f.example/p1.jpg"},
        ],
    }


def raised(app: App, instance_id: str, http: httpx.Client | None = None) -> list[str]:
    """Names of the external events the instance received (its history, by the Durable API;
    behind App Service Authentication through a signed-in `http`, as the webhooks are gated)."""
    response = (http or app.http).get(
        f"/runtime/webhooks/durabletask/instances/{instance_id}", params={"showHistory": "true"}
    )
    assert response.status_code in (200, 202), response.text
    events = response.json()["historyEvents"]
    return [event["Name"] for event in events if event["EventType"] == "EventRaised"]


def test_refused_callers_raise_nothing_and_the_supervisor_is_recorded(secured: App):
    path = "/api/claims/CLM-ACL"
    assert secured.http.post("/api/claims", json=claim("CLM-ACL", "POL-ACL")).status_code == 202
    secured.wait_stage(path, "awaiting_decision")
    decision = {"decision": "reject", "comment": "not covered"}
    assert_problem(secured.http.post(f"{path}/decision", json=decision), 401)
    adjuster = CALLERS["Claims.Adjuster"]
    assert_problem(secured.http.post(f"{path}/decision", json=decision, headers=adjuster), 403)
    carrier = CALLERS["carrier application"]
    assert_problem(secured.http.post(f"{path}/decision", json=decision, headers=carrier), 403)
    # The actor field is refused here: who acts comes from sign-in alone.
    supervisor = principal("sam@contoso.com", Role.CLAIMS_SUPERVISOR, object_id="oid-sam")
    named = {**decision, "actor": "someone else"}
    refused = secured.http.post(f"{path}/decision", json=named, headers=supervisor)
    assert_problem(refused, 400, "actor")
    view = secured.view(path)
    assert view["stage"] == "awaiting_decision" and view["waitingFor"] == ["ClaimDecision"]
    assert "ClaimDecision" not in raised(secured, "claim-CLM-ACL")

    answer = secured.http.post(f"{path}/decision", json=decision, headers=supervisor)
    assert answer.status_code == 202, answer.text
    out = secured.wait_done(path)["output"]
    assert out["outcome"] == "rejected"
    assert out["decidedBy"] == signed(
        "sam@contoso.com", Role.CLAIMS_SUPERVISOR, object_id="oid-sam"
    )
    assert raised(secured, "claim-CLM-ACL").count("ClaimDecision") == 1


def order(order_id: str, tail: str, requested_by: str) -> dict:
    return {
        "orderId": order_id,
        "tailNumber": tail,
        "aircraftType": "A320neo",
        "requestedBy": requested_by,
        "tasks": [
            {
                "taskId": "T1",
                "description": "Replace brake assembly",
                "parts": [{"partNumber": "BRK-100", "quantity": 2}],
            }
        ],
    }


def test_whoever_requested_an_order_cannot_approve_its_return_to_service(secured: App):
    inspector = Role.CERTIFYING_INSPECTOR
    kim = principal("kim@airline.example", inspector, object_id="oid-kim")
    path = "/api/maintenance-orders/MO-SEG"
    body = order("MO-SEG", "D-ASEG", "ops@airline.example")
    assert secured.http.post("/api/maintenance-orders", json=body, headers=kim).status_code == 202
    secured.wait_stage(path, "awaiting_return_to_service")
    approve = {"approved": True}
    # The one who started it, even under another display name, and the one it names.
    kim_renamed = principal("Kim K.", inspector, object_id="oid-kim")
    ops = principal("OPS@airline.example", inspector, object_id="oid-ops")
    for requester in (kim, kim_renamed, ops):
        refused = secured.http.post(f"{path}/approval", json=approve, headers=requester)
        assert "requested" in assert_problem(refused, 403)["detail"]
    assert secured.view(path)["waitingFor"] == ["ReturnToServiceApproval"]

    lee = principal("lee@airline.example", inspector, object_id="oid-lee")
    answer = secured.http.post(f"{path}/approval", json=approve, headers=lee)
    assert answer.status_code == 202, answer.text
    out = secured.wait_done(path)["output"]
    assert out["outcome"] == "returned_to_service"
    assert out["approvedBy"] == signed("lee@airline.example", inspector, object_id="oid-lee")


@pytest.fixture(scope="module")
def behind_easyauth(start_app) -> App:
    """The app as Azure serves it: devhost emulating App Service Authentication."""
    return start_app("--easyauth", ACCEPT_ACTOR_FIELD="false")


@contextmanager
def browser(app: App, name: str = "", *roles: str) -> Iterator[httpx.Client]:
    """A browser on the app, signed in on devhost's sign-in page when `name` is given."""
    with app.host.client() as session:
        if name:
            form = {"name": name, "roles": "\n".join(roles)}
            assert session.post("/.auth/login/aad", data=form).status_code == 302
        yield session


def test_a_forged_principal_header_counts_for_nothing_behind_app_service_authentication(
    behind_easyauth: App,
):
    app = behind_easyauth
    path = "/api/claims/CLM-FORGED"
    forged = principal("boss@contoso.com", Role.CLAIMS_SUPERVISOR)
    decision = {"decision": "approve"}
    with (
        browser(app) as anonymous,
        browser(app, "ada@contoso.com", Role.CLAIMS_ADJUSTER) as adjuster,
        browser(app, "sam@contoso.com", Role.CLAIMS_SUPERVISOR) as supervisor,
    ):
        assert anonymous.post("/api/claims", json=claim("CLM-FORGED", "POL-F")).status_code == 401
        assert adjuster.post("/api/claims", json=claim("CLM-FORGED", "POL-F")).status_code == 202
        app.host.wait_until(
            lambda: supervisor.get(path).json()["stage"] == "awaiting_decision",
            message="the claim to wait for a decision",
        )
        # Nobody signed in: the platform answers before the app runs.
        assert anonymous.post(f"{path}/decision", json=decision, headers=forged).status_code == 401
        # Signed in as an adjuster: the forged supervisor header is dropped, the adjuster stays.
        refused = adjuster.post(f"{path}/decision", json=decision, headers=forged)
        assert "ada@contoso.com" in assert_problem(refused, 403)["detail"]
        assert "ClaimDecision" not in raised(app, "claim-CLM-FORGED", supervisor)
        me = supervisor.get("/api/me").json()
        assert (me["name"], me["roles"]) == ("sam@contoso.com", [Role.CLAIMS_SUPERVISOR])
        assert supervisor.post(f"{path}/decision", json=decision).status_code == 202
        out = app.host.wait_until(
            lambda: supervisor.get(path).json()["output"], message="the claim's outcome"
        )
    oid = me["objectId"]
    assert out["decidedBy"] == signed("sam@contoso.com", Role.CLAIMS_SUPERVISOR, object_id=oid)
