"""Schemathesis hooks: the few rules JSON Schema cannot state, applied to generated valid data.

The OpenAPI document states them in descriptions (a loss date within ten years, a pickup
window starting between a day ago and five years ahead and ending after it starts, each id
at most once in its list, money in whole cents: JSON Schema's float `multipleOf` is
unreliable); a schema-valid generator knows none of that, so positive cases are
repaired here before they are sent. Negative cases are left alone: they must be refused.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis
from schemathesis import GenerationMode

IDEMPOTENCY_KEY = "Idempotency-Key"
UNIQUE_IDS = {"documents": "documentId", "tasks": "taskId", "parts": "partNumber"}


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
        return case
    if isinstance(case.body, dict):
        case.body = within_business_rules(case.body, datetime.now(UTC))
    if case.headers and IDEMPOTENCY_KEY in case.headers:
        case.headers[IDEMPOTENCY_KEY] = str(uuid.uuid4())  # one key, one request
    if case.query:
        case.query.pop("continuationToken", None)  # a token only ever comes from a page
    return case


def within_business_rules(body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """`body` with relative dates moved into range, windows ordered and ids made unique."""
    body = {key: deduplicated(key, value) for key, value in body.items()}
    amount = body.get("amount")
    if isinstance(amount, int | float) and not isinstance(amount, bool):
        body["amount"] = max(round(amount, 2), 0.01)  # money in whole cents (domain Money)
    if "lossDate" in body:
        body["lossDate"] = (now - timedelta(days=30)).date().isoformat()
    window = body.get("pickupWindow")
    if isinstance(window, dict):
        start = now + timedelta(days=1)
        body["pickupWindow"] = {
            "start": start.isoformat(),
            "end": (start + timedelta(hours=8)).isoformat(),
        }
    return body


def deduplicated(key: str, value: Any) -> Any:
    """A list of objects keyed by an id, each id kept once (nested lists too)."""
    if not isinstance(value, list):
        return value
    items = [
        {k: deduplicated(k, v) for k, v in item.items()} if isinstance(item, dict) else item
        for item in value
    ]
    id_field = UNIQUE_IDS.get(key)
    if id_field is None:
        return items
    seen: set[Any] = set()
    unique = []
    for item in items:
        marker = item.get(id_field) if isinstance(item, dict) else object()
        if marker not in seen:
            seen.add(marker)
            unique.append(item)
    return unique
