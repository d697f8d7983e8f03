"""Policy lookup: is the policy active, what does it cover, which documents must a claim carry?

HTTP: `GET {POLICIES_BASE_URL}/policies/{policyNumber}`; 404 means no such policy.

Simulator (local stand-in), deterministic from the policy number (matching ignores case):
- starts with "POL-UNKNOWN": no such policy, PartnerError(retryable=False);
- starts with "POL-LAPSED": `active` is False;
- starts with "POL-NOCOVER": covers nothing (`coveredLossTypes` [], `coverageLimit` 0.0);
- otherwise active, covering collision, theft, fire, water, storm, vandalism and other, with
  `coverageLimit` 50000.0 and `deductible` 0.0; a token "LIMIT<n>" or "DED<n>" in the number
  sets them (e.g. "POL-LIMIT1000-DED250-7" has limit 1000.0 and deductible 250.0);
- `requiredDocuments` is ["invoice", "photo"], plus "police_report" when the number contains
  "POLICE" (e.g. "POL-POLICE-1").
"""

from __future__ import annotations

import re
from typing import Protocol

from adapters import simulator
from adapters.errors import PartnerError
from adapters.partners.base import HttpPartner, segment

PARTNER = "policies"
LOSS_TYPES = ["collision", "theft", "fire", "water", "storm", "vandalism", "other"]
HOLDERS = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Edsger Dijkstra"]


class PolicyLookup(Protocol):
    def lookup(self, policy_number: str) -> dict:
        """`{policyNumber, active, coverageLimit, deductible, coveredLossTypes,
        requiredDocuments, holderName}`."""
        ...


class HttpPolicies(HttpPartner):
    partner = PARTNER

    def lookup(self, policy_number: str) -> dict:
        return self._call("GET", f"/policies/{segment(policy_number)}")


class SimulatedPolicies:
    """Local stand-in for the policy system; results carry `"simulated": true`."""

    def lookup(self, policy_number: str) -> dict:
        simulator.guard(PARTNER, "lookup", [policy_number])
        number = policy_number.upper()
        if number.startswith("POL-UNKNOWN"):
            raise PartnerError(PARTNER, f"policy {policy_number} not found", retryable=False)
        covers = not number.startswith("POL-NOCOVER")
        required = ["invoice", "photo"] + (["police_report"] if "POLICE" in number else [])
        holder = HOLDERS[int(simulator.fraction(PARTNER, number) * len(HOLDERS))]
        return {
            "policyNumber": policy_number,
            "active": not number.startswith("POL-LAPSED"),
            "coverageLimit": _token(number, "LIMIT", 50000.0) if covers else 0.0,
            "deductible": _token(number, "DED", 0.0),
            "coveredLossTypes": list(LOSS_TYPES) if covers else [],
            "requiredDocuments": required,
            "holderName": holder,
            "simulated": True,
        }


def _token(number: str, name: str, default: float) -> float:
    match = re.search(rf"(?:^|[-_]){name}(\d+)(?:$|[-_])", number)
    return float(match.group(1)) if match else default


def client() -> PolicyLookup:
    """The HTTP client when POLICIES_BASE_URL is set, else the simulator."""
    return HttpPolicies.from_settings() or SimulatedPolicies()
