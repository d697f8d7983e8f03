"""App Service Authentication as devhost emulates it (`--easyauth`): what Azure's front end
does before a request reaches the Functions host, and the host's key check behind it.

Sources, cited again by the tests that pin them:

- "Work with user identities in Azure App Service authentication"
  (https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities):
  the platform injects X-MS-CLIENT-PRINCIPAL (base64 JSON with auth_typ, claims[{typ, val}],
  name_typ, role_typ), -NAME, -ID and -IDP, and "external requests aren't allowed to set these
  headers"; "If the token store is enabled for your app, you can also obtain other details on
  the authenticated user by calling /.auth/me". Entra ID's app roles arrive as `roles` claims
  (AzureAD/microsoft-identity-web#2166).
- "Authentication and authorization in Azure App Service and Azure Functions"
  (https://learn.microsoft.com/azure/app-service/overview-authentication-authorization):
  requiring authentication "applies to all calls to your app".
- The Functions team on which paths that covers: "When you enable Easy Auth, you're protecting
  the entire App, not just the host" (fabiocav, Azure/azure-functions-host#4674), and a Durable
  client calling the extension's webhooks through the site got Easy Auth's "You do not have
  permission to view this directory or page." (Azure/azure-functions-durable-extension#681,
  Azure/azure-functions-durable-js#62); but "The Admin endpoints are no longer blocked by
  EasyAuth" (Azure/azure-functions-ux#499) and "EasyAuth no longer blocks admin endpoints"
  (mattchenderson, Azure/azure-functions-ux#1371): `/admin/*` reaches the host, which wants
  the master key.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from devhost.testing import DevHost, command
from tests.devhost.support import SAMPLER, WEBHOOKS, unique

ECHO = "/api/echo/a/1/x"
UNAUTHORIZED = "You do not have permission to view this directory or page."
FORGED = {
    "X-MS-CLIENT-PRINCIPAL": base64.b64encode(
        json.dumps({"auth_typ": "aad", "claims": [{"typ": "roles", "val": "Admin"}]}).encode()
    ).decode(),
    "X-MS-CLIENT-PRINCIPAL-NAME": "mallory",
    "X-MS-TOKEN-AAD-ACCESS-TOKEN": "forged",
}


@pytest.fixture(scope="module")
def host(devhost_factory) -> DevHost:
    """As the project's Bicep configures it: token store off, excluded paths."""
    return devhost_factory(
        SAMPLER,
        "--easyauth",
        "--easyauth-anonymous",
        "/api/query",
        "--easyauth-anonymous",
        "/api/entities/*",
    )


@pytest.fixture(scope="module")
def keyed(devhost_factory) -> DevHost:
    """Easy Auth in front of a host that checks keys, with the token store on."""
    return devhost_factory(SAMPLER, "--easyauth", "--easyauth-token-store", "--require-keys")


@pytest.fixture(scope="module")
def keys(keyed) -> dict[str, str]:
    stored = keyed.keys()
    return {
        "master": stored["master"],
        "function": stored["functionKeys"]["default"],
        "system": stored["systemKeys"]["durabletask_extension"],
    }


@contextmanager
def sign_in(host: DevHost, name: str, *roles: str, **form: str) -> Iterator[httpx.Client]:
    """A browser that filled in the local sign-in page."""
    with host.client() as browser:
        data = {"name": name, "roles": "\n".join(roles), **form}
        answer = browser.post("/.auth/login/aad", data=data)
        assert answer.status_code == 302, answer.text
        yield browser


def token(host: DevHost, name: str, *roles: str, **more) -> str:
    """A bearer token from `POST /devhost/token` (with the master key if the host wants it)."""
    params = {"code": host.keys()["master"]} if "--require-keys" in host.args else {}
    body = {"name": name, "roles": list(roles), **more}
    answer = host.http.post("/devhost/token", json=body, params=params)
    assert answer.status_code == 200, answer.text
    assert answer.json()["tokenType"] == "Bearer"
    return answer.json()["accessToken"]


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def identity(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 201, response.text
    return response.json()["identity"]


def principal(seen: dict[str, str]) -> dict:
    return json.loads(base64.b64decode(seen["x-ms-client-principal"]))


def assert_easyauth_refused(response: httpx.Response) -> None:
    """Easy Auth's answer with unauthenticatedClientAction Return401: the text Azure sends
    (quoted in Azure/azure-functions-durable-extension#681) and a Bearer challenge (the Entra
    ID provider's WWW-Authenticate, on unless `login.disableWWWAuthenticate`)."""
    assert response.status_code == 401, (response.status_code, response.text)
    assert response.text == UNAUTHORIZED
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="')


def test_every_path_the_platform_does_not_exclude_needs_sign_in(host):
    """Requiring authentication "applies to all calls to your app" (App Service's overview);
    "you're protecting the entire App, not just the host" (Azure/azure-functions-host#4674):
    the app's routes, the Durable HTTP API (Easy Auth refused the Durable JS client's webhook
    calls, Azure/azure-functions-durable-extension#681) and paths no function serves. The
    admin API is not gated (Azure/azure-functions-ux#499, #1371), nor are the module's own
    `/.auth/*` endpoints; devhost's `/devhost/*` have no Azure counterpart and stay open."""
    with host.client() as anonymous:
        for path in (ECHO, f"{WEBHOOKS}/instances/nobody", "/", "/api/no-such-route"):
            for headers in ({}, FORGED):
                assert_easyauth_refused(anonymous.get(path, headers=headers))
        assert_easyauth_refused(anonymous.post(f"{WEBHOOKS}/orchestrators/hello_sequence"))
        assert anonymous.get("/admin/host/status").status_code == 200
        assert anonymous.get("/devhost/clock").status_code == 200
        assert anonymous.get("/.auth/login/aad").status_code == 200


def test_an_excluded_path_is_served_without_sign_in_but_never_with_a_forged_identity(host):
    """`globalValidation.excludedPaths`: an exact path, or `/dir/*` for everything below."""
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
    """The headers of "Work with user identities in Azure App Service authentication"; the
    client's own X-MS-* headers never reach the app."""
    with sign_in(host, "grace@contoso.com", "Claims.Supervisor", "Claims.Adjuster") as grace:
        seen = identity(grace.get(ECHO, headers=FORGED))
        assert "x-ms-token-aad-access-token" not in seen
        assert seen["x-ms-client-principal-name"] == "grace@contoso.com"
        assert seen["x-ms-client-principal-idp"] == "aad"
        decoded = principal(seen)
        assert decoded["auth_typ"] == "aad"
        assert decoded["role_typ"] == "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
        claims = [(claim["typ"], claim["val"]) for claim in decoded["claims"]]
        assert (decoded["name_typ"], "grace@contoso.com") in claims
        assert [val for typ, val in claims if typ == "roles"] == [
            "Claims.Supervisor",
            "Claims.Adjuster",
        ]
        oid = "http://schemas.microsoft.com/identity/claims/objectidentifier"
        assert (oid, seen["x-ms-client-principal-id"]) in claims
        # Signed in, the Durable HTTP API answers (no keys on this host).
        assert grace.get(f"{WEBHOOKS}/instances/nobody").status_code == 404


def test_me_answers_only_while_the_token_store_is_on(host, keyed):
    """`/.auth/me` needs the token store ("If the token store is enabled for your app, you can
    also obtain other details on the authenticated user by calling /.auth/me", "Work with user
    identities"; "token store must be enabled", "Work with OAuth tokens in Azure App Service
    authentication"). With it off, the platform answers 404 (microsoft/azure-container-apps#479,
    where Easy Auth had no token store); Azure's body is not documented, devhost's says why.
    This project's Bicep leaves it off (`login.tokenStore.enabled: false`), as devhost does
    unless `--easyauth-token-store`."""
    with sign_in(host, "grace@contoso.com") as grace:
        off = grace.get("/.auth/me")
        assert off.status_code == 404
        assert "--easyauth-token-store" in off.text
    with host.client() as anonymous:
        assert anonymous.get("/.auth/me").status_code == 404

    with sign_in(keyed, "grace@contoso.com", "Claims.Supervisor") as grace:
        [me] = grace.get("/.auth/me").json()
        assert me["provider_name"] == "aad" and me["user_id"] == "grace@contoso.com"
        assert {"typ": "roles", "val": "Claims.Supervisor"} in me["user_claims"]
    with keyed.client() as anonymous:
        refused = anonymous.get("/.auth/me")
        assert (refused.status_code, refused.text) == (401, UNAUTHORIZED)


def test_the_same_name_keeps_its_object_id_and_an_application_says_so(host):
    with sign_in(host, "kim") as first, sign_in(host, "kim") as second:
        ids = {identity(c.get(ECHO))["x-ms-client-principal-id"] for c in (first, second)}
        assert len(ids) == 1
    with sign_in(host, "carrier-app-id", "Shipments.Carrier", application="on") as carrier:
        claims = {
            (claim["typ"], claim["val"])
            for claim in principal(identity(carrier.get(ECHO)))["claims"]
        }
        assert {("idtyp", "app"), ("azp", "carrier-app-id")} <= claims


def test_a_tampered_session_is_no_session_and_logout_ends_one(host):
    with sign_in(host, "ada", "Claims.Adjuster") as ada:
        session = ada.cookies["AppServiceAuthSession"]
        body, _, signature = session.partition(".")
        promoted = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        promoted[2] = ["Claims.Supervisor"]
        forged_body = base64.urlsafe_b64encode(json.dumps(promoted).encode()).decode().rstrip("=")
        with host.client() as mallory:
            mallory.cookies.set("AppServiceAuthSession", f"{forged_body}.{signature}")
            assert_easyauth_refused(mallory.get(ECHO))
        # A non-browser client may send the session token in X-ZUMO-AUTH, as App Service allows
        # ("Client code presents authentication token in X-ZUMO-AUTH header", App Service's
        # overview, authentication flow).
        with host.client() as script:
            seen = identity(script.get(ECHO, headers={"X-ZUMO-AUTH": session}))
            assert seen["x-ms-client-principal-name"] == "ada"
        out = ada.get("/.auth/logout", params={"post_logout_redirect_uri": "/bye"})
        assert (out.status_code, out.headers["location"]) == (302, "/bye")
        assert_easyauth_refused(ada.get(ECHO))


def test_a_devhost_token_is_a_bearer_token_the_edge_takes_as_it_takes_the_cookie(host):
    """Azure: an Entra ID access token "can then be presented to the target app using the
    standard OAuth 2.0 Authorization header, and App Service Authentication / Authorization
    will validate and use the token as usual" ("Configure your App Service or Azure Functions
    app to use Microsoft Entra sign-in", https://learn.microsoft.com/azure/app-service/
    configure-authentication-provider-aad, daemon client application). devhost's token from
    `/devhost/token` stands in for `az account get-access-token --resource api://<client id>`."""
    roles = ("Claims.Supervisor", "Claims.Adjuster")
    with sign_in(host, "sam@contoso.com", *roles) as browser:
        by_cookie = identity(browser.get(ECHO))
    with host.client() as script:
        by_token = identity(
            script.get(ECHO, headers={**FORGED, **bearer(token(host, "sam@contoso.com", *roles))})
        )
        assert by_token == by_cookie  # the same principal, headers and all
        # Through the Durable HTTP API too, which is gated like any path.
        sam = bearer(token(host, "sam@contoso.com"))
        assert script.get(f"{WEBHOOKS}/instances/nobody", headers=sam).status_code == 404

        app_token = token(host, "carrier-app-id", "Shipments.Carrier", application=True)
        claims = {
            (claim["typ"], claim["val"])
            for claim in principal(identity(script.get(ECHO, headers=bearer(app_token))))["claims"]
        }
        assert {("idtyp", "app"), ("azp", "carrier-app-id")} <= claims
        chosen = token(host, "ci", objectId="00000000-0000-0000-0000-000000000001")
        seen = identity(script.get(ECHO, headers=bearer(chosen)))
        assert seen["x-ms-client-principal-id"] == "00000000-0000-0000-0000-000000000001"

        # Only a signed token signs in, and only as a Bearer credential.
        body, _, signature = app_token.partition(".")
        assert_easyauth_refused(script.get(ECHO, headers=bearer(f"{body}.{'0' * len(signature)}")))
        assert_easyauth_refused(script.get(ECHO, headers={"Authorization": f"Basic {app_token}"}))
        for refused in ({"roles": "Claims.Adjuster"}, {"name": ""}, {"name": "x", "roles": "R"}):
            assert script.post("/devhost/token", json=refused).status_code == 400


def test_the_token_command_prints_a_token_for_the_running_host(keyed, keys):
    """`python -m devhost token --as NAME --roles R1,R2 [--app]` asks the running host (the
    master key comes from the key file beside --hub) and prints the token alone, as
    `az account get-access-token --query accessToken -o tsv` would."""
    done = command(
        "token",
        "--as",
        "dispatch-app",
        "--roles",
        "Shipments.Carrier, Shipments.Dispatcher",
        "--app",
        "--url",
        keyed.base_url,
        "--hub",
        str(keyed.hub),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    printed = done.stdout.strip()
    assert "\n" not in printed
    seen = identity(keyed.http.get(ECHO, headers=bearer(printed)))
    decoded = principal(seen)
    assert [c["val"] for c in decoded["claims"] if c["typ"] == "roles"] == [
        "Shipments.Carrier",
        "Shipments.Dispatcher",
    ]
    assert {"typ": "idtyp", "val": "app"} in decoded["claims"]

    keyless = command("token", "--as", "x", "--url", keyed.base_url, "--key", "wrong", timeout=60)
    assert keyless.returncode == 1 and "--require-keys" in keyless.stderr


def test_easy_auth_answers_before_the_key_check_and_the_host_after_it(keyed, keys):
    """Easy Auth runs in front of the Functions host: without a sign-in a request is refused by
    it even with a valid key. Signed in, the host checks keys as it does behind the platform:

    - a function's route (FunctionInvocationMiddleware: `return new UnauthorizedResult()`)
      answers 401 with no body and no WWW-Authenticate, whatever was presented;
    - the Durable HTTP API and the admin API (`[Authorize]` policies over the ArmToken,
      WebJobsAuthLevel and Bearer schemes, AuthorizationOptionsExtensions) answer 403 with no
      body, because the platform's principal authenticates the caller while App Service
      Authentication is on (AuthenticationLevelHandler adds `GetAppServiceIdentity()` when
      `IsEasyAuthEnabled()`) and PolicyEvaluator forbids an authenticated caller that lacks
      the level; seen in Azure-Samples/remote-mcp-apim-functions-python#21 ("Executing
      ForbidResult with authentication schemes (WebJobsAuthLevel, Bearer)" for a signed-in
      call without the system key). Unauthenticated, the admin API's challenge is 401 with
      `WWW-Authenticate: Bearer` (JwtBearerHandler.HandleChallengeAsync).
    """
    function_route = "/api/client/nobody"
    instance = f"{WEBHOOKS}/instances/nobody"
    with keyed.client() as anonymous:
        assert_easyauth_refused(anonymous.get(function_route, params={"code": keys["function"]}))
        assert_easyauth_refused(anonymous.get(instance, params={"code": keys["system"]}))
        assert_easyauth_refused(anonymous.get(instance, params={"code": keys["master"]}))

        # The admin API is not behind Easy Auth: the host's own challenge, then the master key.
        challenged = anonymous.get("/admin/host/status")
        assert (challenged.status_code, challenged.content) == (401, b"")
        assert challenged.headers["WWW-Authenticate"] == "Bearer"
        forbidden = anonymous.get("/admin/host/status", params={"code": keys["function"]})
        assert (forbidden.status_code, forbidden.content) == (403, b"")
        ok = anonymous.get("/admin/host/status", headers={"x-functions-key": keys["master"]})
        assert ok.status_code == 200

    signed = bearer(token(keyed, "sam@contoso.com", "Claims.Supervisor"))
    with keyed.client(headers=signed) as sam:
        for key in (None, "wrong", keys["system"]):
            refused = sam.get(function_route, params={"code": key} if key else {})
            assert (refused.status_code, refused.content) == (401, b""), key
            assert "WWW-Authenticate" not in refused.headers
        assert sam.get(function_route, params={"code": keys["function"]}).status_code == 200

        for path in (instance, "/admin/host/status"):
            refused = sam.get(path)
            assert (refused.status_code, refused.content) == (403, b""), path
            assert "WWW-Authenticate" not in refused.headers
        assert sam.get(instance, params={"code": keys["function"]}).status_code == 403
        missing = sam.get(instance, params={"code": keys["system"]})
        assert (missing.status_code, missing.content) == (404, b"")

        # The check-status URLs a start hands out are the gated Durable HTTP API.
        started = sam.post(
            f"/api/start/hello_sequence/{unique('signed')}",
            headers={"x-functions-key": keys["function"]},
            json="Sam",
        )
        assert started.status_code == 202, started.text
    follow = started.json()["statusQueryGetUri"]
    with keyed.client() as anonymous:
        assert_easyauth_refused(anonymous.get(follow))
    with keyed.client(headers=signed) as sam:
        assert sam.get(follow).status_code in (200, 202)


ENV_APP = """\
import json
import os

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="env")
def env(req: func.HttpRequest) -> func.HttpResponse:
    seen = {"auth": os.environ.get("WEBSITE_AUTH_ENABLED"), "pid": os.getpid()}
    return func.HttpResponse(json.dumps(seen), mimetype="application/json")


@app.route(route="exit")
def leave(req: func.HttpRequest) -> func.HttpResponse:
    os._exit(1)
"""


@pytest.fixture(scope="module")
def env_app(tmp_path_factory) -> Path:
    app = tmp_path_factory.mktemp("env_app")
    (app / "host.json").write_text('{"version": "2.0"}')
    (app / "function_app.py").write_text(ENV_APP)
    return app


def worker_sees(host: DevHost, headers: dict[str, str]) -> dict:
    answer = host.http.get("/api/env", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_app_is_told_easy_auth_is_on_as_app_service_tells_it(devhost_factory, env_app):
    """ "`WEBSITE_AUTH_ENABLED` | Read-only. Injected into a Windows or Linux app to indicate
    whether App Service authentication is enabled." ("Environment variables and app settings in
    Azure App Service", https://learn.microsoft.com/azure/app-service/reference-app-settings);
    its value is `True` (the Functions host parses it with bool.TryParse,
    EnvironmentExtensions.IsEasyAuthEnabled; Microsoft.Identity.Web's
    AppServicesAuthenticationInformation compares it with "True"). devhost sets it for the
    app's worker processes under `--easyauth`, forked or spawned (a replacement after a crash),
    and not otherwise."""
    signed = devhost_factory(env_app, "--easyauth")
    headers = bearer(token(signed, "ops@contoso.com"))
    forked = worker_sees(signed, headers)
    assert forked["auth"] == "True"
    assert signed.http.get("/api/exit", headers=headers).status_code == 500
    spawned = worker_sees(signed, headers)  # the replacement, a spawned process
    assert spawned["pid"] != forked["pid"] and spawned["auth"] == "True"

    plain = devhost_factory(env_app)
    assert worker_sees(plain, {})["auth"] is None
