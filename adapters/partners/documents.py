"""Document extraction: reads invoices, photos, police reports and estimates attached to claims.

HTTP: `POST {DOCUMENTS_BASE_URL}/extractions` with the document, answering the result below.

Simulator (local stand-in): a document is readable unless its url contains "unreadable"; the
fields are stable per documentId (an invoice has invoiceNumber, total, currency; an estimate has
estimatedTotal, currency; a police report has reportNumber; a photo has width and height).
"""

from __future__ import annotations

from typing import Protocol

from adapters import simulator
from adapters.partners.base import HttpPartner

PARTNER = "documents"


class DocumentExtractor(Protocol):
    def extract(self, document: dict) -> dict:
        """`{documentId, kind, url}` -> `{documentId, kind, readable, fields}`."""
        ...


class HttpDocuments(HttpPartner):
    partner = PARTNER

    def extract(self, document: dict) -> dict:
        return self._call("POST", "/extractions", json=document)


class SimulatedDocuments:
    """Local stand-in for the extraction service; results carry `"simulated": true`."""

    def extract(self, document: dict) -> dict:
        document_id = str(document.get("documentId", ""))
        simulator.guard(PARTNER, "extract", [document_id])
        readable = "unreadable" not in str(document.get("url", "")).lower()
        kind = str(document.get("kind", ""))
        return {
            "documentId": document_id,
            "kind": kind,
            "readable": readable,
            "fields": _fields(kind, document_id) if readable else {},
            "simulated": True,
        }


def _fields(kind: str, document_id: str) -> dict:
    amount = round(100 + simulator.fraction(PARTNER, document_id) * 4900, 2)
    if kind == "invoice":
        invoice_number = simulator.reference("INV", document_id)
        return {"invoiceNumber": invoice_number, "total": amount, "currency": "EUR"}
    if kind == "estimate":
        return {"estimatedTotal": amount, "currency": "EUR"}
    if kind == "police_report":
        return {"reportNumber": simulator.reference("PR", document_id)}
    if kind == "photo":
        return {"width": 4032, "height": 3024}
    return {}


def client() -> DocumentExtractor:
    """The HTTP client when DOCUMENTS_BASE_URL is set, else the simulator."""
    return HttpDocuments.from_settings() or SimulatedDocuments()
