"""Shipments over HTTP, from the shipment's contract (domain/shipments.py): start, status, and
the dispatcher's pickup, delivery and cancel actions."""

from __future__ import annotations

import azure.durable_functions as df

from api.workflow_routes import register
from domain.shipments import CONTRACT

bp = df.Blueprint()

register(bp, CONTRACT)
