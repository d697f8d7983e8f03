"""Entity ids and a batch's outcome, as the extension and the SDK's `Entity` handler use them.

An entity's id is `@name@key` with the name in lower case. A batch of operations answers with
the entity's new state, one result per operation and the signals it sent; replies to
`call_entity` travel back as `{"result": "<json>"}`, with `exceptionType` on errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


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


def reply(result: dict[str, Any]) -> str:
    """The EventRaised input that answers a call_entity."""
    message = {"result": result.get("result")}
    if result.get("isError"):
        message["exceptionType"] = "Exception"
    return json.dumps(message)
