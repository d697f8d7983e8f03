"""Every HTTP partner client against a real local server: the wire format and the error mapping."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from adapters.errors import PartnerError
from adapters.partners import (
    carriers,
    compliance,
    documents,
    fraud,
    images,
    notifications,
    payments,
    policies,
    suppliers,
)
from adapters.partners.base import HttpPartner
from tests.adapters.conftest import LocalServer, Reply

DOCUMENT = {"documentId": "DOC-1", "kind": "invoice", "url": "https://files.example/doc-1.pdf"}
SHIPMENT = {"shipmentId": "SHP-1", "pallets": 4, "weightKg": 900.0}
QUOTE = {"carrier": "FASTFREIGHT", "quoteId": "Q-1", "price": 410.5}
ORDER = {"orderId": "MO-1", "tailNumber": "D-ABCD"}
PAYEE = {"name": "Ada Lovelace", "email": "ada@example.com"}


@dataclass
class Case:
    """One client method: how to call it and what must go over the wire."""

    name: str
    client: type[HttpPartner]
    call: Callable[[Any], Any]
    method: str
    path: str
    body: Any = None
    key: str | None = None
    reply: Any = None
    result: Any = None
    query: dict | None = None

    def __post_init__(self) -> None:
        self.reply = {"ok": self.name} if self.reply is None else self.reply
        self.result = self.reply if self.result is None else self.result


CASES = [
    Case("documents.extract", documents.HttpDocuments, lambda c: c.extract(DOCUMENT),
         "POST", "/extractions", DOCUMENT),
    Case("images.review", images.HttpImages, lambda c: c.review(DOCUMENT),
         "POST", "/reviews", DOCUMENT),
    Case("policies.lookup", policies.HttpPolicies, lambda c: c.lookup("POL 1/2"),
         "GET", "/policies/POL%201%2F2"),
    Case("fraud.score", fraud.HttpFraud, lambda c: c.score({"claimId": "CLM-1"}),
         "POST", "/scores", {"claimId": "CLM-1"}),
    Case("payments.pay", payments.HttpPayments,
         lambda c: c.pay("CLM-1", 120.5, "EUR", PAYEE, "claim-CLM-1:payout"),
         "POST", "/payouts",
         {"claimId": "CLM-1", "amount": 120.5, "currency": "EUR", "payee": PAYEE},
         key="claim-CLM-1:payout"),
    Case("notifications.send", notifications.HttpNotifications,
         lambda c: c.send("ada@example.com", "claim-approved", {"claimId": "CLM-1"}, "k-msg"),
         "POST", "/messages",
         {"recipient": "ada@example.com", "template": "claim-approved",
          "data": {"claimId": "CLM-1"}},
         key="k-msg"),
    Case("carriers.codes", carriers.HttpCarriers, lambda c: c.codes(),
         "GET", "/carriers", reply={"carriers": ["A", "B"]}, result=["A", "B"]),
    Case("carriers.quote", carriers.HttpCarriers, lambda c: c.quote("FASTFREIGHT", SHIPMENT),
         "POST", "/carriers/FASTFREIGHT/quotes", SHIPMENT),
    Case("carriers.reserve", carriers.HttpCarriers,
         lambda c: c.reserve("FASTFREIGHT", QUOTE, "k-rsv"),
         "POST", "/carriers/FASTFREIGHT/reservations", QUOTE, key="k-rsv"),
    Case("carriers.book", carriers.HttpCarriers, lambda c: c.book("FASTFREIGHT", "R-1", "k-bkg"),
         "POST", "/carriers/FASTFREIGHT/bookings", {"reservationId": "R-1"}, key="k-bkg"),
    Case("carriers.cancel_reservation", carriers.HttpCarriers,
         lambda c: c.cancel_reservation("FASTFREIGHT", "R-1", "k-cr"),
         "POST", "/carriers/FASTFREIGHT/reservations/R-1/cancel", key="k-cr"),
    Case("carriers.cancel_booking", carriers.HttpCarriers,
         lambda c: c.cancel_booking("FASTFREIGHT", "B-1", "k-cb"),
         "POST", "/carriers/FASTFREIGHT/bookings/B-1/cancel", key="k-cb"),
    Case("suppliers.codes", suppliers.HttpSuppliers, lambda c: c.codes(),
         "GET", "/suppliers", reply={"suppliers": ["S1"]}, result=["S1"]),
    Case("suppliers.availability", suppliers.HttpSuppliers,
         lambda c: c.availability("PN-7", 3), "GET", "/availability",
         reply={"offers": [{"supplier": "S1"}]}, result=[{"supplier": "S1"}],
         query={"partNumber": ["PN-7"], "quantity": ["3"]}),
    Case("suppliers.order", suppliers.HttpSuppliers,
         lambda c: c.order("AEROPARTS", "PN-7", 3, "k-po"),
         "POST", "/suppliers/AEROPARTS/orders", {"partNumber": "PN-7", "quantity": 3},
         key="k-po"),
    Case("compliance.record_inspection", compliance.HttpCompliance,
         lambda c: c.record_inspection(ORDER, "k-insp"), "POST", "/inspections", ORDER,
         key="k-insp"),
    Case("compliance.generate", compliance.HttpCompliance,
         lambda c: c.generate(ORDER, [{"taskId": "T1"}], "k-doc"), "POST", "/documents",
         {"order": ORDER, "results": [{"taskId": "T1"}]}, key="k-doc"),
]  # fmt: skip
IDS = [case.name for case in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_request_on_the_wire(case: Case, server: LocalServer) -> None:
    server.respond = lambda request: Reply(body=case.reply)
    client = case.client(server.url + "/v1/", api_key="secret-key")

    assert case.call(client) == case.result

    [request] = server.requests
    assert (request.method, request.path) == (case.method, "/v1" + case.path)
    assert request.json() == case.body
    assert request.headers["x-api-key"] == "secret-key"
    assert request.headers.get("idempotency-key") == case.key
    if case.query is not None:
        assert request.query == case.query


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (408, True), (429, True), (400, False), (404, False)],
)
def test_status_maps_to_partner_error(
    case: Case, status: int, retryable: bool, server: LocalServer
) -> None:
    server.respond = lambda request: Reply(status=status, body={"error": "nope"})
    with pytest.raises(PartnerError) as caught:
        case.call(case.client(server.url))
    assert caught.value.retryable is retryable
    assert caught.value.partner == case.name.split(".")[0]
    assert str(status) in str(caught.value)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_read_timeout_is_retryable(case: Case, own_server: LocalServer) -> None:
    own_server.respond = lambda request: Reply(delay=0.5, body=case.reply)
    client = case.client(own_server.url, timeout=(1.0, 0.02))
    with pytest.raises(PartnerError, match="timed out") as caught:  # not the late answer
        case.call(client)
    assert caught.value.retryable is True


def test_default_timeouts_are_three_and_ten_seconds() -> None:
    assert payments.HttpPayments("http://127.0.0.1:9").timeout == (3.0, 10.0)


def test_refused_connection_is_retryable() -> None:
    with LocalServer() as stopped:
        url = stopped.url
    with pytest.raises(PartnerError) as caught:
        payments.HttpPayments(url).pay("CLM-1", 1.0, "EUR", PAYEE, "k")
    assert caught.value.retryable is True


def test_success_without_json_is_not_retryable(server: LocalServer) -> None:
    server.respond = lambda request: Reply(body=b"<html>proxy page</html>")
    with pytest.raises(PartnerError, match="without JSON") as caught:
        fraud.HttpFraud(server.url).score({"claimId": "CLM-1"})
    assert caught.value.retryable is False


def test_no_api_key_sends_no_header(server: LocalServer) -> None:
    images.HttpImages(server.url).review(DOCUMENT)
    assert "x-api-key" not in server.requests[0].headers


def test_factory_uses_settings_and_secret(server: LocalServer, monkeypatch) -> None:
    monkeypatch.setenv("PAYMENTS_BASE_URL", server.url)
    monkeypatch.setenv("PAYMENTS_API_KEY", "from-env")
    client = payments.client()
    assert isinstance(client, payments.HttpPayments)
    client.pay("CLM-1", 1.0, "EUR", PAYEE, "k-1")
    assert server.requests[0].headers["x-api-key"] == "from-env"


@pytest.mark.parametrize(
    ("module", "simulated"),
    [
        (documents, documents.SimulatedDocuments),
        (images, images.SimulatedImages),
        (policies, policies.SimulatedPolicies),
        (fraud, fraud.SimulatedFraud),
        (payments, payments.SimulatedPayments),
        (notifications, notifications.SimulatedNotifications),
        (carriers, carriers.SimulatedCarriers),
        (suppliers, suppliers.SimulatedSuppliers),
        (compliance, compliance.SimulatedCompliance),
    ],
)
def test_factory_without_base_url_uses_the_simulator(module, simulated, monkeypatch) -> None:
    assert isinstance(module.client(), simulated)
    monkeypatch.setenv(f"{module.PARTNER.upper()}_BASE_URL", "http://127.0.0.1:9")
    assert isinstance(module.client(), HttpPartner)


def test_carrier_codes_setting_limits_http_codes(server: LocalServer, monkeypatch) -> None:
    server.respond = lambda request: Reply(body={"carriers": ["A", "B", "C"]})
    monkeypatch.setenv("CARRIER_CODES", "c, a")
    assert carriers.HttpCarriers(server.url).codes() == ["A", "C"]


def test_partner_error_survives_pickling() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(PartnerError("payments", "down", True)))
    assert (error.partner, error.message, error.retryable) == ("payments", "down", True)
