"""Durable entities: one operation at a time in arrival order, persistent state, destruct,
signals from clients and orchestrations, and call_entity replies as the extension sends them."""

from __future__ import annotations

import json

from tests.devhost.support import WEBHOOKS, assert_error, assert_no_body, run, unique


def signal(host, name: str, key: str, op: str, value=None):
    kwargs = {} if value is None else {"json": value}
    return host.http.post(f"{WEBHOOKS}/entities/{name}/{key}", params={"op": op}, **kwargs)


def state_becomes(host, name: str, key: str, expected):
    """Once the host has run every queued operation, the entity's state is `expected`."""
    host.idle()
    response = host.http.get(f"{WEBHOOKS}/entities/{name}/{key}")
    assert (response.status_code, response.json()) == (200, expected)


def test_signals_update_state_that_reads_back(host):
    key = unique("c")

    assert signal(host, "counter", key, "add", 5).status_code == 202
    state_becomes(host, "counter", key, 5)
    assert signal(host, "counter", key, "add", 7).status_code == 202
    state_becomes(host, "counter", key, 12)

    response = host.http.get(f"{WEBHOOKS}/entities/counter/{key}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    # Entity names are case-insensitive, as in Azure.
    assert host.http.get(f"{WEBHOOKS}/entities/Counter/{key}").json() == 12


def test_operations_run_one_at_a_time_in_arrival_order(host):
    key = unique("order")

    for n in range(60):
        assert signal(host, "ledger", key, "append", n).status_code == 202

    state_becomes(host, "ledger", key, list(range(60)))


def test_unknown_entity_is_404_without_a_body(host):
    assert_no_body(host.http.get(f"{WEBHOOKS}/entities/counter/{unique('none')}"), 404)


def test_a_bad_signal_body_is_400_and_changes_nothing(host):
    key = unique("bad")
    signal(host, "counter", key, "add", 1)
    state_becomes(host, "counter", key, 1)

    response = host.http.post(
        f"{WEBHOOKS}/entities/counter/{key}",
        params={"op": "add"},
        content=b"{nope",
        headers={"content-type": "application/json"},
    )

    assert_error(response, 400)
    signal(host, "counter", key, "add", 10)
    state_becomes(host, "counter", key, 11)


def test_destruct_on_exit_deletes_the_entity(host):
    key = unique("gone")
    signal(host, "ledger", key, "append", "x")
    state_becomes(host, "ledger", key, ["x"])

    assert signal(host, "ledger", key, "delete").status_code == 202

    host.idle()
    assert host.http.get(f"{WEBHOOKS}/entities/ledger/{key}").status_code == 404
    sdk = host.http.get(f"/api/entities/{key}").json()
    assert sdk == {"exists": False, "state": None}


def test_sdk_client_signals_and_reads_entities(host):
    key = unique("sdk")
    assert host.http.get(f"/api/entities/{key}").json() == {"exists": False, "state": None}

    assert host.http.post(f"/api/entities/{key}", params={"op": "add"}, json=3).status_code == 202
    assert host.http.post(f"/api/entities/{key}", params={"op": "add"}, json=4).status_code == 202

    host.idle()
    assert host.http.get(f"/api/entities/{key}").json() == {"exists": True, "state": 7}
    assert host.http.get(f"{WEBHOOKS}/entities/counter/{key}").json() == 7
    assert host.http.post(f"/api/entities/{key}", params={"op": "reset"}, json=0).status_code == 202
    host.idle()
    assert host.http.get(f"/api/entities/{key}").json()["exists"] is False


def test_orchestration_signals_and_calls_with_replies_as_the_extension_sends_them(host):
    key = unique("orch")

    body = run(host, "entity_user", key)

    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == {"total": 15, "problem": "counters cannot explode"}
    assert host.http.get(f"{WEBHOOKS}/entities/counter/{key}").json() == 15
    events = body["historyEvents"]
    sent = [e for e in events if e["EventType"] == "EventSent"]
    raised = [e for e in events if e["EventType"] == "EventRaised"]
    assert {e["InstanceId"] for e in sent} == {f"@counter@{key}"}
    # History rows show each Input as the stored JSON text.
    requests = [json.loads(e["Input"]) for e in sent]
    replies = [json.loads(e["Input"]) for e in raised]
    assert [(r["op"], r["signal"]) for r in requests] == [
        ("add", True),
        ("add", False),
        ("get", False),
        ("explode", False),
    ]
    # Each call is answered by an EventRaised named after the request's id; signals get none.
    assert [e["Name"] for e in raised] == [r["id"] for r in requests[1:]]
    assert replies[1]["result"] == "15"
    assert "exceptionType" in replies[2]
    assert "exceptionType" not in replies[0]


def test_signals_from_an_orchestration_arrive_before_its_later_call(host):
    key = unique("writer")
    signal(host, "ledger", key, "append", "client first")
    state_becomes(host, "ledger", key, ["client first"])

    body = run(host, "ledger_writer", key)

    assert body["output"] == ["client first", "from", "the", "orchestration"]


def test_entity_state_survives_a_restart(host):
    key = unique("kept")
    signal(host, "ledger", key, "append", "before restart")
    state_becomes(host, "ledger", key, ["before restart"])

    host.stop()
    host.start()

    assert host.http.get(f"{WEBHOOKS}/entities/ledger/{key}").json() == ["before restart"]
    signal(host, "ledger", key, "append", "after")
    state_becomes(host, "ledger", key, ["before restart", "after"])


def test_accepted_signals_survive_sigkill(host):
    key = unique("crash")
    for n in range(20):
        assert signal(host, "ledger", key, "append", n).status_code == 202

    host.stop(kill=True)
    host.start()

    state_becomes(host, "ledger", key, list(range(20)))
