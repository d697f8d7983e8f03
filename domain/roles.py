"""The app's roles, as the app registration declares them: standard library only, so the
deployment scripts (scripts/app_registration.py) run without the app's dependencies."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """The app roles; the values are what Entra ID puts in the `roles` claim."""

    CLAIMS_ADJUSTER = "Claims.Adjuster"
    CLAIMS_SUPERVISOR = "Claims.Supervisor"
    DISPATCHER = "Shipments.Dispatcher"
    CARRIER = "Shipments.Carrier"
    MAINTENANCE_CONTROLLER = "Maintenance.Controller"
    CERTIFYING_INSPECTOR = "Maintenance.CertifyingInspector"
    READER = "Workflows.Reader"


ROLE_DESCRIPTIONS: dict[Role, str] = {
    Role.CLAIMS_ADJUSTER: "Submits documents to claims",
    Role.CLAIMS_SUPERVISOR: "Approves or rejects claims",
    Role.DISPATCHER: "Confirms pickups and deliveries, cancels shipments",
    Role.CARRIER: "A carrier's system: confirms pickups and deliveries (applications only)",
    Role.MAINTENANCE_CONTROLLER: "Records parts received for maintenance tasks",
    Role.CERTIFYING_INSPECTOR: "Approves an aircraft's return to service",
    Role.READER: "Reads where instances stand, their history and locks (support, checks)",
}
"""What each role may do, as the app registration describes it."""

APPLICATION_ONLY: frozenset[Role] = frozenset({Role.CARRIER})
"""Roles that count only for a principal signed in as an application."""
