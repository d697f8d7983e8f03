"""The entity routes of the Durable HTTP API (`entities/{name}/{key}`), as HttpApiHandler serves
them: read a state, signal an operation (POST) or `delete` (DELETE), list entities (no key)."""

from __future__ import annotations

import json
from collections.abc import Callable

from aiohttp import web

from devhost.durable.entities import entity_id_of
from devhost.engine.checks import unknown_function
from devhost.engine.client import ClientOperations
from devhost.http import query_params as q
from devhost.http.errors import HostError, NotFound

EMPTY_KEY = "$"  # HttpApiHandler.EmptyEntityKeySymbol


class EntityApi:
    """`unwrap` reads through the SDK client's extra JSON encoding on the RPC endpoint."""

    def __init__(
        self, client: ClientOperations, unwrap: Callable[[str | None], str | None]
    ) -> None:
        self.client = client
        self.unwrap = unwrap

    def routes(self, prefix: str) -> list[web.RouteDef]:
        entity = prefix + "/entities/{name}/{key}"
        return [
            web.get(prefix + "/entities", self.list_entities),
            web.get(prefix + "/entities/", self.list_entities),
            web.get(prefix + "/entities/{name}", self.list_entities),
            web.get(prefix + "/entities/{name}/", self.list_entities),
            web.get(entity, self.read_entity),
            web.post(entity, self.signal_entity),
            web.delete(entity, self.signal_entity),
        ]

    @staticmethod
    def _entity_id(request: web.Request) -> str:
        key = request.match_info["key"]
        return entity_id_of(request.match_info["name"], "" if key == EMPTY_KEY else key)

    async def read_entity(self, request: web.Request) -> web.Response:
        entity_id = self._entity_id(request)
        if not self.client.hub.entity_exists(entity_id):
            raise NotFound(f"No entity with ID '{entity_id}' was found.")
        state = self.client.hub.entity_state(entity_id)
        return web.Response(status=200, text=state or "null", content_type="application/json")

    async def signal_entity(self, request: web.Request) -> web.Response:
        """HandlePostEntityOperationRequestAsync: `?op=` (DELETE signals `delete`).
        DurableClient.SignalEntityAsyncInternal refuses an entity the app does not define
        (DurableTaskExtension.ThrowIfFunctionDoesNotExist), which HttpApiHandler answers 400."""
        name = request.match_info["name"].lower()
        entities = self.client.functions().entities
        if name not in entities:
            raise HostError(unknown_function("entity", name, entities))
        operation = "delete" if request.method == "DELETE" else request.query.get("op", "")
        data = self.unwrap(await q.read_json(request))
        await self.client.signal_entity(self._entity_id(request), operation, data)
        return web.Response(status=202)

    async def list_entities(self, request: web.Request) -> web.Response:
        """HandleListEntitiesRequestAsync: DurableEntityStatus rows (`fetchState` adds the
        state), `top` per page (default 100), `lastOperationTimeFrom`/`To`, and the
        continuation token in x-ms-continuation-token."""
        name = request.match_info.get("name")
        prefix = entity_id_of(name, "") if name else "@"
        after = q.continuation(request)
        since = q.time(request, "lastOperationTimeFrom")
        until = q.time(request, "lastOperationTimeTo")
        rows = sorted(
            row
            for row in self.client.hub.entities()
            if row[0].startswith(prefix)
            and (after is None or row[0] > after)
            and (since is None or row[4] >= since)
            and (until is None or row[4] <= until)
        )
        limit = q.page_size(request)
        headers = q.continuation_header(rows[limit - 1][0]) if len(rows) > limit else {}
        fetch_state = q.flag(request, "fetchState", False)
        body = [
            {
                "entityId": {"name": entity_name, "key": key},
                "lastOperationTime": updated_at,
                "state": json.loads(state) if fetch_state and state is not None else None,
            }
            for _, entity_name, key, state, updated_at in rows[:limit]
        ]
        return web.json_response(body, headers=headers)
