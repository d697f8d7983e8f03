"""--require-keys: authLevel enforced as in Azure, keys kept in a file beside the hub."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.devhost.support import SAMPLER, WEBHOOKS, assert_error, assert_no_body, unique


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


def test_keys_are_distinct_and_kept_private(host, keys):
    assert len(set(keys.values())) == 3
    assert all(len(value) >= 32 for value in keys.values())
    assert host.keys_file.stat().st_mode & 0o077 == 0


def test_function_routes_take_a_function_or_master_key(host, keys):
    path = "/api/client/anyone"
    assert_error(get(host, path), 401)
    assert_error(get(host, path, "wrong"), 401)
    assert_error(get(host, path, keys["system"]), 401)

    assert get(host, path, keys["function"]).status_code == 200
    assert get(host, path, keys["function"], header=True).status_code == 200
    assert get(host, path, keys["master"]).status_code == 200
    assert get(host, path, keys["master"], header=True).status_code == 200


def test_anonymous_routes_need_no_key(host):
    assert host.http.get("/api/echo/abc/1").status_code == 201


def test_admin_routes_take_only_the_master_key(host, keys):
    for path in ("/api/admin-only", "/admin/host/status"):
        assert_error(get(host, path), 401)
        assert_error(get(host, path, keys["function"]), 401)
        assert_error(get(host, path, keys["system"]), 401)
        assert get(host, path, keys["master"]).status_code == 200
    advance = host.http.post("/devhost/clock/advance", json={"seconds": 1})
    assert_error(advance, 401)


def test_management_api_takes_the_system_or_master_key(host, keys):
    path = f"{WEBHOOKS}/instances/nobody"
    assert_error(get(host, path), 401)
    assert_error(get(host, path, keys["function"]), 401)

    assert_no_body(get(host, path, keys["system"]), 404)
    assert_no_body(get(host, path, keys["master"], header=True), 404)
    refused = host.http.post(f"{WEBHOOKS}/orchestrators/hello_sequence/{unique('nokey')}", json=1)
    assert_error(refused, 401)


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
