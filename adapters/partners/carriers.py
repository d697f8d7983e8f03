"""Freight carriers: quotes, reservations, bookings and their cancellations (the compensations).

HTTP, under CARRIERS_BASE_URL (effectful calls carry `Idempotency-Key`):
    GET  /carriers                                      -> {"carriers": [code, ...]}
    POST /carriers/{code}/quotes           {shipment}   -> quote
    POST /carriers/{code}/reservations     {quote}      -> {reservationId}
    POST /carriers/{code}/bookings         {reservationId} -> {bookingId}
    POST /carriers/{code}/reservations/{id}/cancel      -> {cancelled: true}
    POST /carriers/{code}/bookings/{id}/cancel          -> {cancelled: true}
Setting CARRIER_CODES (comma list) limits `codes()` to those carriers, for either client.

Simulator (local stand-in), 18 carriers, deterministic. Price = factor x (120 + 45 x pallets +
0.08 x weightKg), x 1.25 across borders, plus under 1.00 of stable jitter, in EUR, so the price
order is always the factor order below (cheapest first). pickupDate = date of
pickupWindow.start + offset days.

    code         factor capacity transit offset  behaviour
    FASTFREIGHT  1.00   26       2       0
    ROADRUNNER   1.04   26       3       0
    BLUELINE     1.08   33       2       0
    NORTHSTAR    1.12   20       3       0       slow
    ATLAS        1.16   33       4       0
    EUROHAUL     1.20   26       3       0       slow
    SWIFTLANE    1.24   12       1       0
    IRONHORSE    1.28   33       5       0
    PACIFIC      1.32   26       4       0       slow
    ALPINE       1.36   18       3       0
    COASTAL      1.40   26       2       0
    SUMMIT       1.44   33       3       0
    HARBOR       1.48   26       4       1
    PRAIRIE      1.52   26       5       3
    METRO        1.56    4       1       0
    CITYHOP      1.60    2       1       0
    GHOSTLINE    -       -       -       -       quoting always fails (retryable)
    DEADHEAD     -       -       -       -       quoting always fails (retryable)

"slow" carriers sleep SIMULATOR_SLOW_MS (default 50) ms per quote. Booking needs a live
reservation of the same carrier; an unknown or cancelled reservation or booking is a
non-retryable error; cancelling twice answers `alreadyCancelled: true` and records nothing new.
Ledger kinds: reservation, booking, reservation_cancellation, booking_cancellation. Failure rules
use the carrier code as subject ("carriers.book:FASTFREIGHT").
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from adapters import settings, simulator
from adapters.errors import PartnerError
from adapters.partners.base import HttpPartner, segment

PARTNER = "carriers"


class Profile(NamedTuple):
    factor: float
    capacity: int
    transit_days: int
    pickup_offset_days: int = 0
    slow: bool = False
    failing: bool = False


PROFILES: dict[str, Profile] = {
    "FASTFREIGHT": Profile(1.00, 26, 2),
    "ROADRUNNER": Profile(1.04, 26, 3),
    "BLUELINE": Profile(1.08, 33, 2),
    "NORTHSTAR": Profile(1.12, 20, 3, slow=True),
    "ATLAS": Profile(1.16, 33, 4),
    "EUROHAUL": Profile(1.20, 26, 3, slow=True),
    "SWIFTLANE": Profile(1.24, 12, 1),
    "IRONHORSE": Profile(1.28, 33, 5),
    "PACIFIC": Profile(1.32, 26, 4, slow=True),
    "ALPINE": Profile(1.36, 18, 3),
    "COASTAL": Profile(1.40, 26, 2),
    "SUMMIT": Profile(1.44, 33, 3),
    "HARBOR": Profile(1.48, 26, 4, pickup_offset_days=1),
    "PRAIRIE": Profile(1.52, 26, 5, pickup_offset_days=3),
    "METRO": Profile(1.56, 4, 1),
    "CITYHOP": Profile(1.60, 2, 1),
    "GHOSTLINE": Profile(0.0, 0, 0, failing=True),
    "DEADHEAD": Profile(0.0, 0, 0, failing=True),
}


class Carriers(Protocol):
    def codes(self) -> list[str]: ...

    def quote(self, carrier: str, shipment: dict) -> dict:
        """`{carrier, quoteId, price, currency, capacityPallets, pickupDate, transitDays}`."""
        ...

    def reserve(self, carrier: str, quote: dict, idempotency_key: str) -> dict:
        """`{reservationId}`: holds the quoted capacity until booked or cancelled."""
        ...

    def book(self, carrier: str, reservation_id: str, idempotency_key: str) -> dict:
        """`{bookingId}`: turns a reservation into a booking."""
        ...

    def cancel_reservation(self, carrier: str, reservation_id: str, idempotency_key: str) -> dict:
        """`{cancelled: True}`."""
        ...

    def cancel_booking(self, carrier: str, booking_id: str, idempotency_key: str) -> dict:
        """`{cancelled: True}`."""
        ...


class HttpCarriers(HttpPartner):
    partner = PARTNER

    def codes(self) -> list[str]:
        return _configured(self._call("GET", "/carriers")["carriers"])

    def quote(self, carrier: str, shipment: dict) -> dict:
        return self._call("POST", f"/carriers/{segment(carrier)}/quotes", json=shipment)

    def reserve(self, carrier: str, quote: dict, idempotency_key: str) -> dict:
        path = f"/carriers/{segment(carrier)}/reservations"
        return self._call("POST", path, json=quote, idempotency_key=idempotency_key)

    def book(self, carrier: str, reservation_id: str, idempotency_key: str) -> dict:
        path = f"/carriers/{segment(carrier)}/bookings"
        body = {"reservationId": reservation_id}
        return self._call("POST", path, json=body, idempotency_key=idempotency_key)

    def cancel_reservation(self, carrier: str, reservation_id: str, idempotency_key: str) -> dict:
        path = f"/carriers/{segment(carrier)}/reservations/{segment(reservation_id)}/cancel"
        return self._call("POST", path, idempotency_key=idempotency_key)

    def cancel_booking(self, carrier: str, booking_id: str, idempotency_key: str) -> dict:
        path = f"/carriers/{segment(carrier)}/bookings/{segment(booking_id)}/cancel"
        return self._call("POST", path, idempotency_key=idempotency_key)


class SimulatedCarriers:
    """Local stand-in for 18 carriers' APIs; results carry `"simulated": true`."""

    def codes(self) -> list[str]:
        simulator.guard(PARTNER, "codes")
        return _configured(list(PROFILES))

    def quote(self, carrier: str, shipment: dict) -> dict:
        simulator.guard(PARTNER, "quote", [carrier])
        profile = _profile(carrier)
        if profile.slow:
            time.sleep(settings.number("SIMULATOR_SLOW_MS", 50) / 1000)
        if profile.failing:
            raise PartnerError(PARTNER, f"{carrier} quoting is down (simulated)", retryable=True)
        canonical = json.dumps(shipment, sort_keys=True, default=str)
        return {
            "carrier": carrier,
            "quoteId": simulator.reference("QTE", carrier, canonical),
            "price": _price(carrier, profile, shipment, canonical),
            "currency": "EUR",
            "capacityPallets": profile.capacity,
            "pickupDate": _pickup_date(shipment, profile.pickup_offset_days),
            "transitDays": profile.transit_days,
            "simulated": True,
        }

    def reserve(self, carrier: str, quote: dict, idempotency_key: str) -> dict:
        _profile(carrier)
        if quote.get("carrier", carrier) != carrier:
            raise PartnerError(PARTNER, f"quote is from {quote.get('carrier')}", retryable=False)

        def hold(journal: simulator.Journal) -> dict:
            reservation_id = simulator.reference("RSV", carrier, idempotency_key)
            journal.record(
                "reservation",
                reservation_id,
                carrier=carrier,
                reservationId=reservation_id,
                quoteId=quote.get("quoteId"),
                price=quote.get("price"),
                pickupDate=quote.get("pickupDate"),
            )
            return {"reservationId": reservation_id, "carrier": carrier, "simulated": True}

        return simulator.perform(PARTNER, "reserve", idempotency_key, [carrier], hold)

    def book(self, carrier: str, reservation_id: str, idempotency_key: str) -> dict:
        def confirm(journal: simulator.Journal) -> dict:
            reservation = _live(journal, carrier, "reservation", reservation_id)
            if reservation is None:
                raise PartnerError(PARTNER, f"reservation {reservation_id} is cancelled", False)
            booking_id = simulator.reference("BKG", carrier, idempotency_key)
            journal.record(
                "booking",
                booking_id,
                carrier=carrier,
                bookingId=booking_id,
                reservationId=reservation_id,
                price=reservation.get("price"),
            )
            return {"bookingId": booking_id, "carrier": carrier, "simulated": True}

        return simulator.perform(PARTNER, "book", idempotency_key, [carrier], confirm)

    def cancel_reservation(self, carrier: str, reservation_id: str, idempotency_key: str) -> dict:
        return self._cancel(carrier, "reservation", reservation_id, idempotency_key)

    def cancel_booking(self, carrier: str, booking_id: str, idempotency_key: str) -> dict:
        return self._cancel(carrier, "booking", booking_id, idempotency_key)

    def _cancel(self, carrier: str, kind: str, reference: str, idempotency_key: str) -> dict:
        def cancel(journal: simulator.Journal) -> dict:
            if _live(journal, carrier, kind, reference) is None:
                return {"cancelled": True, "alreadyCancelled": True, "simulated": True}
            journal.record(f"{kind}_cancellation", reference, carrier=carrier, cancelled=reference)
            return {"cancelled": True, "simulated": True}

        operation = f"cancel_{kind}"
        return simulator.perform(PARTNER, operation, idempotency_key, [carrier], cancel)


def _live(journal: simulator.Journal, carrier: str, kind: str, reference: str) -> dict | None:
    """The ledger row of a reservation or booking; None when cancelled; raises when unknown."""
    rows = [row for row in journal.find(kind, reference) if row.get("carrier") == carrier]
    if not rows:
        raise PartnerError(PARTNER, f"{carrier} has no {kind} {reference}", retryable=False)
    if journal.find(f"{kind}_cancellation", reference):
        return None
    return rows[0]


def _configured(codes: list[str]) -> list[str]:
    wanted = settings.get("CARRIER_CODES")
    if wanted is None:
        return codes
    subset = {code.strip().upper() for code in wanted.split(",") if code.strip()}
    return [code for code in codes if code.upper() in subset]


def _profile(carrier: str) -> Profile:
    try:
        return PROFILES[carrier]
    except KeyError:
        raise PartnerError(PARTNER, f"unknown carrier {carrier!r}", retryable=False) from None


def _price(carrier: str, profile: Profile, shipment: dict, canonical: str) -> float:
    base = 120 + 45 * float(shipment.get("pallets", 1)) + 0.08 * float(shipment.get("weightKg", 0))
    origin = (shipment.get("origin") or {}).get("country")
    destination = (shipment.get("destination") or {}).get("country")
    if origin and destination and origin != destination:
        base *= 1.25
    return round(profile.factor * base + simulator.fraction(carrier, canonical), 2)


def _pickup_date(shipment: dict, offset_days: int) -> str:
    start = (shipment.get("pickupWindow") or {}).get("start")
    try:
        pickup = datetime.fromisoformat(str(start)).date() + timedelta(days=offset_days)
    except ValueError:
        message = f"shipment pickupWindow.start must be an ISO date-time, got {start!r}"
        raise PartnerError(PARTNER, message, retryable=False) from None
    return pickup.isoformat()


def client() -> Carriers:
    """The HTTP client when CARRIERS_BASE_URL is set, else the simulator."""
    return HttpCarriers.from_settings() or SimulatedCarriers()
