"""devhost behaves as the Azure Functions host with the Durable extension does.

Each test names the extension (Azure/azure-functions-durable-extension) or DurableTask
(Azure/durabletask) source it mirrors.
"""

from __future__ import annotations

import json

import httpx

from tests.devhost.support import WEBHOOKS, run, start, unique

CONTINUATION = "x-ms-continuation-token"


def test_an_activity_with_a_durable_client_binding_drives_other_instances(host):
    """DurableTaskExtension.Initialize registers the `DurableClientAttribute` binding rule with
    no restriction on the trigger, and BindingHelper.DurableOrchestrationClientToString builds
    the same payload (creation and management URLs, base and RPC URLs) for every function that
    declares it: an activity may raise events on, and read, other instances as an HTTP trigger
    does."""
    target = start(host, "collect_events", unique("target"), 1)

    relay = run(host, "relay", {"target": target, "event": "Item", "data": {"n": 7}})

    assert relay["runtimeStatus"] == "Completed", relay
    # The SDK's raise_event encodes its payload once more (SDK issue #295), as from HTTP.
    [received] = host.wait_for(target)["output"]
    assert json.loads(received) == {"n": 7}
    assert relay["output"]["targetStatus"] in ("Running", "Completed")
    # The management URLs in the binding point at this host and carry the system key.
    status_uri = relay["output"]["statusUri"]
    assert status_uri.startswith(f"http://127.0.0.1:{host.port}/runtime/webhooks/durabletask/")
    assert httpx.get(status_uri).json()["instanceId"] == target


def waiting_instances(host, count: int, prefix: str) -> list[str]:
    """`count` instances that stay Running, each waiting for an event."""
    ids = [start(host, "collect_events", f"{prefix}-{n:04d}", 1) for n in range(count)]
    for instance_id in ids:
        host.wait_for(instance_id, statuses=("Running",))
    return ids


def test_instance_listing_answers_pages_of_100_with_a_continuation_token(host):
    """HttpApiHandler.HandleGetStatusRequestAsync: `top` (OrchestrationStatusQueryCondition
    .PageSize, default 100) rows per answer and the next page's token in the
    x-ms-continuation-token response header, read back from the same request header."""
    prefix = unique("page")
    created = waiting_instances(host, 130, prefix)
    params = {"instanceIdPrefix": prefix}

    first = host.http.get(f"{WEBHOOKS}/instances", params=params)
    assert first.status_code == 200
    assert len(first.json()) == 100
    token = first.headers[CONTINUATION]
    rest = host.http.get(f"{WEBHOOKS}/instances", params=params, headers={CONTINUATION: token})
    assert len(rest.json()) == 30
    assert not rest.headers.get(CONTINUATION)
    listed = [row["instanceId"] for row in first.json() + rest.json()]
    assert sorted(listed) == sorted(created)

    sized = host.http.get(f"{WEBHOOKS}/instances", params={**params, "top": "7"})
    assert len(sized.json()) == 7 and sized.headers[CONTINUATION]


def test_the_sdk_client_sees_only_the_first_page_as_on_azure(host):
    """DurableOrchestrationClient.get_status_by sends no `top` and ignores the continuation
    header, so an app that lists through it sees at most 100 instances
    (HttpApiHandler.HandleGetStatusRequestAsync, OrchestrationStatusQueryCondition.PageSize)."""
    waiting_instances(host, 105, unique("sdk"))

    seen = host.http.get("/api/query", params={"status": "Running"}).json()

    assert len(seen) == 100


def test_listing_filters_are_parsed_as_the_extension_parses_them(host):
    """HttpApiHandler.TryGetIEnumerableQueryParameterValue uses Enum.TryParse (exact names or
    numbers; values that do not parse are skipped, and none left means no filter);
    TryGetDateTimeQueryParameterValue and TryGetIntQueryParameterValue skip what does not parse."""
    prefix = unique("filters")
    running = start(host, "collect_events", f"{prefix}-running", 1)
    host.wait_for(running, statuses=("Running",))
    done = start(host, "hello_sequence", f"{prefix}-done", "x")
    host.wait_for(done)

    def ids(**query: str) -> set[str]:
        response = host.http.get(
            f"{WEBHOOKS}/instances", params={"instanceIdPrefix": prefix, **query}
        )
        assert response.status_code == 200, response.text
        return {row["instanceId"] for row in response.json()}

    assert ids(runtimeStatus="Completed") == {done}
    assert ids(runtimeStatus="1") == {done}
    assert ids(runtimeStatus="Sleepy,Running") == {running}
    assert ids(runtimeStatus="running") == {running, done}
    assert ids(createdTimeFrom="soon") == {running, done}
    assert ids(top="zero") == {running, done}
