"""Compliance records of maintenance: the inspection record and the release document.

HTTP, under COMPLIANCE_BASE_URL, both with Idempotency-Key:
    POST /inspections  {order}            -> {inspectionId}
    POST /documents    {order, results}   -> {documentId}

Simulator (local stand-in): ids derived from the key; ledger kinds "inspection" (orderId,
tailNumber, inspectionId) and "compliance_document" (orderId, tailNumber, documentId, taskCount).
Failure rules take the orderId or the tailNumber as subject.
"""

from __future__ import annotations

from typing import Protocol

from adapters import simulator
from adapters.partners.base import HttpPartner

PARTNER = "compliance"


class Compliance(Protocol):
    def record_inspection(self, order: dict, idempotency_key: str) -> dict:
        """`{inspectionId}` for a maintenance order as submitted."""
        ...

    def generate(self, order: dict, results: list, idempotency_key: str) -> dict:
        """`{documentId}` of the compliance document covering the task results."""
        ...


class HttpCompliance(HttpPartner):
    partner = PARTNER

    def record_inspection(self, order: dict, idempotency_key: str) -> dict:
        return self._call("POST", "/inspections", json=order, idempotency_key=idempotency_key)

    def generate(self, order: dict, results: list, idempotency_key: str) -> dict:
        body = {"order": order, "results": results}
        return self._call("POST", "/documents", json=body, idempotency_key=idempotency_key)


class SimulatedCompliance:
    """Local stand-in for the compliance records system; results carry `"simulated": true`."""

    def record_inspection(self, order: dict, idempotency_key: str) -> dict:
        def record(journal: simulator.Journal) -> dict:
            inspection_id = simulator.reference("INSP", idempotency_key)
            journal.record("inspection", inspection_id, **_about(order), inspectionId=inspection_id)
            return {"inspectionId": inspection_id, "simulated": True}

        return simulator.perform(
            PARTNER, "record_inspection", idempotency_key, _subjects(order), record
        )

    def generate(self, order: dict, results: list, idempotency_key: str) -> dict:
        def issue(journal: simulator.Journal) -> dict:
            document_id = simulator.reference("CMP", idempotency_key)
            journal.record(
                "compliance_document",
                document_id,
                **_about(order),
                documentId=document_id,
                taskCount=len(results),
            )
            return {"documentId": document_id, "simulated": True}

        return simulator.perform(PARTNER, "generate", idempotency_key, _subjects(order), issue)


def _about(order: dict) -> dict:
    return {"orderId": order.get("orderId"), "tailNumber": order.get("tailNumber")}


def _subjects(order: dict) -> list[str]:
    return [str(value) for value in _about(order).values() if value]


def client() -> Compliance:
    """The HTTP client when COMPLIANCE_BASE_URL is set, else the simulator."""
    return HttpCompliance.from_settings() or SimulatedCompliance()
