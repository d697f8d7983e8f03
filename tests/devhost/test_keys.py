"""--require-keys: authLevel enforced as in Azure, keys kept in a file beside the hub.

A key that does not open a route gets what the Functions host answers (Azure/azure-functions-
host, src/WebJobs.Script.WebHost):

- a function's route: FunctionInvocationMiddleware.GetResultAsync returns an
  `UnauthorizedResult`, 401 with no body and no WWW-Authenticate, whatever key was given;
- the admin API (`[Authorize(Policy = PolicyNames.AdminAuthLevel...)]`) and the extensions'
  webhooks (`SystemKeyAuthLevel`, HostController's `runtime/webhooks/{extensionName}`): the
  policies authenticate with the ArmToken, WebJobsAuthLevel and Bearer schemes
  (AuthorizationOptionsExtensions.AddScriptAuthenticationSchemes), and ASP.NET Core's
  PolicyEvaluator.AuthorizeAsync answers "If authentication was successful, return forbidden,
  otherwise challenge": a valid key of a lower level authenticates (AuthenticationLevelHandler
  turns any known key into an auth-level claim), so it gets 403 with no body; no key or an
  unknown one gets the challenge, 401 with no body and `WWW-Authenticate: Bearer`
  (dotnet/aspnetcore JwtBearerHandler.HandleChallengeAsync appends `Options.Challenge`).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.devhost.support import SAMPLER, WEBHOOKS, assert_no_body, unique


@pytest.fixture(scope="module")
def host(devhost_factory):
    return devhost_factory(SAMPLER, "--require-keys")


@pytest.fixture(scope="module")
def keys(host) -> dict[str, str]:
    stored = host.keys()
    return {
        "master": stored["master"],
        "function": stored["functionKeys"]["default"],
        "system": stored["systemKeys"]["durabletask_extension"],
    }


def get(host, path: str, key: str | None = None, header: bool = False):
    if key is None:
        return host.http.get(path)
    if header:
        return host.http.get(path, headers={"x-functions-key": key})
    return host.http.get(path, params={"code": key})


def assert_unauthorized(response: httpx.Response) -> None:
    """A function route's refusal: the host's UnauthorizedResult."""
    assert (response.status_code, response.content) == (401, b""), response.text
    assert "WWW-Authenticate" not in response.headers


def assert_challenged(response: httpx.Response) -> None:
    """An admin or webhook route's refusal of a caller no scheme authenticated."""
    assert (response.status_code, response.content) == (401, b""), response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"


def assert_forbidden(response: httpx.Response) -> None:
    """An admin or webhook route's refusal of a key of another level."""
    assert (response.status_code, response.content) == (403, b""), response.text


def test_keys_are_distinct_and_kept_private(host, keys):
    assert len(set(keys.values())) == 3
    assert all(len(value) >= 32 for value in keys.values())
    assert host.keys_file.stat().st_mode & 0o077 == 0


def test_function_routes_take_a_function_or_master_key(host, keys):
    path = "/api/client/anyone"
    assert_unauthorized(get(host, path))
    assert_unauthorized(get(host, path, "wrong"))
    assert_unauthorized(get(host, path, keys["system"]))

    assert get(host, path, keys["function"]).status_code == 200
    assert get(host, path, keys["function"], header=True).status_code == 200
    assert get(host, path, keys["master"]).status_code == 200
    assert get(host, path, keys["master"], header=True).status_code == 200


def test_anonymous_routes_need_no_key(host):
    assert host.http.get("/api/echo/abc/1").status_code == 201


def test_admin_routes_take_only_the_master_key(host, keys):
    """An admin-level function is a function route (401 to any other key); the admin API
    challenges a caller without a known key and forbids a known key of a lower level."""
    path = "/api/master-only"
    for key in (None, keys["function"], keys["system"]):
        assert_unauthorized(get(host, path, key))
    assert get(host, path, keys["master"]).status_code == 200

    path = "/admin/host/status"
    assert_challenged(get(host, path))
    assert_challenged(get(host, path, "wrong", header=True))
    assert_forbidden(get(host, path, keys["function"]))
    assert_forbidden(get(host, path, keys["system"], header=True))
    assert get(host, path, keys["master"]).status_code == 200
    # devhost's own endpoints take the master key like the admin API.
    assert_challenged(host.http.post("/devhost/clock/advance", json={"seconds": 1}))


def test_the_key_header_wins_over_the_query(host, keys):
    """AuthenticationLevelHandler.GetAuthorizationKeyInfoAsync: "header takes precedence"."""
    both = host.http.get(
        "/admin/host/status",
        params={"code": keys["master"]},
        headers={"x-functions-key": keys["function"]},
    )
    assert_forbidden(both)


def test_management_api_takes_the_system_or_master_key(host, keys):
    path = f"{WEBHOOKS}/instances/nobody"
    assert_challenged(get(host, path))
    assert_challenged(get(host, path, "wrong"))
    assert_forbidden(get(host, path, keys["function"]))

    assert_no_body(get(host, path, keys["system"]), 404)
    assert_no_body(get(host, path, keys["master"], header=True), 404)
    refused = host.http.post(f"{WEBHOOKS}/orchestrators/hello_sequence/{unique('nokey')}", json=1)
    assert_challenged(refused)


def test_check_status_urls_carry_the_system_key_and_work(host, keys):
    instance_id = unique("keyed")

    response = host.http.post(
        f"/api/start/hello_sequence/{instance_id}", params={"code": keys["function"]}, json="Hal"
    )

    assert response.status_code == 202, response.text
    payload = response.json()
    for name, url in payload.items():
        if name != "id":
            assert parse_qs(urlsplit(url).query)["code"] == [keys["system"]], name
    assert response.headers["Location"] == payload["statusQueryGetUri"]

    host.idle()
    followed = host.http.get(payload["statusQueryGetUri"])
    assert followed.status_code == 200, followed.text
    assert followed.json()["output"][0] == "Hello Hal in Tokyo!"


def test_the_sdk_client_keeps_working_under_keys(host, keys):
    instance_id = unique("sdk")
    started = host.http.post(
        f"/api/start/collect_events/{instance_id}", params={"code": keys["function"]}, json=1
    )
    assert started.status_code == 202
    raised = host.http.post(
        f"/api/client/{instance_id}",
        params={"op": "raise", "event": "Item", "code": keys["function"]},
        json="x",
    )
    assert raised.status_code == 202

    host.idle()
    status = host.http.get(
        f"/api/client/{instance_id}", params={"op": "status", "code": keys["function"]}
    ).json()
    assert status["runtimeStatus"] == "Completed", status


def test_keys_survive_a_restart_and_are_announced_once(host, keys):
    host.stop()
    host.start()

    assert host.keys()["master"] == keys["master"]
    assert get(host, "/admin/host/status", keys["master"]).status_code == 200
    assert host.log.read_text().count("New keys written") == 1
