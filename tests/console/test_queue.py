"""The work queue in a real browser: what a claims supervisor or a dispatcher sees first."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.console.conftest import Console
from tests.console.stories import awaiting_decision


def test_a_started_claim_appears_in_the_queue_with_its_stage_and_wait(console: Console):
    instance = awaiting_decision(console.app, "CLM-Q1", "POL-Q1")
    console.open()
    row = console.wait(lambda d: console.rows().get(instance), f"{instance} in the queue")
    cells = [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
    assert cells[:4] == ["Claim", "CLM-Q1", "awaiting decision", "claim decision"]
    assert cells[4].endswith(" UTC") and cells[5] == "Running"
    counts = " ".join(console.text("#stage-counts").split())
    assert "Claim awaiting decision 1" in counts
    assert console.text("#who") == "local (not signed in)"
    assert console.csp_violations() == []


def test_escalated_claims_stand_out_and_counts_say_how_many(console: Console):
    instance = awaiting_decision(console.app, "CLM-Q2", "POL-Q2")
    console.app.advance(days=2)  # no decision for two days: the claim is escalated
    console.app.wait(
        "/api/claims/CLM-Q2", lambda view: view["stage"] == "awaiting_decision", "still waiting"
    )
    console.app.wait(
        "/api/workflows?type=claim&stage=awaiting_decision",
        lambda page: any(i["id"] == instance and i["escalated"] for i in page["items"]),
        "the escalation",
    )
    console.open("#/?type=claim&stage=awaiting_decision")
    row = console.wait(lambda d: console.rows().get(instance), f"{instance} in the queue")
    assert "escalated" in row.get_dom_attribute("class").split()
    assert "Escalated" in row.text
    flagged = [r for r in console.rows().values() if "escalated" in r.get_dom_attribute("class")]
    counts = " ".join(console.text("#stage-counts").split())
    assert f"awaiting decision {len(console.rows())} {len(flagged)} escalated" in counts
    assert Select(console.find("#filter-stage")).first_selected_option.text == "awaiting decision"
    console.screenshot("queue")


def test_filters_narrow_the_queue_by_workflow_and_status(console: Console):
    instance = awaiting_decision(console.app, "CLM-Q3", "POL-Q3")
    console.open()
    console.wait(lambda d: console.rows().get(instance), f"{instance} in the queue")
    Select(console.find("#filter-type")).select_by_visible_text("Shipment")
    console.wait(lambda d: "type=shipment" in d.current_url, "the filter in the address")
    console.wait(lambda d: instance not in console.rows(), "the claim filtered out")
    Select(console.find("#filter-type")).select_by_visible_text("Claim")
    console.wait(lambda d: instance in console.rows(), "the claim back")


def test_finding_a_business_id_opens_its_instance(console: Console):
    awaiting_decision(console.app, "CLM-Q4", "POL-Q4")
    console.open()
    box = console.find("#find-id")
    box.send_keys("CLM-Q4")
    box.submit()
    console.wait(lambda d: "#/instance/claim-CLM-Q4" in d.current_url, "the instance page")
    assert console.text("#stage") == "awaiting decision"
    box = console.find("#find-id")
    box.clear()
    box.send_keys("NOPE-1")
    box.submit()
    assert "No claim, shipment or maintenance order has the id NOPE-1" in console.text("#notice")
