"""The Durable HTTP API at /runtime/webhooks/durabletask, with Azure's status codes and bodies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from devhost.durable.clock import from_wire, to_wire
from tests.devhost.support import (
    WEBHOOKS,
    assert_error,
    assert_no_body,
    history,
    kinds,
    raise_event,
    run,
    start,
    status,
    unique,
)

# HttpApiHandler.CreateCheckStatusResponseMessage: no rewindPostUri in a start's answer.
PAYLOAD_KEYS = {
    "id",
    "statusQueryGetUri",
    "sendEventPostUri",
    "terminatePostUri",
    "purgeHistoryDeleteUri",
    "restartPostUri",
    "suspendPostUri",
    "resumePostUri",
}


def everything(host) -> list[dict]:
    """Every instance the hub holds, with input: the state a malformed request must not change."""
    response = host.http.get(f"{WEBHOOKS}/instances", params={"top": "100000"})
    assert response.status_code == 200
    return sorted(response.json(), key=lambda row: row["instanceId"])


def waiting(host, count: int = 1) -> str:
    """A running instance that waits for `count` Item events."""
    instance_id = start(host, "collect_events", unique("waiting"), count)
    host.wait_for(instance_id, statuses=("Running",))
    return instance_id


def test_host_status_reports_running(host):
    response = host.http.get("/admin/host/status")

    assert response.status_code == 200
    assert response.json()["state"] == "Running"


def test_start_answers_202_with_the_management_payload(host):
    instance_id = unique("start")
    response = host.http.post(f"{WEBHOOKS}/orchestrators/hello_sequence/{instance_id}", json='"Di"')

    assert response.status_code == 202
    body = response.json()
    assert set(body) == PAYLOAD_KEYS
    assert body["id"] == instance_id
    assert response.headers["Location"] == body["statusQueryGetUri"]
    assert int(response.headers["Retry-After"]) > 0
    # The hub name comes from host.json's %SAMPLER_HUB%, expanded from local.settings.json.
    assert body["statusQueryGetUri"].startswith(
        f"{host.base_url}{WEBHOOKS}/instances/{instance_id}?taskHub=samplerhub"
    )
    assert body["sendEventPostUri"].startswith(
        f"{host.base_url}{WEBHOOKS}/instances/{instance_id}/raiseEvent/{{eventName}}?"
    )
    assert host.wait_for(instance_id)["output"][0] == "Hello Di in Tokyo!"


def test_start_without_an_id_generates_one(host):
    response = host.http.post(f"{WEBHOOKS}/orchestrators/hello_sequence", json='"Ed"')

    assert response.status_code == 202
    instance_id = response.json()["id"]
    assert len(instance_id) >= 16
    assert host.wait_for(instance_id)["runtimeStatus"] == "Completed"


def test_status_is_202_with_location_while_running_and_200_when_done(host):
    instance_id = waiting(host)

    running = status(host, instance_id)
    assert running.status_code == 202
    assert running.headers["Location"].startswith(
        f"{host.base_url}{WEBHOOKS}/instances/{instance_id}"
    )
    assert int(running.headers["Retry-After"]) > 0
    body = running.json()
    assert (body["runtimeStatus"], body["input"], body["output"]) == ("Running", "1", None)
    assert body["createdTime"].endswith("Z")

    assert raise_event(host, instance_id, "Item", "x").status_code == 202
    host.wait_for(instance_id)
    done = status(host, instance_id)
    assert done.status_code == 200
    assert "Location" not in done.headers
    assert done.json()["output"] == ["x"]


def test_unknown_instance_is_404_without_a_body(host):
    assert_no_body(status(host, "never-started"), 404)


def test_starting_a_running_id_again_is_refused_and_changes_nothing(host):
    instance_id = waiting(host)
    before = everything(host)

    response = host.http.post(f"{WEBHOOKS}/orchestrators/hello_sequence/{instance_id}", json='"Z"')

    body = assert_error(response, 500)
    assert (
        body["ExceptionMessage"]
        == "An Orchestration instance with the status Running already exists."
    )
    assert everything(host) == before
    assert status(host, instance_id).json()["name"] == "collect_events"


def test_a_finished_id_may_start_again(host):
    instance_id = run(host, "hello_sequence", "first")["instanceId"]

    start(host, "hello_sequence", instance_id, "second")

    body = host.wait_for(instance_id, showHistory="true")
    assert body["output"][0] == "Hello second in Tokyo!"
    assert kinds(body["historyEvents"]).count("ExecutionStarted") == 1


@pytest.mark.parametrize(
    ("name", "body"),
    [("no_such_orchestrator", b'"x"'), ("hello_sequence", b"{not json"), ("say_hello", b"1")],
    ids=["unknown-function", "bad-json", "activity-not-orchestrator"],
)
def test_bad_start_requests_are_400_and_create_nothing(host, name, body):
    instance_id = unique("bad-start")
    before = everything(host)

    response = host.http.post(
        f"{WEBHOOKS}/orchestrators/{name}/{instance_id}",
        content=body,
        headers={"content-type": "application/json"},
    )

    assert_error(response, 400)
    assert everything(host) == before
    assert_no_body(status(host, instance_id), 404)


ILLEGAL_IDS = ["%40x", "a%5Cb", "a%01b", "x" * 257]


@pytest.mark.parametrize("raw_id", ILLEGAL_IDS)
def test_illegal_instance_ids_cannot_start_and_are_unknown_elsewhere(host, raw_id):
    before = everything(host)

    assert_error(host.http.post(f"{WEBHOOKS}/orchestrators/hello_sequence/{raw_id}"), 400)
    assert_no_body(host.http.get(f"{WEBHOOKS}/instances/{raw_id}"), 404)
    assert_no_body(host.http.post(f"{WEBHOOKS}/instances/{raw_id}/raiseEvent/Item", json=1), 404)
    assert_no_body(host.http.post(f"{WEBHOOKS}/instances/{raw_id}/terminate"), 404)
    assert everything(host) == before


def test_an_id_of_256_characters_is_fine(host):
    instance_id = "y" * 256

    start(host, "hello_sequence", instance_id, "long")

    assert host.wait_for(instance_id)["runtimeStatus"] == "Completed"


def test_raise_event_status_codes(host):
    instance_id = waiting(host, count=2)
    finished = run(host, "hello_sequence", "done")["instanceId"]

    assert_error(
        host.http.post(
            f"{WEBHOOKS}/instances/{instance_id}/raiseEvent/Item",
            content=b"{not json",
            headers={"content-type": "application/json"},
        ),
        400,
    )
    assert_error(host.http.post(f"{WEBHOOKS}/instances/{instance_id}/raiseEvent/Item"), 400)
    assert_no_body(raise_event(host, "nobody-home", "Item", 1), 404)
    assert_no_body(raise_event(host, finished, "Item", 1), 410)
    assert "EventRaised" not in kinds(history(host, instance_id))

    assert raise_event(host, instance_id, "Item", {"ok": True}).status_code == 202
    null = host.http.post(f"{WEBHOOKS}/instances/{instance_id}/raiseEvent/Item", content=b"null")
    assert null.status_code == 202
    assert host.wait_for(instance_id)["output"] == [{"ok": True}, None]


def test_terminate(host):
    instance_id = waiting(host)

    response = host.http.post(
        f"{WEBHOOKS}/instances/{instance_id}/terminate", params={"reason": "no longer needed"}
    )

    assert response.status_code == 202
    body = host.wait_for(instance_id, statuses=("Terminated",), showHistory="true")
    assert body["output"] == "no longer needed"
    assert kinds(body["historyEvents"])[-2:] == ["ExecutionTerminated", "ExecutionCompleted"]
    assert_no_body(host.http.post(f"{WEBHOOKS}/instances/{instance_id}/terminate"), 410)
    assert_no_body(raise_event(host, instance_id, "Item", 1), 410)
    assert_no_body(host.http.post(f"{WEBHOOKS}/instances/missing-one/terminate"), 404)


def test_suspend_and_resume(host):
    instance_id = waiting(host)

    suspend = f"{WEBHOOKS}/instances/{instance_id}/suspend"
    assert host.http.post(suspend, params={"reason": "lunch"}).status_code == 202
    host.wait_for(instance_id, statuses=("Suspended",))
    paused = status(host, instance_id)
    assert (paused.status_code, paused.json()["runtimeStatus"]) == (202, "Suspended")
    resume = f"{WEBHOOKS}/instances/{instance_id}/resume"
    assert host.http.post(resume, params={"reason": "back"}).status_code == 202
    host.wait_for(instance_id, statuses=("Running",))

    events = history(host, instance_id)
    assert [(e["EventType"], e.get("Reason")) for e in events[1:]] == [
        ("ExecutionSuspended", "lunch"),
        ("ExecutionResumed", "back"),
    ]
    raise_event(host, instance_id, "Item", 7)
    host.wait_for(instance_id)
    assert_no_body(host.http.post(suspend), 410)
    assert_no_body(host.http.post(resume), 410)
    assert_no_body(host.http.post(f"{WEBHOOKS}/instances/missing-one/suspend"), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/orchestrators/hello_sequence/wrong-method"),
        ("PUT", "/instances/{id}"),
        ("PATCH", "/instances/{id}"),
        ("GET", "/instances/{id}/raiseEvent/Item"),
        ("GET", "/instances/{id}/terminate"),
        ("DELETE", "/instances/{id}/suspend"),
    ],
)
def test_wrong_methods_are_404_without_a_body_and_change_nothing(host, method, path):
    instance_id = waiting(host)
    before = everything(host)

    response = host.http.request(method, WEBHOOKS + path.format(id=instance_id))

    # HttpApiHandler.HandleRequestAsync: `request.CreateResponse(HttpStatusCode.NotFound)`
    # for a method or path it has no handler for.
    assert_no_body(response, 404)
    assert everything(host) == before
    assert kinds(history(host, instance_id)) == ["ExecutionStarted"]


def batch(host, name: str, count: int, payload=None) -> list[str]:
    """Start `count` instances and wait until each has finished or waits for an event."""
    ids = [start(host, name, unique(f"batch{n}"), payload) for n in range(count)]
    settled = ("Running",) if name == "collect_events" else ("Completed", "Failed")
    for instance_id in ids:
        host.wait_for(instance_id, statuses=settled)
    return ids


def test_query_filters_by_status_and_created_time(host):
    since = host.advance(86400)
    finished = batch(host, "hello_sequence", 3, "q")
    running = batch(host, "collect_events", 2, 1)
    until = to_wire(from_wire(host.advance(3600)) - timedelta(seconds=1))
    later = batch(host, "hello_sequence", 1, "later")
    window = {"createdTimeFrom": since, "createdTimeTo": until}

    def ids(**query) -> set[str]:
        response = host.http.get(f"{WEBHOOKS}/instances", params={**window, **query})
        assert response.status_code == 200, response.text
        return {row["instanceId"] for row in response.json()}

    assert ids() == {*finished, *running}
    assert ids(runtimeStatus="Completed") == set(finished)
    assert ids(runtimeStatus="Running,Completed") == {*finished, *running}
    assert ids(runtimeStatus="Failed") == set()
    listed = host.http.get(f"{WEBHOOKS}/instances", params={"createdTimeFrom": until}).json()
    assert {row["instanceId"] for row in listed} == set(later)
    rows = host.http.get(f"{WEBHOOKS}/instances", params={**window, "showInput": "false"}).json()
    assert {row["input"] for row in rows} == {None}


def test_query_pages_with_the_continuation_token(host):
    since = host.advance(86400)
    created = set(batch(host, "hello_sequence", 7, "page"))
    params = {"createdTimeFrom": since, "top": "3"}

    seen: list[str] = []
    token = None
    for _ in range(10):
        headers = {"x-ms-continuation-token": token} if token else {}
        response = host.http.get(f"{WEBHOOKS}/instances", params=params, headers=headers)
        assert response.status_code == 200
        page = [row["instanceId"] for row in response.json()]
        assert 1 <= len(page) <= 3
        seen += page
        token = response.headers.get("x-ms-continuation-token")
        if not token:
            break

    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == created
    bad_token = {"x-ms-continuation-token": "%%%"}
    assert_error(host.http.get(f"{WEBHOOKS}/instances", headers=bad_token), 400)


def test_purge_one_instance(host):
    finished = run(host, "hello_sequence", "purge me")["instanceId"]
    running = waiting(host)

    response = host.http.delete(f"{WEBHOOKS}/instances/{finished}")

    assert response.status_code == 200
    assert response.json() == {"instancesDeleted": 1}
    assert_no_body(status(host, finished), 404)
    assert_no_body(host.http.delete(f"{WEBHOOKS}/instances/{finished}"), 404)
    # HandleDeleteHistoryByIdRequestAsync purges whatever the status.
    assert host.http.delete(f"{WEBHOOKS}/instances/{running}").json() == {"instancesDeleted": 1}
    assert_no_body(status(host, running), 404)


def test_purge_by_filter(host):
    since = host.advance(86400)
    finished = batch(host, "hello_sequence", 3, "old")
    failed = batch(host, "always_fails", 1)
    running = batch(host, "collect_events", 1, 1)
    until = to_wire(from_wire(host.advance(3600)) - timedelta(seconds=1))
    outside = batch(host, "hello_sequence", 1, "new")
    window = {"createdTimeFrom": since, "createdTimeTo": until}

    response = host.http.delete(
        f"{WEBHOOKS}/instances", params={**window, "runtimeStatus": "Completed"}
    )

    assert response.status_code == 200
    assert response.json() == {"instancesDeleted": 3}
    for instance_id in finished:
        assert_no_body(status(host, instance_id), 404)
    for instance_id in (*failed, *running, *outside):
        assert status(host, instance_id).status_code in (200, 202)
    again = host.http.delete(
        f"{WEBHOOKS}/instances", params={**window, "runtimeStatus": "Completed"}
    )
    assert_no_body(again, 404)
    no_start = host.http.delete(f"{WEBHOOKS}/instances", params={"runtimeStatus": "Failed"})
    assert (no_start.status_code, no_start.json()) == (
        400,
        "Please provide value for 'createdTimeFrom' parameter.",
    )
    # AzureTableTrackingStore keeps only terminal statuses; none left means no status filter,
    # so asking for Running purges the whole window, the running instance included.
    whole_window = host.http.delete(
        f"{WEBHOOKS}/instances", params={**window, "runtimeStatus": "Running"}
    )
    assert whole_window.json() == {"instancesDeleted": 2}
    assert_no_body(status(host, running[0]), 404)
    assert status(host, outside[0]).status_code == 200
