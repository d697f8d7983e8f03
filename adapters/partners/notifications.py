"""Notifications to claimants, dispatchers, supervisors and customers (e-mail, SMS, ...).

HTTP: `POST {NOTIFICATIONS_BASE_URL}/messages` with `{recipient, template, data}` and header
`Idempotency-Key`, answering `{messageId}`.

Simulator (local stand-in): records one "message" ledger row (recipient, template, data,
messageId) per key. Failure rules may name the recipient or the template as subject.
"""

from __future__ import annotations

from typing import Protocol

from adapters import simulator
from adapters.partners.base import HttpPartner

PARTNER = "notifications"


class Notifier(Protocol):
    def send(self, recipient: str, template: str, data: dict, idempotency_key: str) -> dict:
        """`{messageId}`; same key, same message, sent once."""
        ...


class HttpNotifications(HttpPartner):
    partner = PARTNER

    def send(self, recipient: str, template: str, data: dict, idempotency_key: str) -> dict:
        body = {"recipient": recipient, "template": template, "data": data}
        return self._call("POST", "/messages", json=body, idempotency_key=idempotency_key)


class SimulatedNotifications:
    """Local stand-in for the messaging service; results carry `"simulated": true`."""

    def send(self, recipient: str, template: str, data: dict, idempotency_key: str) -> dict:
        def deliver(journal: simulator.Journal) -> dict:
            message_id = simulator.reference("MSG", idempotency_key)
            journal.record(
                "message",
                message_id,
                messageId=message_id,
                recipient=recipient,
                template=template,
                data=data,
            )
            return {"messageId": message_id, "simulated": True}

        subjects = [recipient, template]
        return simulator.perform(PARTNER, "send", idempotency_key, subjects, deliver)


def client() -> Notifier:
    """The HTTP client when NOTIFICATIONS_BASE_URL is set, else the simulator."""
    return HttpNotifications.from_settings() or SimulatedNotifications()
