"""Telemetry against a local ingestion endpoint that records what Application Insights gets."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from adapters import telemetry
from tests.adapters.conftest import LocalServer, Recorded, Reply

# opencensus reads the locale through a call Python deprecates; nothing to do about it here.
pytestmark = pytest.mark.filterwarnings("ignore:'locale.getdefaultlocale':DeprecationWarning")


def accept(request: Recorded) -> Reply:
    items = len(json.loads(request.body)) if request.body else 0
    return Reply(body={"itemsReceived": items, "itemsAccepted": items, "errors": []})


@pytest.fixture
def ingestion(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> Iterator[LocalServer]:
    server.respond = accept
    monkeypatch.setenv(
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        f"InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint={server.url}/",
    )
    monkeypatch.setenv("APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL", "true")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    yield server
    telemetry.shutdown()


def envelopes(server: LocalServer) -> list[dict]:
    sent = []
    for request in server.requests:
        assert request.method == "POST"
        assert request.path.lstrip("/") in ("v2.1/track", "v2/track")
        sent.extend(json.loads(request.body))
    return sent


def test_stage_change_is_a_custom_event(ingestion: LocalServer) -> None:
    assert telemetry.configure() is True
    telemetry.track_stage("claim-CLM-1", "claims", "awaiting_decision", waitingFor="ClaimDecision",
                          attempt=2)  # fmt: skip
    telemetry.flush()

    [event] = [e for e in envelopes(ingestion) if e["data"]["baseType"] == "EventData"]
    assert event["name"] == "Microsoft.ApplicationInsights.Event"
    assert event["iKey"] == "00000000-0000-0000-0000-000000000000"
    assert event["data"]["baseData"]["name"] == "WorkflowStageChanged"
    assert event["data"]["baseData"]["properties"] == {
        "instanceId": "claim-CLM-1",
        "workflow": "claims",
        "stage": "awaiting_decision",
        "waitingFor": "ClaimDecision",
        "attempt": "2",
    }


def test_logs_become_traces(ingestion: LocalServer) -> None:
    telemetry.logger("activities").warning("carrier %s is slow", "ATLAS")
    telemetry.flush()
    traces = [e for e in envelopes(ingestion) if e["data"]["baseType"] == "MessageData"]
    assert any(t["data"]["baseData"]["message"] == "carrier ATLAS is slow" for t in traces)


def test_configure_is_idempotent_and_shutdown_detaches(ingestion: LocalServer) -> None:
    app_logger = logging.getLogger(telemetry.APP_LOGGER)
    telemetry.configure()
    attached = list(app_logger.handlers)
    telemetry.configure()
    telemetry.logger("x")
    assert app_logger.handlers == attached
    telemetry.shutdown()
    assert not any(type(h).__name__ == "AzureLogHandler" for h in app_logger.handlers)


def test_without_a_connection_string_only_local_logging(caplog) -> None:
    assert telemetry.configure() is False
    with caplog.at_level(logging.INFO, logger="workflows"):
        telemetry.track_stage("shipment-S1", "shipments", "awaiting_pickup")
    assert "shipment-S1 entered stage awaiting_pickup" in caplog.text
    assert telemetry.logger("claims").name == "workflows.claims"
    assert telemetry.logger("workflows.claims").name == "workflows.claims"
    telemetry.flush()
