"""Idempotency keys for portal actions (IETF draft "The Idempotency-Key HTTP Header Field").

A portal that lost the answer to an accepted action sends it again with the same
`Idempotency-Key`: it gets the first answer back and nothing happens twice. Keys belong to the
caller who sent them (by principal object id): the same key from someone else is their own
request. The same key from the same caller with a different request (body or route) is a
client bug: 422. Records are kept per instance for KEEP_FOR, which covers any portal's retry
schedule (seconds to minutes) and a portal that comes back from an overnight outage and
replays its queue.

Pure rules: the entity in entities/idempotency.py stores the state, api/idempotency.py asks.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from domain.common import ApiModel, Timestamp

IDEMPOTENCY_ENTITY = "idempotency"
HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=24)
MAX_KEYS = 200
"""Keys one instance remembers; its actions are bounded far below (see README, Bounds)."""

KEY_PATTERN = '^"?[\\x21\\x23-\\x7e]{1,255}"?$'
"""A structured-field string (RFC 8941) as the draft has it, or the bare token many send."""


class Remembered(ApiModel):
    """The first answer to one key: what was asked (fingerprint) and what was answered."""

    fingerprint: str
    status: int
    body: dict[str, Any]
    at: Timestamp


class KeyRecords(ApiModel):
    """One instance's remembered keys (the entity's state)."""

    keys: dict[str, Remembered] = Field(default_factory=dict)


def parse_key(header: str) -> str | None:
    """The key from the header value, or None when it is not a valid key."""
    value = header.strip()
    return value.strip('"') if re.fullmatch(KEY_PATTERN, value) else None


def caller_identity(object_id: str | None, name: str) -> str:
    """Who a key belongs to: the signed-in principal's object id, never a display name (two
    people may share one); a name only where nobody signs in (local use, `actor` field)."""
    return f"oid:{object_id}" if object_id else f"name:{name}"


def key_slot(identity: str, key: str) -> str:
    """Where a caller's key is kept: keys are the caller's own, so two callers who happen to
    pick the same key never see each other's answers (and no raw key is stored)."""
    return hashlib.sha256(f"{identity}\n{key}".encode()).hexdigest()


def fingerprint(route: str, identity: str, body: Any) -> str:
    """What makes two requests "the same": route, who acts and the body (key order aside)."""
    canonical = json.dumps([route, identity, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def recall(records: KeyRecords, key: str, now: datetime) -> Remembered | None:
    """The first answer to `key`, unless it has expired."""
    found = records.keys.get(key)
    return found if found and now - found.at < KEEP_FOR else None


def remember(records: KeyRecords, key: str, answer: Remembered) -> KeyRecords:
    """Records with `answer` kept under `key`; expired and (past MAX_KEYS) oldest ones dropped.

    The first answer stays: a key is never re-bound to another answer while it lives.
    """
    live = {k: r for k, r in records.keys.items() if answer.at - r.at < KEEP_FOR}
    if key in live:
        return KeyRecords(keys=live)
    live[key] = answer
    newest = sorted(live.items(), key=lambda item: item[1].at)[-MAX_KEYS:]
    return KeyRecords(keys=dict(newest))
