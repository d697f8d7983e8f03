"""One sign-in model, fail-closed: people and partner systems sign in with Entra ID, nobody
holds a function key, and in Azure the app refuses whatever the platform did not sign in.

The app knows it runs in Azure from `WEBSITE_SITE_NAME` and that App Service Authentication is
on from `WEBSITE_AUTH_ENABLED` (App Service sets both; devhost's `--easyauth` sets the second).
Here the app runs as in Azure (`WEBSITE_SITE_NAME` set, keys required, the actor field off):

- with App Service Authentication (`--easyauth`), a signed-in caller with a role works with no
  key, an unsigned request is 401 at the edge, one without a role of this app is 403;
- misconfigured, letting every path through without sign-in, the app still answers 401;
- with App Service Authentication off, the app takes nothing, not even a request that forges
  the principal header (503).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.e2e.conftest import App, assert_problem, principal
from tests.e2e.test_claims import claim

AZURE = {"WEBSITE_SITE_NAME": "workflows-test", "ACCEPT_ACTOR_FIELD": "false"}
SUPERVISOR = {"name": "grace@contoso.com", "roles": "Claims.Supervisor"}


@contextmanager
def sign_in(app: App, name: str, roles: str) -> Iterator[httpx.Client]:
    """A browser session through the emulated Entra ID sign-in page."""
    with app.host.client() as http:
        form = {"name": name, "roles": roles}
        assert http.post("/.auth/login/aad", data=form).status_code == 302
        yield http


@pytest.fixture(scope="module")
def azure(start_app) -> App:
    return start_app("--easyauth", "--require-keys", **AZURE)


@pytest.fixture(scope="module")
def wide_open(start_app) -> App:
    """Easy Auth on but excluding every path: a misconfiguration that lets anyone through."""
    return start_app("--easyauth", "--easyauth-anonymous", "/api/*", "--require-keys", **AZURE)


@pytest.fixture(scope="module")
def auth_off(start_app) -> App:
    """App Service Authentication disabled on the site."""
    return start_app("--require-keys", **AZURE)


def test_a_signed_in_supervisor_works_with_no_key_and_sees_who_they_are(azure: App):
    with sign_in(azure, **SUPERVISOR) as grace:
        me = grace.get("/api/me")
        assert me.status_code == 200, me.text
        body = me.json()
        assert (body["name"], body["roles"], body["signedIn"]) == (
            "grace@contoso.com",
            ["Claims.Supervisor"],
            True,
        )
        assert body["actions"]["ClaimDecision"] == {"allowed": True, "needs": ["Claims.Supervisor"]}
        assert body["actions"]["DocumentsSubmitted"]["allowed"] is False
        assert grace.post("/api/claims", json=claim("CLM-SIGNED", "POL-SIGNED")).status_code == 202
        assert grace.get("/api/claims/CLM-SIGNED").status_code == 200
        assert grace.get("/api/console").status_code == 200


def test_an_unsigned_request_is_refused_at_the_edge(azure: App):
    refused = azure.http.get("/api/claims/CLM-ANY")
    assert refused.status_code == 401
    assert "json" not in refused.headers.get("content-type", "")  # the platform, not the app
    assert azure.http.get("/api/console").status_code == 401  # only the Bicep's excludedPaths


def test_a_signed_in_account_without_a_role_of_this_app_gets_nothing(azure: App):
    with sign_in(azure, "guest@contoso.com", "") as guest:
        problem = assert_problem(guest.get("/api/workflows"), 403)
        assert "holds no role of this app" in problem["detail"]


def test_easy_auth_letting_everyone_through_still_opens_nothing(wide_open: App):
    problem = assert_problem(wide_open.http.get("/api/workflows"), 401)
    assert "Sign in" in problem["detail"]
    assert_problem(wide_open.http.post("/api/claims", json=claim("CLM-OPEN", "POL-OPEN")), 401)
    assert wide_open.http.get("/api/console").status_code == 200  # the page: it has no data


def test_with_sign_in_off_the_app_takes_nothing_even_a_forged_principal(auth_off: App):
    forged = principal("mallory", "Claims.Supervisor")
    for response in (
        auth_off.http.get("/api/workflows"),
        auth_off.http.get("/api/workflows", headers=forged),
        auth_off.http.post("/api/claims", json=claim("CLM-FORGED", "POL-F"), headers=forged),
    ):
        problem = assert_problem(response, 503)
        assert "App Service Authentication is off" in problem["detail"]
