"""`Idempotency-Key` on portal actions: a retried action answers as the first one did.

    action = await IdempotentAction.begin(req, client, instance_id, body_json, actor)
    if (earlier := action.replay(status, event, url)) is not None:
        return earlier                                  # the first answer, again
    ...raise the event under action.action_id, wait for the verdict...
    return await action.remember(client, response)      # kept for KEEP_FOR

`begin` answers 400 for a malformed key and 422 when the caller used the key for a different
request. Keys are the caller's own (domain/idempotency.py). With a key the action id is derived
from the caller and the key, so every copy of one request carries the same id and the instance
applies it once, however many arrive together (orchestrators/inbox.py); a copy that finds its id
already taken answers as a replay. Without the header each request is a new action.

The answer is stored by signalling the `idempotency@<instance id>` entity, and `remember`
returns once the entity holds it (or after STORE_WAIT_SECONDS): an entity processes a signal a
moment after it is sent (seconds on Azure's queues), and a portal that lost the first answer
and retries must find it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import azure.durable_functions as df
import azure.functions as func

from api.problems import ProblemError
from api.verdict import taken
from domain.access import Actor
from domain.common import to_json
from domain.idempotency import (
    HEADER,
    IDEMPOTENCY_ENTITY,
    KEEP_FOR,
    KeyRecords,
    Remembered,
    caller_identity,
    fingerprint,
    key_slot,
    parse_key,
    recall,
)
from domain.views import Accepted, FieldError

log = logging.getLogger("workflows.api")
STORE_WAIT_SECONDS = 5.0
POLL_SECONDS = 0.02


REPLAYED = "Idempotent-Replayed"


@dataclass(frozen=True)
class IdempotentAction:
    """One portal action: its id, and what its key recalls."""

    key: str | None
    slot: str | None
    fingerprint: str
    action_id: str
    entity: df.EntityId
    earlier: Remembered | None

    @classmethod
    async def begin(
        cls,
        req: func.HttpRequest,
        client: df.DurableOrchestrationClient,
        instance_id: str,
        body: Any,
        actor: Actor,
    ) -> IdempotentAction:
        """Read the key's first answer, if any; 422 when it answered a different request."""
        header = req.headers.get(HEADER)
        entity = df.EntityId(IDEMPOTENCY_ENTITY, instance_id)
        identity = caller_identity(actor.object_id, actor.name)
        asked = fingerprint(urlsplit(req.url).path, identity, body)
        if header is None:
            return cls(None, None, asked, uuid.uuid4().hex, entity, None)
        key = parse_key(header)
        if key is None:
            raise ProblemError(
                400,
                f"{HEADER} must be 1-255 visible ASCII characters, e.g. a UUID.",
                errors=[FieldError(field=HEADER, message="not a valid key")],
            )
        slot = key_slot(identity, key)
        earlier = await _recall(client, entity, slot)
        if earlier is not None and earlier.fingerprint != asked:
            raise ProblemError(
                422,
                f"{HEADER} {key!r} was used for a different request in the last "
                f"{int(KEEP_FOR.total_seconds() // 3600)} hours; use a new key for a new action.",
                errors=[FieldError(field=HEADER, message="reused with a different request")],
            )
        return cls(key, slot, asked, slot[:32], entity, earlier)

    def replay(
        self, status: Any, event: str, url: str, shown_as: str | None = None
    ) -> func.HttpResponse | None:
        """The answer to an earlier copy of this request: the one remembered for its key, or,
        while that is still being stored, the instance's record that it took this action."""
        if self.earlier is not None:
            body, code = self.earlier.body, self.earlier.status
        elif self.key is None:
            return None
        else:
            entries = [a for a in taken(status, event) if a.get("actionId") == self.action_id]
            if not entries:
                return None
            accepted = Accepted(
                id=shown_as or status.instance_id,
                event=event,
                status_url=url,
                applied=True,
                action_id=self.action_id,
                by=entries[0].get("by"),
            )
            body, code = to_json(accepted), 202
        return func.HttpResponse(
            json.dumps(body),
            status_code=code,
            mimetype="application/json",
            headers={HEADER: self.key or "", REPLAYED: "true"},
        )

    async def remember(
        self, client: df.DurableOrchestrationClient, response: func.HttpResponse
    ) -> func.HttpResponse:
        """Keep `response` as this key's first answer (nothing without a key); return it."""
        if self.slot is None:
            return response
        answer = Remembered(
            fingerprint=self.fingerprint,
            status=response.status_code,
            body=json.loads(response.get_body()),
            at=datetime.now(UTC),
        )
        payload = {"key": self.slot, "answer": answer.model_dump(mode="json", by_alias=True)}
        await client.signal_entity(self.entity, "remember", payload)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STORE_WAIT_SECONDS
        while await _recall(client, self.entity, self.slot) is None:
            if loop.time() >= deadline:
                log.warning("%s: key %r not stored yet; answering anyway", self.entity, self.key)
                break
            await asyncio.sleep(POLL_SECONDS)
        return response


async def _recall(
    client: df.DurableOrchestrationClient, entity: df.EntityId, slot: str
) -> Remembered | None:
    """The answer stored in `slot`, if the entity holds one."""
    state = await client.read_entity_state(entity)
    records = (
        KeyRecords.model_validate(state.entity_state or {}) if state.entity_exists else KeyRecords()
    )
    return recall(records, slot, datetime.now(UTC))
