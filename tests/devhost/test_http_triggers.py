"""HTTP triggers: routing, HttpRequest/HttpResponse, and the SDK's durable client inside them."""

from __future__ import annotations

import json

import pytest

from tests.devhost.support import (
    SAMPLER,
    WEBHOOKS,
    assert_error,
    assert_no_body,
    kinds,
    run,
    start,
    status,
    unique,
)


def test_a_function_sees_route_values_query_headers_and_body(host):
    response = host.http.get(
        "/api/echo/abc/42/deep/er/path", params={"q": "1", "r": "two"}, headers={"x-sample": "hi"}
    )

    assert response.status_code == 201
    assert response.headers["x-echo"] == "yes"
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "method": "GET",
        "route": {"kind": "abc", "number": "42", "rest": "deep/er/path"},
        "query": {"q": "1", "r": "two"},
        "header": "hi",
        "identity": {},
        "body": "",
    }


def test_catch_all_may_be_empty_and_body_arrives(host):
    response = host.http.put("/api/echo/xyz/-7", content=b"payload \xe2\x9c\x93")

    assert response.status_code == 201
    body = response.json()
    assert body["method"] == "PUT"
    assert body["route"] == {"kind": "xyz", "number": "-7"}
    assert body["body"] == "payload \u2713"


@pytest.mark.parametrize(
    "path", ["/api/echo/abc/notanumber/x", "/api/echo/123/1", "/api/nothing/here", "/echo/abc/1"]
)
def test_paths_no_function_serves_are_an_empty_404(host, path):
    """No route takes the request, so ASP.NET's pipeline ends with its bare 404."""
    assert_no_body(host.http.get(path), 404)


def test_a_method_the_function_does_not_accept_is_404_as_on_azure(host):
    """The host maps each function's methods as a route constraint
    (WebScriptHostHttpRoutesManager: HttpMethodRouteConstraint), so a method no route allows
    matches no route: 404, as for a path nothing serves (azure-functions-host 4.1036)."""
    assert_no_body(host.http.delete("/api/echo/abc/1"), 404)
    assert_no_body(host.http.get("/api/start/hello_sequence/x"), 404)
    assert_no_body(status(host, "x"), 404)  # and nothing was started


def test_a_failing_function_is_500_with_no_body_and_its_error_in_the_log(host):
    """A failed invocation is a 500 without a body on Azure (the host logs the exception);
    nothing of the function's internals reaches the client."""
    response = host.http.get("/api/boom")

    assert_no_body(response, 500)
    assert (
        "Functions.boom. Result: Failure Exception: RuntimeError: secret internals"
        in host.log.read_text()
    )


def test_sdk_start_new_and_check_status_response(host):
    instance_id = unique("sdk-start")

    response = host.http.post(f"/api/start/hello_sequence/{instance_id}", json="Flo")

    assert response.status_code == 202
    body = response.json()
    assert body["id"] == instance_id
    assert response.headers["Location"] == body["statusQueryGetUri"]
    assert body["statusQueryGetUri"].startswith(
        f"{host.base_url}{WEBHOOKS}/instances/{instance_id}"
    )
    followed = host.http.get(body["statusQueryGetUri"])
    assert followed.status_code in (200, 202)
    assert followed.json()["instanceId"] == instance_id
    assert host.wait_for(instance_id)["output"][0] == "Hello Flo in Tokyo!"


def test_sdk_start_new_with_the_optional_id_left_out(host):
    response = host.http.post("/api/start/hello_sequence", json="Gus")

    assert response.status_code == 202
    instance_id = response.json()["id"]
    assert host.wait_for(instance_id)["output"][-1] == "Hello Gus in London!"


def client(host, instance_id: str, op: str, **kwargs):
    return host.http.post(f"/api/client/{instance_id}", params={"op": op}, **kwargs)


def test_sdk_client_status_events_suspend_resume(host):
    instance_id = unique("sdk-client")
    assert host.http.post(f"/api/start/collect_events/{instance_id}", json=2).status_code == 202
    host.wait_for(instance_id, statuses=("Running",))

    seen = host.http.get(f"/api/client/{instance_id}", params={"op": "status"}).json()
    assert (seen["instanceId"], seen["name"], seen["runtimeStatus"]) == (
        instance_id,
        "collect_events",
        "Running",
    )
    assert seen["input"] == "2"  # start_new's extra JSON encoding, kept as Azure keeps it

    response = host.http.post(
        f"/api/client/{instance_id}", params={"op": "raise", "event": "Item"}, json={"a": 1}
    )
    assert response.status_code == 202
    assert client(host, instance_id, "suspend").status_code == 202
    host.wait_for(instance_id, statuses=("Suspended",))
    assert client(host, instance_id, "resume").status_code == 202
    host.wait_for(instance_id, statuses=("Running",))
    response = host.http.post(
        f"/api/client/{instance_id}", params={"op": "raise", "event": "Item"}, json=[2, 3]
    )
    assert response.status_code == 202

    body = host.wait_for(instance_id, showHistory="true")
    # The SDK's raise_event JSON-encodes its payload once more (SDK issue #295), as it does in
    # Azure, so the orchestrator receives JSON text.
    assert [json.loads(item) for item in body["output"]] == [{"a": 1}, [2, 3]]
    assert [e.get("Reason") for e in body["historyEvents"] if "Execution" in e["EventType"]] == [
        None,
        "paused by test",
        "resumed by test",
        None,
    ]


def test_sdk_client_status_of_an_unknown_instance_is_none(host):
    response = host.http.get("/api/client/nobody-at-all", params={"op": "status"})

    assert response.status_code == 200
    assert response.json() is None


def test_sdk_client_terminate_and_purge(host):
    instance_id = start(host, "collect_events", unique("sdk-term"), 1)
    host.wait_for(instance_id, statuses=("Running",))

    assert client(host, instance_id, "terminate").status_code == 202
    body = host.wait_for(instance_id, showHistory="true")
    assert body["runtimeStatus"] == "Terminated"
    assert body["output"] == "stopped by test"
    assert kinds(body["historyEvents"])[-2:] == ["ExecutionTerminated", "ExecutionCompleted"]

    assert client(host, instance_id, "purge").json() == {"deleted": 1}
    assert_no_body(status(host, instance_id), 404)
    assert client(host, instance_id, "purge").json() == {"deleted": 0}


def test_sdk_client_query_and_purge_by_status(host):
    done = [run(host, "always_fails")["instanceId"] for _ in range(2)]
    running = start(host, "collect_events", unique("sdk-query"), 1)
    host.wait_for(running, statuses=("Running",))

    failed = host.http.get("/api/query", params={"status": "Failed"}).json()
    assert set(done) <= set(failed)
    assert running not in failed
    assert running in host.http.get("/api/query", params={"status": "Running"}).json()

    purged = host.http.delete("/api/query", params={"status": "Failed"})
    assert purged.status_code == 200
    assert purged.json()["deleted"] >= 2
    assert host.http.get("/api/query", params={"status": "Failed"}).json() == []
    assert status(host, running).status_code == 202


def test_sdk_management_payload(host):
    response = host.http.get("/api/client/some-id", params={"op": "payload"})

    payload = response.json()
    assert payload["id"] == "some-id"
    prefix = f"{host.base_url}{WEBHOOKS}/instances/some-id"
    assert payload["statusQueryGetUri"].startswith(prefix + "?")
    assert payload["terminatePostUri"].startswith(prefix + "/terminate?reason={text}")
    assert payload["purgeHistoryDeleteUri"].startswith(prefix + "?")
    assert payload["suspendPostUri"].startswith(prefix + "/suspend?")
    assert payload["resumePostUri"].startswith(prefix + "/resume?")


def test_a_body_over_the_limit_is_413_as_the_functions_host_answers(devhost_factory):
    """Azure's Functions host caps request bodies at FUNCTIONS_REQUEST_BODY_SIZE_LIMIT
    (100 MB by default, Kestrel's MaxRequestBodySize) and Kestrel refuses a larger one with
    413 "Request body too large. The max request body size is N bytes."; devhost does the same
    instead of failing the function with a 500."""
    small = devhost_factory(SAMPLER, env={"FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": "1000"})

    refused = small.http.put("/api/echo/xyz/1", content=b"x" * 1001)
    accepted = small.http.put("/api/echo/xyz/1", content=b"x" * 1000)

    body = assert_error(refused, 413)
    assert body["Message"] == "Request body too large. The max request body size is 1000 bytes."
    assert accepted.status_code == 201 and accepted.json()["body"] == "x" * 1000
