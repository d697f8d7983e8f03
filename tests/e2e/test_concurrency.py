"""Many people at once: generated interleavings of portal actions, and the books still balance.

For each workflow Hypothesis (fixed seed, a bounded number of examples) generates bursts of
portal actions sent together: the same event from several people, different events at once,
copies of one request with and without an Idempotency-Key, and bursts racing a durable timer
(a clock advance sent in the same moment). Each example runs on an instance of its own, over
real HTTP, against devhost on the manual clock. After each example, once the host is idle:

- no instance failed;
- every 202 says `applied: true` and its action id is listed exactly once in the instance's
  action log, and every listed action was answered 202 to someone (nothing answered 409 was
  applied); copies of one keyed request share one action id;
- nothing happened twice: claims count at most MAX_SUBMISSIONS submissions and pay at most
  once, shipments book at most once, a task takes its parts once;
- the instance is then terminated through the app, and every lock it held is free at once.

Why this holds is in orchestrators/inbox.py (each wait listens under a name of its own).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import count
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from domain.claims import MAX_SUBMISSIONS
from domain.maintenance import task_instance_id
from tests.e2e.conftest import App
from tests.e2e.portal import RETRIES_RUN_OUT, effects
from tests.e2e.test_claims import INVOICE, claim, file_claim
from tests.e2e.test_maintenance import order
from tests.e2e.test_shipments import booked, shipment

SEED = 20261207
EXAMPLES = 6
KEY = "Idempotency-Key"
IDS = count(1)
EXAMPLE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Portal:
    """Requests sent together; what each was answered."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.answers: list[tuple[str, dict[str, Any], httpx.Response]] = []

    def burst(self, requests: list[tuple[str, dict[str, Any], str | None]], advance: float = 0):
        """Send `(path, body, key)` requests at the same moment (and, with `advance`, move the
        clock by that many seconds in the same moment); keep every answer."""
        jobs: list[Callable[[], Any]] = [(lambda r=request: self._send(*r)) for request in requests]
        if advance:
            jobs.append(lambda: self.app.host.advance(seconds=advance))
        start = threading.Barrier(len(jobs))

        def run(job: Callable[[], Any]) -> Any:
            start.wait()
            return job()

        with ThreadPoolExecutor(len(jobs)) as pool:
            list(pool.map(run, jobs))
        self.app.host.idle()

    def _send(self, path: str, body: dict[str, Any], key: str | None) -> None:
        headers = {KEY: key} if key else {}
        with self.app.host.client(timeout=60.0) as http:
            response = http.post(path, json=body, headers=headers)
        assert response.status_code in (202, 409), response.text  # never a 500 or a 4xx
        self.answers.append((path, body, response))

    def applied(self) -> list[str]:
        """The action ids of every 202, each applied."""
        accepted = [r for _, _, r in self.answers if r.status_code == 202]
        assert all(r.json()["applied"] is True for r in accepted), [r.text for r in accepted]
        return [r.json()["actionId"] for r in accepted]

    def check_copies_share_their_id(self) -> None:
        """Copies of one keyed request (same path, body, key) were answered alike."""
        by_request: dict[tuple, set] = {}
        for path, body, response in self.answers:
            key = response.request.headers.get(KEY)
            if key and response.status_code == 202:
                request = (path, repr(sorted(body.items())), key)
                by_request.setdefault(request, set()).add(response.json()["actionId"])
        assert all(len(ids) == 1 for ids in by_request.values()), by_request


def check_action_log(portal: Portal, view: dict[str, Any]) -> list[dict[str, Any]]:
    """The instance's action log against what callers were told; returns the log."""
    assert view["runtimeStatus"] != "Failed", view
    log = view["actions"] or (view.get("output") or {}).get("actions") or []
    logged = Counter(action["actionId"] for action in log)
    assert all(times == 1 for times in logged.values()), log
    told = set(portal.applied())
    assert told <= set(logged), ("a 202 that is not in the action log", told - set(logged))
    assert set(logged) <= told, ("an applied action answered 409", set(logged) - told)
    portal.check_copies_share_their_id()
    return log


WEBHOOKS = "/runtime/webhooks/durabletask"


def terminate_and_check_locks(app: App, instance_id: str, resources: list[str]) -> None:
    """Terminate through the app (as support would); every lock it held is free at once."""
    view = app.http.get(f"{WEBHOOKS}/instances/{instance_id}").json()
    if view["runtimeStatus"] in ("Pending", "Running", "Suspended"):
        body = {"reason": "concurrency example done", "actor": "support"}
        response = app.http.post(f"/api/workflows/{instance_id}/terminate", json=body)
        assert response.status_code == 202, response.text
        app.host.idle()
    for resource in resources:
        assert app.view(f"/api/locks/{resource}")["holder"] != instance_id


# -- claims -----------------------------------------------------------------------------------

KINDS = ("photo", "police_report", "invoice")
ADJUSTERS = ("adjuster-ana", "adjuster-ben")

claim_request = st.tuples(
    st.sampled_from(KINDS), st.sampled_from(ADJUSTERS), st.sampled_from([None, "k1", "k2"])
)
claim_burst = st.tuples(
    st.lists(claim_request, min_size=1, max_size=5),
    st.sampled_from([0, 0, 3 * 86400]),  # now and then a reminder's timer races the burst
    st.booleans(),  # a supervisor's decision in the same moment (the claim cannot take it yet)
)


@pytest.fixture(scope="module")
def concurrent(start_app) -> App:
    """The app; the payouts of CLM-FAILS always fail (its claim fails once retries run out)."""
    return start_app(SIMULATOR_FAILURES=json.dumps({"payments.pay:CLM-FAILS": 1000}))


@seed(SEED)
@EXAMPLE
@given(bursts=st.lists(claim_burst, min_size=1, max_size=3))
def test_claims_take_each_submission_once_whatever_arrives_together(concurrent: App, bursts):
    app = concurrent
    claim_id = f"CLM-CC{next(IDS)}"
    policy = f"POL-POLICE-CC{claim_id[6:]}"
    path = file_claim(app, claim(claim_id, policy, amount=20000, documents=[INVOICE]))
    app.wait_stage(path, "awaiting_documents")
    portal = Portal(app)
    for n, (requests, advance, decide) in enumerate(bursts):
        sent = [
            (
                f"{path}/documents",
                {
                    "documents": [
                        {"documentId": f"{kind}-{n}", "kind": kind, "url": "https://f.example/d"}
                    ],
                    "actor": who,
                },
                key and f"{who}-{key}-{n}",
            )
            for kind, who, key in requests
        ]
        if decide:
            sent.append((f"{path}/decision", {"decision": "approve", "actor": "sup"}, None))
        portal.burst(sent, advance)

    view = app.view(path)
    log = check_action_log(portal, view)
    submissions = [a for a in log if a["event"] == "DocumentsSubmitted"]
    assert len(submissions) <= MAX_SUBMISSIONS
    output = view.get("output") or {}
    if output.get("outcome") == "abandoned":
        reasons = " ".join(output["reasons"])
        assert f"after {MAX_SUBMISSIONS} submissions" in reasons or "reminders" in reasons
        if "submissions" in reasons:
            assert len(submissions) == MAX_SUBMISSIONS, (reasons, log)
    assert len(app.ledger("payout", claimId=claim_id)) <= 1
    terminate_and_check_locks(app, f"claim-{claim_id}", [f"policy:{policy}"])


# -- shipments --------------------------------------------------------------------------------

shipment_request = st.tuples(
    st.sampled_from(["pickup", "pickup", "delivery", "cancel"]),
    st.sampled_from(["dispatch-ana", "dispatch-ben"]),
    st.sampled_from([None, "k1"]),
)


shipment_burst = st.tuples(
    st.lists(shipment_request, min_size=1, max_size=5),
    st.sampled_from([0, 0, 15 * 60, 6 * 3600]),  # the pickup's escalation or its deadline racing
)


@seed(SEED)
@EXAMPLE
@given(bursts=st.lists(shipment_burst, min_size=1, max_size=3))
def test_shipments_take_each_action_once_whatever_arrives_together(concurrent: App, bursts):
    app = concurrent
    shipment_id = f"SHP-CC{next(IDS)}"
    assert app.http.post("/api/shipments", json=shipment(app, shipment_id)).status_code == 202
    view = booked(app, shipment_id)
    portal = Portal(app)
    path = f"/api/shipments/{shipment_id}"
    for n, (requests, advance) in enumerate(bursts):
        bodies = {"pickup": {}, "delivery": {"receivedBy": "dock"}, "cancel": {"reason": "x"}}
        portal.burst(
            [
                (f"{path}/{action}", {**bodies[action], "actor": who}, key and f"{who}-{key}-{n}")
                for action, who, key in requests
            ],
            advance,
        )

    view = app.view(path)
    log = check_action_log(portal, view)
    events = Counter(action["event"] for action in log)
    assert all(times == 1 for times in events.values()), log  # each happens once at most
    assert len(effects(app, f"shipment-{shipment_id}", "booking")) <= 1
    outcome = (view.get("output") or {}).get("outcome")
    if events["Cancel"]:
        assert outcome == "cancelled", view
    if outcome == "missed_pickup":
        assert not events["PickupConfirmed"], log
    if events["Delivered"]:
        assert events["PickupConfirmed"], log  # delivered only after a pickup
    terminate_and_check_locks(app, f"shipment-{shipment_id}", [])


# -- maintenance ------------------------------------------------------------------------------

maintenance_request = st.tuples(
    st.sampled_from(["parts-received", "parts-received", "approval"]),
    st.sampled_from(["controller-ana", "controller-ben"]),
    st.sampled_from([None, "k1"]),
)


maintenance_burst = st.tuples(
    st.lists(maintenance_request, min_size=1, max_size=5),
    st.sampled_from([0, 0, 86400]),  # a parts or approval reminder's timer racing the burst
)


@seed(SEED)
@EXAMPLE
@given(bursts=st.lists(maintenance_burst, min_size=1, max_size=3))
def test_maintenance_takes_parts_and_approval_once_whatever_arrives_together(
    concurrent: App, bursts
):
    app = concurrent
    n = next(IDS)
    order_id, tail = f"MO-CC{n}", f"D-CC{n:02d}"
    parts = [{"partNumber": "OOS-PUMP-7", "quantity": 1}]
    task = {"taskId": "T1", "description": "Replace pump", "parts": parts}
    assert (
        app.http.post("/api/maintenance-orders", json=order(order_id, tail, task)).status_code
        == 202
    )
    path = f"/api/maintenance-orders/{order_id}"
    app.advance(seconds=60)
    app.wait(path, lambda v: "PartsReceived" in v["waitingFor"], "parts")
    portal = Portal(app)
    for k, (requests, advance) in enumerate(bursts):
        bodies = {"parts-received": {"taskId": "T1"}, "approval": {"approved": True}}
        portal.burst(
            [
                (f"{path}/{action}", {**bodies[action], "actor": who}, key and f"{who}-{key}-{k}")
                for action, who, key in requests
            ],
            advance,
        )

    view = app.view(path)
    task_id = task_instance_id(f"maintenance-{order_id}", "T1")
    task = app.http.get(f"{WEBHOOKS}/instances/{task_id}")
    task_status = task.json()
    task_actions = (task_status["customStatus"] or {}).get("actions") or []
    assert task_status["runtimeStatus"] != "Failed", task_status
    order_log = check_action_log(portal, {**view, "actions": [*view["actions"], *task_actions]})
    events = Counter(a["event"] for a in order_log)
    assert events["PartsReceived"] <= 1 and events["ReturnToServiceApproval"] <= 1, order_log
    terminate_and_check_locks(app, f"maintenance-{order_id}", [f"aircraft:{tail}"])
    task_status = app.http.get(f"{WEBHOOKS}/instances/{task_id}").json()["runtimeStatus"]
    assert task_status in ("Completed", "Terminated")  # terminating an order stops its tasks


# -- locks of instances that end without releasing them ---------------------------------------


def test_a_claim_terminated_while_holding_its_policy_hands_the_lock_on_at_once(concurrent: App):
    """Terminated through the app, a holder's lock passes to the next waiter with no clock
    moving: the release does not wait for the lock's 12-hour lease check."""
    app = concurrent
    first = file_claim(app, claim("CLM-TERM-1", "POL-TERM", amount=20000))
    app.wait_stage(first, "awaiting_decision")
    second = file_claim(app, claim("CLM-TERM-2", "POL-TERM", amount=20000))
    app.wait_stage(second, "waiting_for_policy")
    assert app.view("/api/locks/policy:POL-TERM")["queue"] == ["claim-CLM-TERM-2"]

    body = {"reason": "filed twice", "actor": "support"}
    response = app.http.post("/api/workflows/claim-CLM-TERM-1/terminate", json=body)
    assert response.status_code == 202, response.text
    assert response.json()["releasedLocks"] == ["policy:POL-TERM"]

    assert app.wait_stage(second, "awaiting_decision")["runtimeStatus"] == "Running"
    assert app.view("/api/locks/policy:POL-TERM")["holder"] == "claim-CLM-TERM-2"
    assert app.view(first)["runtimeStatus"] == "Terminated"
    again = app.http.post("/api/workflows/claim-CLM-TERM-1/terminate", json=body)
    assert again.status_code == 409 and "Terminated" in again.json()["detail"]
    unknown = app.http.post("/api/workflows/claim-NOPE/terminate", json=body)
    assert unknown.status_code == 404
    assert app.http.post("/api/workflows/claim-CLM-TERM-2/terminate", json={}).status_code == 400


def test_a_claim_that_fails_while_holding_its_policy_hands_the_lock_on_at_once(concurrent: App):
    """A payout that still fails after its retries fails the claim; the lock it held passes
    to the next claim on the policy as it fails, not at the lease check."""
    app = concurrent
    failing = file_claim(app, claim("CLM-FAILS", "POL-FAILS"))
    app.wait_stage(failing, "paying")
    waiting = file_claim(app, claim("CLM-AFTER-FAIL", "POL-FAILS", amount=20000))
    app.wait_stage(waiting, "waiting_for_policy")

    app.advance(seconds=RETRIES_RUN_OUT)

    assert app.view(failing)["runtimeStatus"] == "Failed"
    assert app.wait_stage(waiting, "awaiting_decision")["runtimeStatus"] == "Running"
    assert app.view("/api/locks/policy:POL-FAILS")["holder"] == "claim-CLM-AFTER-FAIL"

    # Rewound now, it would pay while the other claim holds its policy: refused, naming why.
    body = {"reason": "payments fixed", "actor": "support"}
    refused = app.http.post("/api/workflows/claim-CLM-FAILS/rewind", json=body)
    assert refused.status_code == 409, refused.text
    assert "claim-CLM-AFTER-FAIL holds policy:POL-FAILS" in refused.json()["detail"]
    app.host.idle()  # the route took its place in the queue back: a signal, processed since
    assert app.view(failing)["runtimeStatus"] == "Failed"
    assert app.view("/api/locks/policy:POL-FAILS")["queue"] == []
