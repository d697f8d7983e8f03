"""Payouts of approved claims. Paying twice is the costliest bug, hence the idempotency key.

HTTP: `POST {PAYMENTS_BASE_URL}/payouts` with `{claimId, amount, currency, payee}` and header
`Idempotency-Key`, answering `{payoutId, status, amount, currency}`.

Simulator (local stand-in): issues a payout with a payoutId derived from the key and records one
"payout" ledger row (claimId, payoutId, amount, currency, payee) per key. Failure rules use the
claim id as subject ("payments.pay:CLM-1").
"""

from __future__ import annotations

from typing import Protocol

from adapters import simulator
from adapters.partners.base import HttpPartner

PARTNER = "payments"


class Payments(Protocol):
    def pay(
        self, claim_id: str, amount: float, currency: str, payee: dict, idempotency_key: str
    ) -> dict:
        """`{payoutId, status: "issued", amount, currency}`; same key, same payout."""
        ...


class HttpPayments(HttpPartner):
    partner = PARTNER

    def pay(
        self, claim_id: str, amount: float, currency: str, payee: dict, idempotency_key: str
    ) -> dict:
        body = {"claimId": claim_id, "amount": amount, "currency": currency, "payee": payee}
        return self._call("POST", "/payouts", json=body, idempotency_key=idempotency_key)


class SimulatedPayments:
    """Local stand-in for the payment provider; results carry `"simulated": true`."""

    def pay(
        self, claim_id: str, amount: float, currency: str, payee: dict, idempotency_key: str
    ) -> dict:
        def issue(journal: simulator.Journal) -> dict:
            payout_id = simulator.reference("PAY", idempotency_key)
            journal.record(
                "payout",
                payout_id,
                claimId=claim_id,
                payoutId=payout_id,
                amount=amount,
                currency=currency,
                payee=payee,
            )
            return {
                "payoutId": payout_id,
                "status": "issued",
                "amount": amount,
                "currency": currency,
                "simulated": True,
            }

        return simulator.perform(PARTNER, "pay", idempotency_key, [claim_id], issue)


def client() -> Payments:
    """The HTTP client when PAYMENTS_BASE_URL is set, else the simulator."""
    return HttpPayments.from_settings() or SimulatedPayments()
