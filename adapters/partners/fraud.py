"""Fraud scoring of a claim: a score in [0, 1] and the reasons behind it.

HTTP: `POST {FRAUD_BASE_URL}/scores` with the claim, answering `{score, reasons}`.

Simulator (local stand-in): a stable low score in [0.01, 0.29] per claimId, with no reasons;
when the description contains "suspicious" (any case) a stable high score in [0.80, 0.99] with a
reason.
"""

from __future__ import annotations

from typing import Protocol

from adapters import simulator
from adapters.partners.base import HttpPartner

PARTNER = "fraud"


class FraudScorer(Protocol):
    def score(self, claim: dict) -> dict:
        """A claim as submitted -> `{score, reasons}`."""
        ...


class HttpFraud(HttpPartner):
    partner = PARTNER

    def score(self, claim: dict) -> dict:
        return self._call("POST", "/scores", json=claim)


class SimulatedFraud:
    """Local stand-in for the fraud scoring service; results carry `"simulated": true`."""

    def score(self, claim: dict) -> dict:
        claim_id = str(claim.get("claimId", ""))
        simulator.guard(PARTNER, "score", [claim_id])
        spread = simulator.fraction(PARTNER, claim_id)
        if "suspicious" in str(claim.get("description", "")).lower():
            score, reasons = 0.80 + spread * 0.19, ["description has suspicious wording"]
        else:
            score, reasons = 0.01 + spread * 0.28, []
        return {"score": round(score, 3), "reasons": reasons, "simulated": True}


def client() -> FraudScorer:
    """The HTTP client when FRAUD_BASE_URL is set, else the simulator."""
    return HttpFraud.from_settings() or SimulatedFraud()
