"""Chaos: devhost is SIGKILLed at random points of a mixed workload, then the books must balance.

Claims (paid automatically, decided by a supervisor, chased for documents, two on one policy),
shipments (delivered, one cancelled) and maintenance orders (parts in stock and on order) run
on a manual clock while a seeded random schedule kills the host right after some of the
portal's requests and restarts it on the same task hub. Actions go as several copies at once
with one Idempotency-Key (a portal retrying over a flaky network), some again after a kill (a
portal that lost the answer), and documents and decisions race another person's own. Every
wait is on the host's own signals (`/devhost/idle`, `advance`), so the verdict does not depend
on timing.

Then: every workflow reached an outcome; at most one payout per claim and one booking per
shipment; no notification sent twice; no lock held; no activity result recorded twice in any
history, and no action applied twice.
"""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.devhost.support import raw_history
from tests.e2e.conftest import App

SEED = 20261129
KILLS_AT_MOST = 6
KILL_CHANCE = 0.3
ROUNDS_AT_MOST = 60
WEBHOOKS = "/runtime/webhooks/durabletask"
TASK_COMPLETED, TASK_FAILED = 5, 6  # EventType numbers in the task hub
DOCS = [
    {"documentId": "I1", "kind": "invoice", "url": "https://files.example/i1.pdf"},
    {"documentId": "P1", "kind": "photo", "url": "https://files.example/p1.jpg"},
]
POLICE_REPORT = {"documentId": "R1", "kind": "police_report", "url": "https://files.example/r1"}
RIVALS = {
    "documents": {"documents": [DOCS[1]], "actor": "second adjuster"},
    "decision": {"decision": "reject", "actor": "second supervisor"},
}
"""What another person sends in the same moment as the portal's own action."""


def claim(claim_id: str, policy: str, amount: float) -> tuple[str, dict[str, Any]]:
    return "/api/claims", {
        "claimId": claim_id,
        "policyNumber": policy,
        "claimant": {"name": "Ada", "email": "ada@example.com"},
        "lossDate": "2026-01-02",
        "amount": amount,
        "currency": "EUR",
        "description": "Storm damage",
        "documents": DOCS,
    }


def shipment(shipment_id: str, now: datetime) -> tuple[str, dict[str, Any]]:
    return "/api/shipments", {
        "shipmentId": shipment_id,
        "origin": {"postalCode": "10115", "country": "DE"},
        "destination": {"postalCode": "75001", "country": "FR"},
        "pickupWindow": {
            "start": (now + timedelta(hours=1)).isoformat(),
            "end": (now + timedelta(hours=9)).isoformat(),
        },
        "pallets": 2,
        "weightKg": 500,
    }


def order(order_id: str, tail: str, part: str) -> tuple[str, dict[str, Any]]:
    return "/api/maintenance-orders", {
        "orderId": order_id,
        "tailNumber": tail,
        "aircraftType": "A320",
        "requestedBy": "ops@example.com",
        "tasks": [
            {
                "taskId": "T1",
                "description": "Replace",
                "parts": [{"partNumber": part, "quantity": 1}],
            }
        ],
    }


class Chaos:
    """The portal's side of the run: requests that survive a killed host, and the kills."""

    def __init__(self, app: App, rng: random.Random) -> None:
        self.app = app
        self.rng = rng
        self.kills = 0

    def maybe_kill(self) -> None:
        """SIGKILL the host (seeded chance), restart it on the same task hub, let it recover."""
        if self.kills < KILLS_AT_MOST and self.rng.random() < KILL_CHANCE:
            self.kills += 1
            self.app.host.stop(kill=True)
            self.app.host.start()
            self.app.http = self.app.host.http  # the restarted host's client
            self.app.host.idle(timeout=60)

    def post(self, path: str, body: dict[str, Any], key: str) -> httpx.Response:
        """One portal request, often sent as several copies at once (a portal retrying over a
        flaky network: every copy is answered alike); sometimes the host dies after answering
        and the portal, having lost the answer, sends it again with the same key: the answer
        must be the same."""
        headers = {"Idempotency-Key": key}
        first = self.copies(path, body, headers)
        if self.rng.random() < KILL_CHANCE:
            self.maybe_kill()
            again = self.app.host.http.post(path, json=body, headers=headers)
            if is_action(path) and first.status_code == 202:
                assert (again.status_code, again.json()) == (202, first.json()), again.text
            if not is_action(path):  # a second start of one id is refused, as documented
                assert again.status_code == 409, again.text
        return first

    def copies(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        """1-3 copies of a request sent together; for an action, they share one answer."""
        count = self.rng.randint(1, 3) if is_action(path) else 1

        def send(_: int) -> httpx.Response:
            with self.app.host.client(timeout=60.0) as http:
                return http.post(path, json=body, headers=headers)

        with ThreadPoolExecutor(count) as pool:
            answers = list(pool.map(send, range(count)))
        codes = {answer.status_code for answer in answers}
        if codes == {202} and is_action(path):
            assert len({answer.json()["actionId"] for answer in answers}) == 1, answers
        return answers[0]

    def rival(self, path: str, body: dict[str, Any]) -> None:
        """Another person's own request (no key), sent in the same moment as the portal's."""
        with self.app.host.client(timeout=60.0) as http:
            answer = http.post(path, json=body)
        assert answer.status_code in (202, 409), answer.text


def is_action(path: str) -> bool:
    """`/api/<collection>/<id>/<action>`, not a start (`/api/<collection>`)."""
    return path.count("/") >= 4


def next_action(path: str, view: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """What a portal sends to an instance that waits, or None."""
    waiting = set(view["waitingFor"])
    if "ClaimDecision" in waiting:
        return "decision", {"decision": "approve", "actor": "supervisor"}
    if "DocumentsSubmitted" in waiting:
        return "documents", {"documents": [POLICE_REPORT], "actor": "adjuster"}
    if "SHP-CANCEL" in path and "Cancel" in waiting:
        return "cancel", {"reason": "customer withdrew", "actor": "dispatch"}
    if "PickupConfirmed" in waiting:
        return "pickup", {"actor": "dispatch"}
    if "Delivered" in waiting:
        return "delivery", {"actor": "dispatch"}
    if "PartsReceived" in waiting:
        return "parts-received", {"taskId": "T1", "actor": "stores"}
    if "ReturnToServiceApproval" in waiting:
        return "approval", {"approved": True, "actor": "inspector"}
    return None


@pytest.mark.timeout(120)
def test_random_kills_leave_every_workflow_finished_and_nothing_done_twice(start_app):
    app = start_app()
    chaos = Chaos(app, random.Random(SEED))
    now = datetime.fromisoformat(app.host.clock()["now"])
    starts = [
        claim("CLM-C1", "POL-C1", 120),  # paid automatically
        claim("CLM-C2", "POL-CSHARED", 9000),  # a supervisor decides
        claim("CLM-C3", "POL-CSHARED", 150),  # waits for CLM-C2's policy lock
        claim("CLM-C4", "POL-POLICE-C4", 300),  # chased for a police report
        shipment("SHP-C1", now),
        shipment("SHP-C2", now),
        shipment("SHP-CANCEL", now),
        order("MO-C1", "D-ACH1", "BRK-100"),  # parts in stock
        order("MO-C2", "D-ACH2", "OOS-PUMP-1"),  # parts on order
    ]
    chaos.rng.shuffle(starts)
    paths = []
    for collection, body in starts:
        business_id = next(v for k, v in body.items() if k.endswith("Id"))
        response = chaos.post(collection, body, key=f"start-{business_id}")
        assert response.status_code in (202, 409), response.text
        paths.append(f"{collection}/{business_id}")
        chaos.maybe_kill()

    for _ in range(ROUNDS_AT_MOST):
        app.host.idle(timeout=60)
        views = {path: app.view(path) for path in paths}
        running = [p for p, v in views.items() if v["runtimeStatus"] not in ("Completed", "Failed")]
        if not running:
            break
        for path in running:
            action = next_action(path, views[path])
            if action is not None:
                suffix, body = action
                url = f"{path}/{suffix}"
                with ThreadPoolExecutor(2) as pool:  # a second adjuster submits at once
                    rival = (
                        pool.submit(chaos.rival, url, RIVALS[suffix]) if suffix in RIVALS else None
                    )
                    answer = chaos.post(url, body, key=f"{path}:{suffix}")
                    if rival is not None:
                        rival.result()
                assert answer.status_code in (202, 409), answer.text
                chaos.maybe_kill()
        app.advance(minutes=30)

    assert chaos.kills >= 3, "the seed should kill the host a few times"
    assert_every_workflow_reached_an_outcome(app, paths)
    assert_no_effect_twice(app)
    assert_no_lock_held(app)
    assert_no_history_records_anything_twice(app)


def assert_every_workflow_reached_an_outcome(app: App, paths: list[str]) -> None:
    for path in paths:
        view = app.view(path)
        assert view["runtimeStatus"] == "Completed", (path, view)
        assert view["output"]["outcome"], (path, view)


def assert_no_effect_twice(app: App) -> None:
    payouts = Counter(row["claimId"] for row in app.ledger("payout"))
    assert payouts and max(payouts.values()) == 1, payouts
    bookings = Counter(row["idempotencyKey"].split(":")[0] for row in app.ledger("booking"))
    assert bookings and max(bookings.values()) == 1, bookings
    messages = app.ledger("message")
    sent = Counter((row["recipient"], row["template"], str(row["data"])) for row in messages)
    assert max(sent.values()) == 1, [message for message, n in sent.items() if n > 1]


def assert_no_lock_held(app: App) -> None:
    locks = app.http.get(f"{WEBHOOKS}/entities/lock").json()
    assert locks, "the workload takes locks"
    for entity in locks:
        resource = entity["entityId"]["key"]
        view = app.view(f"/api/locks/{resource}")
        assert view["holder"] is None and view["queue"] == [], view


def assert_no_history_records_anything_twice(app: App) -> None:
    instances = app.http.get(f"{WEBHOOKS}/instances", params={"top": "1000"}).json()
    assert len(instances) >= 9
    for instance in instances:
        history = raw_history(app.host.hub, instance["instanceId"])
        results = Counter(
            event["TaskScheduledId"]
            for event in history
            if event["EventType"] in (TASK_COMPLETED, TASK_FAILED)
        )
        assert not results or max(results.values()) == 1, (instance["instanceId"], results)
        status = app.http.get(f"{WEBHOOKS}/instances/{instance['instanceId']}").json()
        record = status.get("output") if isinstance(status.get("output"), dict) else None
        actions = (record or status.get("customStatus") or {}).get("actions") or []
        taken = Counter(action["actionId"] for action in actions)
        assert not taken or max(taken.values()) == 1, (instance["instanceId"], actions)
        once = Counter(a["event"] for a in actions if a["event"] != "DocumentsSubmitted")
        assert not once or max(once.values()) == 1, (instance["instanceId"], actions)
