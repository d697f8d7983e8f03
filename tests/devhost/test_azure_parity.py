"""devhost behaves as the Azure Functions host with the Durable extension does.

Each test names the extension (Azure/azure-functions-durable-extension) or DurableTask
(Azure/durabletask) source it mirrors.
"""

from __future__ import annotations

import json

import httpx

from tests.devhost.support import run, start, unique


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
