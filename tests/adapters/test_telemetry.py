"""Telemetry against a local ingestion endpoint that records what Application Insights gets."""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from azure.core.credentials import AccessToken

from adapters import telemetry
from tests.adapters.conftest import LocalServer, Recorded, Reply

CLIENT_ID = "11111111-2222-3333-4444-555555555555"
MONITOR_SCOPE = "https://monitor.azure.com//.default"

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


@pytest.fixture
def host_forwarding(ingestion: LocalServer) -> Iterator[logging.Handler]:
    """Stands in for the Functions host's log path: the Python worker hangs a handler on the
    root logger that forwards every record to the host (azure_functions_worker, Dispatcher.
    dispatch_forever and on_logging), and the host writes it to Application Insights as a trace.
    Here a trace exporter on the root logger sends to the same ingestion endpoint."""
    from opencensus.ext.azure.log_exporter import AzureLogHandler

    root = logging.getLogger()
    previous_level = root.level
    forwarding = AzureLogHandler(connection_string=os.environ[telemetry.CONNECTION_SETTING])
    root.setLevel(logging.INFO)  # the worker sets the root logger to INFO
    root.addHandler(forwarding)
    yield forwarding
    root.removeHandler(forwarding)
    root.setLevel(previous_level)
    forwarding.close()


def delivered(server: LocalServer, forwarding: logging.Handler) -> Counter[tuple[str, str]]:
    """(kind, text) of everything the endpoint received, once both paths have sent it all."""
    telemetry.flush()
    forwarding.close()  # exports what it holds before it returns
    sent = [(e["data"]["baseType"], e["data"]["baseData"]) for e in envelopes(server)]
    return Counter((kind, data.get("message") or data["name"]) for kind, data in sent)


def test_each_log_line_and_event_reaches_application_insights_once(
    ingestion: LocalServer, host_forwarding: logging.Handler
) -> None:
    assert telemetry.configure() is True
    telemetry.logger("activities").warning("carrier %s is slow", "ATLAS")
    telemetry.track_stage("claim-CLM-9", "claims", "paid")

    assert delivered(ingestion, host_forwarding) == {
        ("MessageData", "carrier ATLAS is slow"): 1,
        ("MessageData", "claim-CLM-9 entered stage paid (claims)"): 1,
        ("EventData", "WorkflowStageChanged"): 1,
    }


def test_the_app_itself_exports_only_the_events(ingestion: LocalServer) -> None:
    """Without the host's forwarding, what the app sends on its own: the event, no traces."""
    telemetry.logger("activities").warning("carrier %s is slow", "ATLAS")
    telemetry.track_stage("claim-CLM-9", "claims", "paid")
    telemetry.flush()
    kinds = [e["data"]["baseType"] for e in envelopes(ingestion)]
    assert kinds == ["EventData"]


def test_configure_is_idempotent_and_shutdown_detaches(ingestion: LocalServer) -> None:
    events = logging.getLogger(f"{telemetry.APP_LOGGER}.events")
    app_logger = logging.getLogger(telemetry.APP_LOGGER)

    def exporters(target: logging.Logger) -> list[str]:
        return [type(h).__name__ for h in target.handlers if type(h).__name__.startswith("Azure")]

    telemetry.configure()
    telemetry.configure()
    telemetry.logger("x")
    assert exporters(events) == ["AzureEventHandler"]
    assert exporters(app_logger) == []  # log lines go through the host
    telemetry.shutdown()
    assert exporters(events) == []


def test_without_a_connection_string_only_local_logging(caplog) -> None:
    assert telemetry.configure() is False
    with caplog.at_level(logging.INFO, logger="workflows"):
        telemetry.track_stage("shipment-S1", "shipments", "awaiting_pickup")
    assert "shipment-S1 entered stage awaiting_pickup" in caplog.text
    assert telemetry.logger("claims").name == "workflows.claims"
    assert telemetry.logger("workflows.claims").name == "workflows.claims"
    telemetry.flush()


class FakeCredential:
    """Stands in for the managed identity: hands out one token and records what was asked."""

    def __init__(self, client_id: str | None) -> None:
        self.client_id = client_id
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("fake-token", int(time.time()) + 3600)


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> list[FakeCredential]:
    made: list[FakeCredential] = []

    def factory(client_id: str | None) -> FakeCredential:
        made.append(FakeCredential(client_id))
        return made[-1]

    monkeypatch.setattr(telemetry, "credential_factory", factory)
    return made


def test_with_the_authentication_string_batches_carry_a_token(
    ingestion: LocalServer, credentials: list[FakeCredential], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(telemetry.AUTHENTICATION_SETTING, f"ClientId={CLIENT_ID};Authorization=AAD")
    assert telemetry.configure() is True
    telemetry.track_stage("claim-CLM-2", "claims", "paid")
    telemetry.logger("activities").warning("carrier %s is slow", "ATLAS")
    telemetry.flush()

    assert [c.client_id for c in credentials] == [CLIENT_ID]
    [credential] = credentials
    assert credential.scopes and set(credential.scopes) == {(MONITOR_SCOPE,)}
    kinds = {e["data"]["baseType"] for e in envelopes(ingestion)}
    assert kinds == {"EventData"}  # the log line goes through the host
    assert {r.headers.get("authorization") for r in ingestion.requests} == {"Bearer fake-token"}


def test_without_the_authentication_string_no_token_is_sent(
    ingestion: LocalServer, credentials: list[FakeCredential]
) -> None:
    telemetry.track_stage("claim-CLM-3", "claims", "paid")
    telemetry.flush()
    assert envelopes(ingestion)
    assert all("authorization" not in r.headers for r in ingestion.requests)
    assert credentials == []


@pytest.mark.parametrize(
    "value", ["Authorization=ikey", f"ClientId={CLIENT_ID}", "Authorization=AAD;ClientId=app"]
)
def test_a_malformed_authentication_string_exports_nothing_and_says_why(
    ingestion: LocalServer,
    credentials: list[FakeCredential],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    value: str,
) -> None:
    monkeypatch.setenv(telemetry.AUTHENTICATION_SETTING, value)
    with caplog.at_level(logging.INFO, logger="workflows"):
        assert telemetry.configure() is False
        telemetry.track_stage("claim-CLM-4", "claims", "paid")
        telemetry.flush()

    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "APPLICATIONINSIGHTS_AUTHENTICATION_STRING" in error.getMessage()
    assert "claim-CLM-4 entered stage paid" in caplog.text  # local logging goes on
    assert ingestion.requests == []
    assert credentials == []


@pytest.mark.parametrize(
    ("value", "client_id"),
    [
        (f"ClientId={CLIENT_ID};Authorization=AAD", CLIENT_ID),
        (f"Authorization=AAD;ClientId={CLIENT_ID}", CLIENT_ID),
        ("Authorization=AAD", None),
        ("authorization=aad;", None),
        (f" CLIENTID = {CLIENT_ID} ; AUTHORIZATION = Aad ", CLIENT_ID),
        (f";Authorization=AAD;;clientId={CLIENT_ID};Other=x", CLIENT_ID),
    ],
)
def test_parse_authentication(value: str, client_id: str | None) -> None:
    assert telemetry.parse_authentication(value) == client_id


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("", "must contain Authorization=AAD"),
        (f"ClientId={CLIENT_ID}", "must contain Authorization=AAD"),
        (f"Authorization=ikey;ClientId={CLIENT_ID}", "Authorization='ikey'"),
        ("Authorization AAD", "must contain Authorization=AAD"),
        ("Authorization=AAD;ClientId=", "not a GUID"),
        ("Authorization=AAD;ClientId=my-identity", "not a GUID"),
    ],
)
def test_parse_authentication_rejects(value: str, complaint: str) -> None:
    with pytest.raises(ValueError, match="APPLICATIONINSIGHTS_AUTHENTICATION_STRING") as raised:
        telemetry.parse_authentication(value)
    assert complaint in str(raised.value)
