"""App Service Authentication as devhost emulates it (`--easyauth`): what Azure's front end
does before a request reaches the app.

Azure documents the behaviour in "Work with user identities in Azure App Service
authentication": the platform injects X-MS-CLIENT-PRINCIPAL (base64 JSON with auth_typ,
claims[{typ, val}], name_typ, role_typ), -NAME, -ID and -IDP, and "external requests aren't
allowed to set these headers"; /.auth/login/<provider>, /.auth/me and /.auth/logout are its
endpoints; with unauthenticatedClientAction Return401 a request without a session gets 401.
Entra ID's app roles arrive as `roles` claims (AzureAD/microsoft-identity-web#2166).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.conftest import RunningHost
from tests.devhost.support import SAMPLER

ECHO = "/api/echo/a/1/x"
FORGED = {
    "X-MS-CLIENT-PRINCIPAL": base64.b64encode(
        json.dumps({"auth_typ": "aad", "claims": [{"typ": "roles", "val": "Admin"}]}).encode()
    ).decode(),
    "X-MS-CLIENT-PRINCIPAL-NAME": "mallory",
    "X-MS-TOKEN-AAD-ACCESS-TOKEN": "forged",
}


@pytest.fixture(scope="module")
def host(devhost_factory) -> RunningHost:
    return devhost_factory(
        SAMPLER,
        "--easyauth",
        "--easyauth-anonymous",
        "/api/query",
        "--easyauth-anonymous",
        "/api/entities/*",
    )


@contextmanager
def sign_in(host: RunningHost, name: str, *roles: str, **form: str) -> Iterator[httpx.Client]:
    """A browser that filled in the local sign-in page."""
    with host.client() as browser:
        data = {"name": name, "roles": "\n".join(roles), **form}
        answer = browser.post("/.auth/login/aad", data=data)
        assert answer.status_code == 302, answer.text
        yield browser


def identity(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 201, response.text
    return response.json()["identity"]


def test_without_a_session_app_routes_answer_401_and_forged_headers_do_not_help(host):
    with host.client() as anonymous:
        for headers in ({}, FORGED):
            refused = anonymous.get(ECHO, headers=headers)
            assert refused.status_code == 401
            assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert anonymous.get("/.auth/me").status_code == 401
        # The host's own endpoints are not the app's: they stay reachable.
        assert anonymous.get("/admin/host/status").status_code == 200


def test_an_excluded_path_is_served_without_sign_in_but_never_with_a_forged_identity(host):
    with host.client() as anonymous:
        response = anonymous.get("/api/query", headers=FORGED)
        assert response.status_code == 200, response.text
        # `/dir/*` excludes everything below it, not the folder's neighbours.
        assert anonymous.get("/api/entities/counter-1").status_code != 401
        assert anonymous.get("/api/query/more").status_code == 401


def test_the_sign_in_page_is_a_form_that_returns_to_where_the_user_was(host):
    with host.client() as browser:
        page = browser.get("/.auth/login/aad", params={"post_login_redirect_uri": "/api/x?a=1&b"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert 'name="roles"' in page.text and 'name="application"' in page.text
        assert 'value="/api/x?a=1&amp;b"' in page.text
        done = browser.post(
            "/.auth/login/aad", data={"name": "ada", "post_login_redirect_uri": "/api/x"}
        )
        assert (done.status_code, done.headers["location"]) == (302, "/api/x")
        elsewhere = {"name": "ada", "post_login_redirect_uri": "https://evil.example/"}
        assert browser.post("/.auth/login/aad", data=elsewhere).headers["location"] == (
            "/.auth/login/done"
        )
        assert browser.post("/.auth/login/aad", data={"name": ""}).status_code == 400


def test_a_signed_in_user_reaches_the_app_with_the_platform_headers_only(host):
    with sign_in(host, "grace@contoso.com", "Claims.Supervisor", "Claims.Adjuster") as grace:
        seen = identity(grace.get(ECHO, headers=FORGED))
        assert "x-ms-token-aad-access-token" not in seen
        assert seen["x-ms-client-principal-name"] == "grace@contoso.com"
        assert seen["x-ms-client-principal-idp"] == "aad"
        principal = json.loads(base64.b64decode(seen["x-ms-client-principal"]))
        assert principal["auth_typ"] == "aad"
        assert (
            principal["role_typ"] == "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
        )
        claims = [(claim["typ"], claim["val"]) for claim in principal["claims"]]
        assert (principal["name_typ"], "grace@contoso.com") in claims
        assert [val for typ, val in claims if typ == "roles"] == [
            "Claims.Supervisor",
            "Claims.Adjuster",
        ]
        oid = "http://schemas.microsoft.com/identity/claims/objectidentifier"
        assert (oid, seen["x-ms-client-principal-id"]) in claims
        [me] = grace.get("/.auth/me").json()
        assert me["provider_name"] == "aad" and me["user_id"] == "grace@contoso.com"
        assert {"typ": "roles", "val": "Claims.Supervisor"} in me["user_claims"]


def test_the_same_name_keeps_its_object_id_and_an_application_says_so(host):
    with sign_in(host, "kim") as first, sign_in(host, "kim") as second:
        ids = {identity(c.get(ECHO))["x-ms-client-principal-id"] for c in (first, second)}
        assert len(ids) == 1
    with sign_in(host, "carrier-app-id", "Shipments.Carrier", application="on") as carrier:
        principal = json.loads(
            base64.b64decode(identity(carrier.get(ECHO))["x-ms-client-principal"])
        )
        claims = {(claim["typ"], claim["val"]) for claim in principal["claims"]}
        assert {("idtyp", "app"), ("azp", "carrier-app-id")} <= claims


def test_a_tampered_session_is_no_session_and_logout_ends_one(host):
    with sign_in(host, "ada", "Claims.Adjuster") as ada:
        token = ada.cookies["AppServiceAuthSession"]
        body, _, signature = token.partition(".")
        promoted = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        promoted[2] = ["Claims.Supervisor"]
        forged_body = base64.urlsafe_b64encode(json.dumps(promoted).encode()).decode().rstrip("=")
        with host.client() as mallory:
            mallory.cookies.set("AppServiceAuthSession", f"{forged_body}.{signature}")
            assert mallory.get(ECHO).status_code == 401
        # A non-browser client may send the session token in X-ZUMO-AUTH, as App Service allows.
        with host.client() as script:
            seen = identity(script.get(ECHO, headers={"X-ZUMO-AUTH": token}))
            assert seen["x-ms-client-principal-name"] == "ada"
        out = ada.get("/.auth/logout", params={"post_logout_redirect_uri": "/bye"})
        assert (out.status_code, out.headers["location"]) == (302, "/bye")
        assert ada.get(ECHO).status_code == 401
