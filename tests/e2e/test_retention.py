"""History retention: the nightly timer trigger purges what finished more than
HISTORY_RETENTION_DAYS ago, keeps everything still running and what finished recently, on the
host's clock (advanced here, as days would pass in Azure)."""

from __future__ import annotations

import pytest

from tests.console.stories import awaiting_decision, claim, file_claim
from tests.e2e.conftest import App


@pytest.fixture(scope="module")
def retained(start_app) -> App:
    return start_app(HISTORY_RETENTION_DAYS="1")


def test_finished_instances_are_purged_after_the_retention_period(retained: App):
    finished = file_claim(retained, claim("CLM-R1", "POL-R1", amount=100))  # approves itself
    assert retained.wait_done(finished)["runtimeStatus"] == "Completed"
    running = awaiting_decision(retained, "CLM-R2", "POL-R2")

    retained.advance(days=2)  # two nightly runs: the second is a day after CLM-R1 finished
    assert retained.http.get(finished).status_code == 404
    history = retained.http.get("/api/workflows/claim-CLM-R1/history")
    assert history.status_code == 404
    assert retained.view("/api/claims/CLM-R2")["id"] == running

    decided = retained.http.post(
        "/api/claims/CLM-R2/decision", json={"decision": "reject", "actor": "Grace"}
    )
    assert decided.status_code == 202
    assert retained.wait_done("/api/claims/CLM-R2")["runtimeStatus"] == "Completed"
    retained.advance(hours=12)  # at most one more run, less than a day after CLM-R2 finished
    assert retained.view("/api/claims/CLM-R2")["runtimeStatus"] == "Completed"
