"""The instance page in a real browser: the summary, the timeline, the actions, the locks, and a
claim whose text is markup that must stay text."""

from __future__ import annotations

from datetime import datetime, timedelta

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.console.conftest import Console
from tests.console.stories import awaiting_decision, claim, file_claim
from tests.e2e.portal import RETRIES_RUN_OUT

XSS = "<img src=x onerror=alert(1)>"


def spans(console: Console, css: str) -> list[dict[str, str | None]]:
    """The name, label, outcome, attempt and actor (data-* attributes) of each timeline element
    matching `css`, read in one script: one WebDriver call per attribute made hundreds."""
    return console.driver.execute_script(
        "const keys = ['name', 'label', 'outcome', 'attempt', 'actor'];"
        "return [...document.querySelectorAll(arguments[0])].map(element =>"
        "  Object.fromEntries(keys.map(key => [key, element.getAttribute('data-' + key)])));",
        f"#timeline {css}",
    )


def forms_offered(console: Console) -> list[str]:
    console.find("#actions")
    forms = console.driver.find_elements(By.CSS_SELECTOR, "#actions form[data-event]")
    return [form.get_dom_attribute("data-event") for form in forms]


def test_a_claim_approved_from_the_console_completes(console: Console):
    instance = awaiting_decision(console.app, "CLM-I1", "POL-I1")
    console.open(f"#/instance/{instance}")
    assert forms_offered(console) == ["ClaimDecision"]
    form = console.find("#action-ClaimDecision")
    Select(form.find_element(By.NAME, "decision")).select_by_visible_text("Approve")
    form.find_element(By.NAME, "comment").send_keys("Photos match the invoice")
    form.find_element(By.NAME, "actor").send_keys("Grace Adjuster")
    form.find_element(By.TAG_NAME, "button").click()
    console.wait(lambda d: console.text("#runtime-status") == "Completed", "the claim to complete")
    output = console.app.view("/api/claims/CLM-I1")["output"]
    assert output["outcome"] == "approved" and output["decidedBy"]["name"] == "Grace Adjuster"
    assert output["comment"] == "Photos match the invoice"
    assert {"name": "ClaimDecision", "actor": "Grace Adjuster"}.items() <= next(
        mark for mark in spans(console, ".mark.event") if mark["name"] == "ClaimDecision"
    ).items()
    assert forms_offered(console) == []
    assert console.csp_violations() == []


def test_an_action_the_instance_no_longer_waits_for_shows_the_problem_detail(console: Console):
    instance = awaiting_decision(console.app, "CLM-I2", "POL-I2")
    console.open(f"#/instance/{instance}")
    form = console.find("#action-ClaimDecision")
    decided = console.app.http.post(
        "/api/claims/CLM-I2/decision", json={"decision": "reject", "actor": "someone else"}
    )
    assert decided.status_code == 202
    console.app.wait_done("/api/claims/CLM-I2")
    form.find_element(By.NAME, "actor").send_keys("Grace Adjuster")
    form.find_element(By.TAG_NAME, "button").click()
    result = console.wait(
        lambda d: form.find_element(By.CSS_SELECTOR, ".result.error").text or None,
        "the problem shown",
    )
    assert "not ClaimDecision" in result and instance in result


def test_a_shipment_timeline_shows_its_carrier_retries(console: Console):
    now = datetime.fromisoformat(console.app.host.advance(0))
    body = {
        "shipmentId": "SHP-I1",
        "origin": {"postalCode": "10115", "country": "DE"},
        "destination": {"postalCode": "75001", "country": "FR"},
        "pickupWindow": {
            "start": (now + timedelta(hours=1)).isoformat(),
            "end": (now + timedelta(hours=5)).isoformat(),
        },
        "pallets": 4,
        "weightKg": 1800,
    }
    assert console.app.http.post("/api/shipments", json=body).status_code == 202
    console.app.advance(seconds=RETRIES_RUN_OUT)  # the failing carriers' retries run out
    console.app.wait_stage("/api/shipments/SHP-I1", "awaiting_pickup")
    console.open("#/instance/shipment-SHP-I1")
    console.find("#timeline")
    for carrier in ("GHOSTLINE", "DEADHEAD"):
        attempts = [
            (s["outcome"], s["attempt"])
            for s in spans(console, ".span.activity")
            if s["name"] == "shipments_quote" and s["label"] == carrier
        ]
        assert attempts == [("retried", "1"), ("retried", "2"), ("failed", "3")], carrier
    fastfreight = [s for s in spans(console, ".span.activity") if s["label"] == "FASTFREIGHT"]
    assert {s["name"] for s in fastfreight} >= {"shipments_quote", "shipments_book"}
    assert all(s["outcome"] == "completed" for s in fastfreight)
    assert any(s["name"] == "retry delay" for s in spans(console, ".span.timer"))
    stages = [s["name"] for s in spans(console, ".mark.stage")]
    assert stages[:3] == ["quoting", "booking", "awaiting_pickup"]
    assert forms_offered(console) == ["PickupConfirmed", "Cancel"]
    assert console.csp_violations() == []
    console.screenshot("instance")


def test_a_claim_waiting_for_its_policy_shows_the_lock_and_the_wait(console: Console):
    holder = awaiting_decision(console.app, "CLM-I3", "POL-I3")
    file_claim(console.app, claim("CLM-I4", "POL-I3"))
    console.app.wait_stage("/api/claims/CLM-I4", "waiting_for_policy")
    console.open("#/instance/claim-CLM-I4")
    lock = console.find('#locks .lock[data-resource="policy:POL-I3"]')
    assert holder in lock.text and "claim-CLM-I4 (this instance)" in lock.text
    waits = [s for s in spans(console, ".span.lock") if s["name"] == "policy:POL-I3"]
    assert [s["outcome"] for s in waits] == ["waited"]
    assert forms_offered(console) == []


def test_markup_in_a_claim_is_shown_as_text_and_runs_nothing(console: Console):
    body = claim("CLM-XSS", "POL-XSS", description=XSS)
    body["claimant"] = {"name": "<script>alert(2)</script>", "email": "x@example.com"}
    path = file_claim(console.app, body)
    console.app.wait_stage(path, "awaiting_decision")
    console.open("#/instance/claim-CLM-XSS")
    summary = console.find("#summary")
    assert XSS in summary.text and "<script>alert(2)</script>" in summary.text
    assert summary.find_elements(By.CSS_SELECTOR, "img, script") == []
    assert console.driver.find_elements(By.CSS_SELECTOR, "main img, main script") == []
    assert not console.alert_open()
    console.open("#/?type=claim")
    console.wait(lambda d: console.rows().get("claim-CLM-XSS"), "the claim in the queue")
    assert not console.alert_open()
