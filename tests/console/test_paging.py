"""The queue pages past 100 instances (the host answers 100 per page; the console 50 per page),
forward with the API's continuation token and back again."""

from __future__ import annotations

from tests.console.conftest import Console
from tests.e2e.conftest import App

ORDERS = 105


def order(number: int) -> dict:
    return {
        "orderId": f"MO-P{number:03d}",
        "tailNumber": f"D-P{number:03d}",
        "aircraftType": "A320",
        "requestedBy": "ops@example.com",
        "tasks": [{"taskId": "T1", "description": "Check brakes"}],
    }


def test_the_queue_pages_through_more_than_a_hundred_instances(console: Console, app: App):
    for number in range(ORDERS):
        response = app.http.post("/api/maintenance-orders", json=order(number))
        assert response.status_code == 202, response.text
    app.host.http.get("/devhost/idle", params={"timeout": "120"}).raise_for_status()
    console.open("#/?type=maintenance&status=all")
    seen: list[str] = []
    for page in (1, 2, 3):
        console.wait(lambda d, p=page: console.text("#page-number") == f"Page {p}", f"page {page}")
        rows = console.rows()
        seen += rows
        assert len(rows) == (50 if page < 3 else ORDERS - 100)
        if page < 3:
            console.find("#page-next").click()
    assert not console.find("#page-next").is_enabled()
    assert sorted(seen) == sorted(f"maintenance-MO-P{n:03d}" for n in range(ORDERS))
    console.find("#page-previous").click()
    console.wait(lambda d: console.text("#page-number") == "Page 2", "back to page 2")
    assert list(console.rows()) == seen[50:100]
