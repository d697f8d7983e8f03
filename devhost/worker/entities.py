"""Run a batch of entity operations through the SDK's `Entity` handler, as the extension does.

The batch JSON carries each operation's input double-encoded (the SDK parses it twice).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from devhost.durable.entities import BatchOutcome, entity_id_of, failed, split_entity_id

log = logging.getLogger("devhost")


def run_batch(
    handle: Any, entity_id: str, exists: bool, state: str | None, requests: list[dict[str, Any]]
) -> BatchOutcome:
    """Apply `requests` (op, input, signal) in order and return the entity's new state."""
    name, key = split_entity_id(entity_id)
    context = json.dumps(
        {
            "self": {"name": name, "key": key},
            "exists": exists,
            "state": state if exists else None,
            "batch": [
                {"name": r["op"], "input": json.dumps(r["input"]), "isSignal": r["signal"]}
                for r in requests
            ],
        }
    )
    try:
        outcome = json.loads(handle(context))
    except Exception as error:
        log.exception("entity %s failed", entity_id)
        return failed(json.dumps(f"{type(error).__name__}: {error}"), len(requests), exists, state)
    signals = []
    for signal in outcome.get("signals") or []:
        target = signal.get("target", {})
        target_id = entity_id_of(str(target.get("name", "")), str(target.get("key")))
        signals.append((target_id, signal.get("name"), signal.get("input")))
    return BatchOutcome(
        exists=bool(outcome.get("entityExists")),
        state=outcome.get("entityState"),
        results=outcome.get("results") or [],
        signals=signals,
    )
