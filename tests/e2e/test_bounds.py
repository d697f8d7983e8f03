"""Every wait on people is bounded, so no instance's history grows without end.

A claim takes at most MAX_SUBMISSIONS document submissions of at most
MAX_DOCUMENTS_PER_SUBMISSION documents, and at most MAX_DOCUMENTS_PER_CLAIM documents in all;
the excess is refused (409 for one submission too many, 413 for too many documents) and
changes nothing. Maintenance follow-ups stop after FOLLOWUPS_AT_MOST: the wait goes on without
timers, so a task or an order nobody answers adds nothing to its history.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.claims import (
    MAX_DOCUMENTS_PER_CLAIM,
    MAX_DOCUMENTS_PER_SUBMISSION,
    MAX_SUBMISSIONS,
)
from domain.maintenance import FOLLOWUPS_AT_MOST
from tests.e2e.conftest import App, assert_problem
from tests.e2e.portal import messages, output_of

DAY = 86400
MAX_CLAIM_HISTORY_EVENTS = 1500
MAX_CLAIM_HISTORY_BYTES = 1_000_000
"""The README's stated bound for the largest claim: 100 documents, 5 submissions."""


def documents(prefix: str, count: int, kind: str = "estimate") -> list[dict[str, str]]:
    return [
        {"documentId": f"{prefix}{n}", "kind": kind, "url": f"https://files.example/{prefix}{n}"}
        for n in range(count)
    ]


def file_claim(app: App, claim_id: str, docs: list[dict[str, str]]) -> str:
    body = {
        "claimId": claim_id,
        "policyNumber": f"POL-POLICE-{claim_id}",  # requires a police report nobody sends
        "claimant": {"name": "Ada", "email": "ada@example.com"},
        "lossDate": "2026-01-02",
        "amount": 300,
        "currency": "EUR",
        "description": "Stolen bicycle",
        "documents": docs,
    }
    assert app.http.post("/api/claims", json=body).status_code == 202
    return f"/api/claims/{claim_id}"


def runtime(app: App, instance_id: str, **query: str) -> dict[str, Any]:
    response = app.http.get(f"/runtime/webhooks/durabletask/instances/{instance_id}", params=query)
    assert response.status_code in (200, 202), response.text
    return response.json()


def submit(app: App, path: str, docs: list[dict[str, str]]):
    return app.http.post(f"{path}/documents", json={"documents": docs, "actor": "adjuster"})


def submit_and_wait(app: App, path: str, docs: list[dict[str, str]], left: int) -> None:
    """Submit, then wait until the claim has read them and waits again (or has finished)."""
    assert submit(app, path, docs).status_code == 202
    instance_id = "claim-" + path.rsplit("/", 1)[1]

    app.host.idle()
    status = runtime(app, instance_id)
    custom = status.get("customStatus") or {}
    assert status["runtimeStatus"] != "Running" or custom.get("submissionsLeft") == left, status


def test_a_claim_takes_a_bounded_number_of_documents(app: App):
    path = file_claim(app, "CLM-BIG", documents("S", 50, "invoice"))
    app.wait_stage(path, "awaiting_documents")

    too_many = documents("X", MAX_DOCUMENTS_PER_SUBMISSION + 1)
    problem = assert_problem(submit(app, path, too_many), 413)
    assert f"at most {MAX_DOCUMENTS_PER_SUBMISSION} documents" in problem["detail"]

    submit_and_wait(app, path, documents("A", 20), left=MAX_SUBMISSIONS - 1)
    submit_and_wait(app, path, documents("B", 20), left=MAX_SUBMISSIONS - 2)
    problem = assert_problem(submit(app, path, documents("C", 11)), 413)  # room for 10
    assert f"at most {MAX_DOCUMENTS_PER_CLAIM} documents" in problem["detail"]
    assert "room for 10 more" in problem["detail"]
    submit_and_wait(app, path, documents("D", 10), left=MAX_SUBMISSIONS - 3)
    assert_problem(submit(app, path, documents("E", 1)), 413)

    status = runtime(app, "claim-CLM-BIG", showHistory="true", showHistoryOutput="true")
    assert status["customStatus"]["documentsLeft"] == 0
    history = status["historyEvents"]
    assert len(history) <= MAX_CLAIM_HISTORY_EVENTS
    assert len(json.dumps(history)) <= MAX_CLAIM_HISTORY_BYTES


def test_a_claim_missing_documents_after_its_last_submission_is_abandoned(app: App):
    path = file_claim(app, "CLM-NAG", documents("I", 2, "invoice"))
    app.wait_stage(path, "awaiting_documents")
    for number in range(1, MAX_SUBMISSIONS + 1):
        submit_and_wait(app, path, documents(f"N{number}-", 1), left=MAX_SUBMISSIONS - number)

    view = app.wait_done(path)
    assert (view["runtimeStatus"], view["stage"]) == ("Completed", "abandoned")
    assert view["output"]["reasons"] == [
        f"still missing photo, police_report after {MAX_SUBMISSIONS} submissions"
    ]
    assert_problem(submit(app, path, documents("LATE", 1)), 409)
    lock = app.view("/api/locks/policy:POL-POLICE-CLM-NAG")
    assert lock["holder"] is None


def start_order(app: App, order_id: str, tail: str) -> str:
    body = {
        "orderId": order_id,
        "tailNumber": tail,
        "aircraftType": "A320",
        "requestedBy": "ops@example.com",
        "tasks": [
            {
                "taskId": "T1",
                "description": "Replace pump",
                "parts": [{"partNumber": "OOS-VALVE-3", "quantity": 1}],
            }
        ],
    }
    assert app.http.post("/api/maintenance-orders", json=body).status_code == 202
    return f"/api/maintenance-orders/{order_id}"


def follow_up_daily_until_they_stop(app: App, instance_id: str, *templates: str) -> None:
    """Cross FOLLOWUPS_AT_MOST + 2 days one at a time: each day up to the limit brings one
    follow-up message and the next day's timer; after it, days bring neither."""

    def counts() -> tuple[int, int]:
        history = runtime(app, instance_id, showHistory="true")["historyEvents"]
        timers = sum(1 for event in history if event["EventType"] == "TimerCreated")
        sent = sum(len(messages(app, instance_id.split(":")[0], t)) for t in templates)
        return sent, timers

    for day in range(FOLLOWUPS_AT_MOST + 3):
        if day:
            app.advance(days=1)
        else:
            app.host.idle()
        expected = (min(day, FOLLOWUPS_AT_MOST), min(day + 1, FOLLOWUPS_AT_MOST))
        assert counts() == expected, f"day {day}"


@pytest.mark.timeout(120)
def test_maintenance_follow_ups_stop_and_the_wait_goes_on_quietly(app: App):
    path = start_order(app, "MO-QUIET", "D-AQQQ")
    app.wait(path, lambda v: "PartsReceived" in v["waitingFor"], "a wait for the parts")
    order = "maintenance-MO-QUIET"
    follow_up_daily_until_they_stop(app, f"{order}:task:T1", "maintenance_parts_reminder")

    received = app.http.post(f"{path}/parts-received", json={"taskId": "T1", "actor": "stores"})
    assert received.status_code == 202, received.text
    app.wait_stage(path, "awaiting_return_to_service")
    follow_up_daily_until_they_stop(
        app, order, "maintenance_approval_reminder", "maintenance_approval_overdue"
    )
    approval = {"approved": True, "actor": "inspector"}
    assert app.http.post(f"{path}/approval", json=approval).status_code == 202

    decision = output_of(app, path)["decision"]
    assert (decision["reminders"], decision["escalated"]) == (FOLLOWUPS_AT_MOST - 1, True)
    assert len(messages(app, order, "maintenance_parts_reminder")) == FOLLOWUPS_AT_MOST


def test_an_approval_sent_while_follow_ups_go_out_is_not_lost(app: App):
    """The SDK hands an event to the newest open waiter of its name; a waiter left open by a
    timer that won must be the one reused, or an approval that arrives while a reminder is
    being sent completes a waiter nobody listens to, and the order waits for ever."""
    path = start_order(app, "MO-LATE", "D-ALAT")
    app.wait(path, lambda v: "PartsReceived" in v["waitingFor"], "a wait for the parts")
    received = app.http.post(f"{path}/parts-received", json={"taskId": "T1", "actor": "stores"})
    assert received.status_code == 202, received.text
    app.wait_stage(path, "awaiting_return_to_service")

    app.advance(days=10)  # ten follow-ups fall due and go out one after the other
    approval = {"approved": True, "actor": "inspector"}
    assert app.http.post(f"{path}/approval", json=approval).status_code == 202

    assert output_of(app, path)["outcome"] == "returned_to_service"
