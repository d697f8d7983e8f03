"""Who may act: reading the App Service principal, the roles per action, the actor field,
and the segregation rule for return-to-service approvals."""

from __future__ import annotations

import base64
import json

import azure.functions as func
import pytest

from api.identity import acting, authorize, principal
from api.problems import ProblemError
from domain.access import SYSTEM, Actor, is_requester, missing_roles
from domain.claims import DecisionRequest
from domain.roles import Role
from domain.workflows import ACTION_ROLES, roles_for

NAME = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
ROLE_URI = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"


def header(data) -> dict[str, str]:
    return {"X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps(data).encode()).decode()}


def request(headers=None) -> func.HttpRequest:
    return func.HttpRequest("POST", "http://localhost/api/x", headers=headers or {}, body=b"{}")


def easy_auth(*claims: tuple[str, str]) -> dict[str, str]:
    """A principal shaped as App Service sends it for Entra ID (auth_typ aad)."""
    return header(
        {
            "auth_typ": "aad",
            "name_typ": NAME,
            "role_typ": ROLE_URI,
            "claims": [{"typ": typ, "val": val} for typ, val in claims],
        }
    )


def problem(error: pytest.ExceptionInfo[ProblemError]) -> dict:
    return error.value.problem.model_dump(by_alias=True, exclude_none=True)


def test_a_user_principal_gives_name_object_id_roles_and_provider():
    actor = principal(
        request(
            easy_auth(
                (NAME, "grace@contoso.com"),
                (OID, "0b7c-42"),
                ("roles", "Claims.Supervisor"),
                (ROLE_URI, "Claims.Adjuster"),
                ("roles", "Claims.Supervisor"),
            )
        )
    )
    assert actor == Actor(
        name="grace@contoso.com",
        object_id="0b7c-42",
        roles=["Claims.Supervisor", "Claims.Adjuster"],
        identity_provider="aad",
        kind="user",
        source="principal",
    )


def test_an_application_signed_in_with_client_credentials_is_named_by_its_client_id():
    actor = principal(
        request(
            easy_auth(("azp", "carrier-app-id"), ("idtyp", "app"), ("roles", "Shipments.Carrier"))
        )
    )
    assert (actor.name, actor.kind, actor.roles) == (
        "carrier-app-id",
        "application",
        ["Shipments.Carrier"],
    )


@pytest.mark.parametrize(
    "headers, what",
    [
        ({"X-MS-CLIENT-PRINCIPAL": "%%%not-base64"}, "base64"),
        (header(["a list"]), "client principal"),
        (easy_auth(("roles", "Claims.Supervisor")), "names no user"),
        (easy_auth((NAME, "x" * 500)), "unusable identity"),
        (easy_auth((NAME, "System")), "reserved"),
    ],
)
def test_a_broken_principal_is_a_400_naming_the_header(headers, what):
    with pytest.raises(ProblemError) as error:
        principal(request(headers))
    body = problem(error)
    assert body["status"] == 400 and what in body["detail"]
    assert body["errors"][0]["field"] == "X-MS-CLIENT-PRINCIPAL"


def test_without_sign_in_an_action_is_401_naming_the_roles(monkeypatch):
    monkeypatch.delenv("ACCEPT_ACTOR_FIELD", raising=False)
    with pytest.raises(ProblemError) as error:
        authorize(request(), "ClaimDecision")
    body = problem(error)
    assert body["status"] == 401 and body["requiredRoles"] == ["Claims.Supervisor"]


def test_a_caller_without_the_role_is_403_naming_what_it_holds_and_needs():
    adjuster = easy_auth((NAME, "ada"), ("roles", "Claims.Adjuster"))
    with pytest.raises(ProblemError) as error:
        authorize(request(adjuster), "ClaimDecision")
    body = problem(error)
    assert body["status"] == 403 and body["requiredRoles"] == ["Claims.Supervisor"]
    assert "Claims.Adjuster" in body["detail"] and "ada" in body["detail"]


def test_the_carrier_role_counts_only_for_an_application():
    person = Actor(name="eve", roles=[Role.CARRIER])
    system = Actor(name="carrier-app", roles=[Role.CARRIER], kind="application")
    assert missing_roles(person, roles_for("PickupConfirmed")) == {Role.DISPATCHER, Role.CARRIER}
    assert not missing_roles(system, roles_for("PickupConfirmed"))
    assert missing_roles(system, roles_for("Cancel")) == {Role.DISPATCHER}


def test_every_action_names_roles_that_exist():
    assert set(ACTION_ROLES) == {
        "DocumentsSubmitted",
        "ClaimDecision",
        "Cancel",
        "PickupConfirmed",
        "Delivered",
        "PartsReceived",
        "ReturnToServiceApproval",
    }
    assert all(roles and roles <= set(Role) for roles in ACTION_ROLES.values())


def test_the_actor_field_only_where_the_setting_allows_it(monkeypatch):
    monkeypatch.setenv("ACCEPT_ACTOR_FIELD", "true")
    assert authorize(request(), "ClaimDecision") is None
    assert acting(None, "ops") == Actor(name="ops", source="body")
    with pytest.raises(ProblemError) as error:
        acting(None, None)
    assert problem(error)["errors"][0]["field"] == "actor"
    monkeypatch.setenv("ACCEPT_ACTOR_FIELD", "false")
    signed = Actor(name="grace", roles=[Role.CLAIMS_SUPERVISOR])
    with pytest.raises(ProblemError) as error:
        acting(signed, "someone else")
    assert problem(error)["status"] == 400 and problem(error)["errors"][0]["field"] == "actor"
    assert acting(signed, None) is signed


def test_nobody_signs_as_system():
    with pytest.raises(ValueError, match="reserved"):
        DecisionRequest.model_validate({"decision": "approve", "actor": " SYSTEM "})
    with pytest.raises(ValueError, match="reserved"):
        Actor(name="system", source="body")
    with pytest.raises(ValueError):
        Actor(name="robot", kind="workflow", source="body")
    assert SYSTEM.kind == "workflow" and SYSTEM.source == "workflow"


def test_the_requester_of_an_order_may_not_approve_it():
    kim = Actor(name="kim@contoso.com", object_id="oid-kim")
    renamed_kim = Actor(name="Kim K.", object_id="oid-kim")
    lee = Actor(name="lee@contoso.com", object_id="oid-lee")
    assert is_requester(kim, "KIM@contoso.com", None)
    assert is_requester(renamed_kim, "ops@example.com", kim)
    assert not is_requester(lee, "ops@example.com", kim)
