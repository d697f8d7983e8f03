"""Run a batch of entity operations through the SDK's `Entity` handler, as the extension does.

The batch JSON carries each operation's input double-encoded (the SDK parses it twice), and
replies to `call_entity` travel back as `{"result": "<json>"}`, with `exceptionType` on errors.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("devhost")


@dataclass
class BatchOutcome:
    exists: bool
    state: str | None  # JSON text
    results: list[dict[str, Any]]
    signals: list[tuple[str, str, str | None]] = field(default_factory=list)  # (entity, op, input)


def split_entity_id(entity_id: str) -> tuple[str, str]:
    """`@name@key` into (name, key)."""
    name, _, key = entity_id[1:].partition("@")
    return name, key


def entity_id_of(name: str, key: str) -> str:
    return f"@{name.lower()}@{key}"


def failed(result: str, count: int, exists: bool, state: str | None) -> BatchOutcome:
    """Every operation of the batch failed with `result` (the text its caller receives); the
    state stays as it was and no signal goes out."""
    results = [{"isError": True, "result": result}] * count
    return BatchOutcome(exists, state, results)


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


def reply(result: dict[str, Any]) -> str:
    """The EventRaised input that answers a call_entity."""
    message = {"result": result.get("result")}
    if result.get("isError"):
        message["exceptionType"] = "Exception"
    return json.dumps(message)
