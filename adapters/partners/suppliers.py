"""Aircraft parts suppliers: stock across suppliers and purchase orders.

HTTP, under SUPPLIERS_BASE_URL:
    GET  /suppliers                                   -> {"suppliers": [code, ...]}
    GET  /availability?partNumber=..&quantity=..      -> {"offers": [offer, ...]}
    POST /suppliers/{code}/orders {partNumber, quantity} + Idempotency-Key -> {orderId}

Simulator (local stand-in), deterministic per part number, six suppliers (AEROPARTS, SKYSUPPLY,
JETSTOCK, WINGTECH, AVIONIX, HANGARONE):
- part numbers starting with "OOS-" are out of stock everywhere (`available` 0); ordering one
  still succeeds, with status "backordered";
- otherwise AEROPARTS always has at least the quantity asked for, lead time 2 days; the others
  have a stable 0..2x quantity and 1..10 days;
- an unknown supplier is a non-retryable error. Ledger kind "order" (supplier, partNumber,
  quantity, orderId, status). Failure rules take the supplier or the part number as subject.
"""

from __future__ import annotations

from typing import Protocol

from adapters import simulator
from adapters.errors import PartnerError
from adapters.partners.base import HttpPartner, segment

PARTNER = "suppliers"
SUPPLIERS = ["AEROPARTS", "SKYSUPPLY", "JETSTOCK", "WINGTECH", "AVIONIX", "HANGARONE"]
RELIABLE = "AEROPARTS"


class Suppliers(Protocol):
    def codes(self) -> list[str]: ...

    def availability(self, part_number: str, quantity: int) -> list[dict]:
        """One offer per supplier: `{supplier, partNumber, available, leadTimeDays}`."""
        ...

    def order(self, supplier: str, part_number: str, quantity: int, idempotency_key: str) -> dict:
        """`{orderId}`; same key, same order."""
        ...


class HttpSuppliers(HttpPartner):
    partner = PARTNER

    def codes(self) -> list[str]:
        return self._call("GET", "/suppliers")["suppliers"]

    def availability(self, part_number: str, quantity: int) -> list[dict]:
        params = {"partNumber": part_number, "quantity": quantity}
        return self._call("GET", "/availability", params=params)["offers"]

    def order(self, supplier: str, part_number: str, quantity: int, idempotency_key: str) -> dict:
        body = {"partNumber": part_number, "quantity": quantity}
        path = f"/suppliers/{segment(supplier)}/orders"
        return self._call("POST", path, json=body, idempotency_key=idempotency_key)


class SimulatedSuppliers:
    """Local stand-in for the suppliers' APIs; results carry `"simulated": true`."""

    def codes(self) -> list[str]:
        simulator.guard(PARTNER, "codes")
        return list(SUPPLIERS)

    def availability(self, part_number: str, quantity: int) -> list[dict]:
        simulator.guard(PARTNER, "availability", [part_number])
        return [_offer(supplier, part_number, quantity) for supplier in SUPPLIERS]

    def order(self, supplier: str, part_number: str, quantity: int, idempotency_key: str) -> dict:
        if supplier not in SUPPLIERS:
            raise PartnerError(PARTNER, f"unknown supplier {supplier!r}", retryable=False)
        status = "backordered" if _out_of_stock(part_number) else "confirmed"

        def place(journal: simulator.Journal) -> dict:
            order_id = simulator.reference("PO", supplier, idempotency_key)
            detail = {
                "supplier": supplier,
                "partNumber": part_number,
                "quantity": quantity,
                "orderId": order_id,
                "status": status,
            }
            journal.record("order", order_id, **detail)
            return {**detail, "simulated": True}

        subjects = [supplier, part_number]
        return simulator.perform(PARTNER, "order", idempotency_key, subjects, place)


def _out_of_stock(part_number: str) -> bool:
    return part_number.upper().startswith("OOS-")


def _offer(supplier: str, part_number: str, quantity: int) -> dict:
    spread = simulator.fraction(PARTNER, supplier, part_number)
    if _out_of_stock(part_number):
        available, lead_time = 0, 1 + int(spread * 10)
    elif supplier == RELIABLE:
        available, lead_time = quantity + int(spread * 20), 2
    else:
        available = int(simulator.fraction(supplier, part_number, quantity) * (2 * quantity + 1))
        lead_time = 1 + int(spread * 10)
    return {
        "supplier": supplier,
        "partNumber": part_number,
        "available": available,
        "leadTimeDays": lead_time,
        "simulated": True,
    }


def client() -> Suppliers:
    """The HTTP client when SUPPLIERS_BASE_URL is set, else the simulator."""
    return HttpSuppliers.from_settings() or SimulatedSuppliers()
