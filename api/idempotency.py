"""`Idempotency-Key` on portal actions: a retried action answers as the first one did.

    action = await IdempotentAction.begin(req, client, instance_id, body_json, actor)
    if (earlier := action.replay()) is not None:
        return earlier                                  # the first answer, again
    ...deliver the event...
    return await action.remember(client, response)      # kept for KEEP_FOR

`begin` answers 400 for a malformed key and 422 when the key was used for a different request.
Without the header nothing is remembered. The answer is stored by signalling the
`idempotency@<instance id>` entity, and `remember` returns once the entity holds it (or after
STORE_WAIT_SECONDS): an entity processes a signal a moment after it is sent (seconds on
Azure's queues), and a portal that lost the first answer and retries must find it. A retry
sent while the first request is still in flight can still find nothing: orchestrators that
wait for one event more than once drop an event whose key they already took (see
orchestrators/claims.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import azure.durable_functions as df
import azure.functions as func

from api.problems import ProblemError
from domain.idempotency import (
    HEADER,
    IDEMPOTENCY_ENTITY,
    KEEP_FOR,
    KeyRecords,
    Remembered,
    fingerprint,
    parse_key,
    recall,
)
from domain.views import FieldError

log = logging.getLogger("workflows.api")
STORE_WAIT_SECONDS = 5.0
POLL_SECONDS = 0.02


@dataclass(frozen=True)
class IdempotentAction:
    """One portal action and what its key recalls."""

    key: str | None
    fingerprint: str
    entity: df.EntityId
    earlier: Remembered | None

    @classmethod
    async def begin(
        cls,
        req: func.HttpRequest,
        client: df.DurableOrchestrationClient,
        instance_id: str,
        body: Any,
        actor: str | None,
    ) -> IdempotentAction:
        """Read the key's first answer, if any; 422 when it answered a different request."""
        header = req.headers.get(HEADER)
        entity = df.EntityId(IDEMPOTENCY_ENTITY, instance_id)
        asked = fingerprint(urlsplit(req.url).path, actor, body)
        if header is None:
            return cls(None, asked, entity, None)
        key = parse_key(header)
        if key is None:
            raise ProblemError(
                400,
                f"{HEADER} must be 1-255 visible ASCII characters, e.g. a UUID.",
                errors=[FieldError(field=HEADER, message="not a valid key")],
            )
        earlier = await _recall(client, entity, key)
        if earlier is not None and earlier.fingerprint != asked:
            raise ProblemError(
                422,
                f"{HEADER} {key!r} was used for a different request in the last "
                f"{int(KEEP_FOR.total_seconds() // 3600)} hours; use a new key for a new action.",
                errors=[FieldError(field=HEADER, message="reused with a different request")],
            )
        return cls(key, asked, entity, earlier)

    def replay(self) -> func.HttpResponse | None:
        """The first answer to this key, when there was one."""
        if self.earlier is None:
            return None
        return func.HttpResponse(
            json.dumps(self.earlier.body),
            status_code=self.earlier.status,
            mimetype="application/json",
            headers={HEADER: self.key or "", "Idempotent-Replayed": "true"},
        )

    async def remember(
        self, client: df.DurableOrchestrationClient, response: func.HttpResponse
    ) -> func.HttpResponse:
        """Keep `response` as this key's first answer (nothing without a key); return it."""
        if self.key is None:
            return response
        answer = Remembered(
            fingerprint=self.fingerprint,
            status=response.status_code,
            body=json.loads(response.get_body()),
            at=datetime.now(UTC),
        )
        payload = {"key": self.key, "answer": answer.model_dump(mode="json", by_alias=True)}
        await client.signal_entity(self.entity, "remember", payload)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STORE_WAIT_SECONDS
        while await _recall(client, self.entity, self.key) is None:
            if loop.time() >= deadline:
                log.warning("%s: key %r not stored yet; answering anyway", self.entity, self.key)
                break
            await asyncio.sleep(POLL_SECONDS)
        return response


async def _recall(
    client: df.DurableOrchestrationClient, entity: df.EntityId, key: str
) -> Remembered | None:
    """The answer stored for `key`, if the entity holds one."""
    state = await client.read_entity_state(entity)
    records = (
        KeyRecords.model_validate(state.entity_state or {}) if state.entity_exists else KeyRecords()
    )
    return recall(records, key, datetime.now(UTC))
