"""The Durable Functions HTTP API (`/runtime/webhooks/durabletask/...`) with Azure's status codes.

The same handlers also serve the worker's RPC endpoint (`rpcBaseUrl`), which is what the SDK's
`DurableOrchestrationClient` calls from inside HTTP triggers.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from devhost.clock import from_wire, to_wire
from devhost.engine import Engine, HostError, NotFound
from devhost.extension_checks import unknown_function
from devhost.status import RUNNING, Urls, instance_status
from devhost.store import TERMINAL, InstanceQuery

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ILLEGAL_ID = re.compile(r"[/\\#?\x00-\x1f\x7f]")
TRUE = ("true", "1", "yes")
WHOLE_NUMBER = re.compile(r"\s*[+-]?\d+\s*")
DEFAULT_PAGE_SIZE = 100  # OrchestrationStatusQueryCondition.PageSize
CONTINUATION = "x-ms-continuation-token"
#: OrchestrationRuntimeStatus by number; the names are the enum's own spelling.
STATUS_NUMBERS = {
    0: "Running",
    1: "Completed",
    2: "ContinuedAsNew",
    3: "Failed",
    4: "Canceled",
    5: "Terminated",
    6: "Pending",
    7: "Suspended",
}
STATUS_NAMES = {name: name for name in STATUS_NUMBERS.values()}


def error(status: int, message: str) -> web.Response:
    """Errors as the extension words them: JSON with Message and ExceptionMessage."""
    return web.json_response({"Message": message, "ExceptionMessage": message}, status=status)


def validate_instance_id(instance_id: str) -> None:
    if not 1 <= len(instance_id) <= 100:
        raise HostError("Instance ID must be between 1 and 100 characters.")
    if instance_id.startswith("@"):
        raise HostError("Instance ID must not start with '@'.")
    if ILLEGAL_ID.search(instance_id):
        raise HostError("Instance ID must not contain /, \\, #, ? or control characters.")


async def read_json(request: web.Request, required: bool = False) -> str | None:
    """The body as JSON text; None when empty; HostError(400) when it is not JSON."""
    raw = await request.read()
    if not raw.strip():
        if required:
            raise HostError("Only application/json request content is supported")
        return None
    try:
        return json.dumps(json.loads(raw))
    except (ValueError, UnicodeDecodeError) as problem:
        raise HostError("Only application/json request content is supported") from problem


def _flag(request: web.Request, name: str, default: bool = False) -> bool:
    value = request.query.get(name)
    return default if value is None else value.lower() in TRUE


def _time(request: web.Request, name: str) -> str | None:
    """A date filter; one that does not parse is ignored, as `DateTime.TryParse` lets it be."""
    value = request.query.get(name)
    if not value:
        return None
    try:
        return to_wire(from_wire(value))
    except ValueError:
        return None


def _page_size(request: web.Request) -> int:
    """`top` as `int.TryParse` reads it; anything else leaves the default page of 100."""
    value = request.query.get("top", "")
    if not WHOLE_NUMBER.fullmatch(value) or int(value) < 1:
        return DEFAULT_PAGE_SIZE
    return int(value)


def parse_statuses(raw: str) -> tuple[str, ...]:
    """`runtimeStatus` as HttpApiHandler.TryGetIEnumerableQueryParameterValue parses it:
    comma separated, each an exact (case-sensitive) enum name or number; the rest is ignored."""
    chosen: list[str] = []
    for part in (p.strip() for p in raw.split(",")):
        number = WHOLE_NUMBER.fullmatch(part)
        status = STATUS_NUMBERS.get(int(part)) if number else STATUS_NAMES.get(part)
        if status and status not in chosen:
            chosen.append(status)
    return tuple(chosen)


class ManagementApi:
    """Request handlers; `urls_for(request)` builds management URLs for the caller's origin."""

    def __init__(
        self, engine: Engine, urls_for: Callable[[web.Request], Urls], sdk_encoded: bool = False
    ) -> None:
        self.engine = engine
        self.urls_for = urls_for
        self.sdk_encoded = sdk_encoded

    def _unwrap(self, data: str | None) -> str | None:
        """The SDK's client JSON-encodes start inputs and signal inputs before posting them as
        JSON, so the RPC endpoint receives a JSON string of JSON; the extension reads through
        that one extra layer, and so does devhost. (Raised events keep it: SDK issue #295.)"""
        if not self.sdk_encoded or data is None:
            return data
        inner = json.loads(data)
        if not isinstance(inner, str):
            return data
        try:
            return json.dumps(json.loads(inner))
        except ValueError:
            return data

    def routes(self, prefix: str) -> list[web.RouteDef]:
        p = prefix.rstrip("/")
        instance = p + "/instances/{id}"
        return [
            web.post(p + "/orchestrators/{name}", self.start),
            web.post(p + "/orchestrators/{name}/{id}", self.start),
            web.get(p + "/instances", self.query),
            web.get(p + "/instances/", self.query),
            web.delete(p + "/instances", self.purge_many),
            web.delete(p + "/instances/", self.purge_many),
            web.get(instance, self.status),
            web.delete(instance, self.purge_one),
            web.post(instance + "/raiseEvent/{event}", self.raise_event),
            web.post(instance + "/terminate", self.terminate),
            web.post(instance + "/suspend", self.suspend),
            web.post(instance + "/resume", self.resume),
            web.get(p + "/entities/{name}/{key}", self.read_entity),
            web.post(p + "/entities/{name}/{key}", self.signal_entity),
        ]

    def _instance_id(self, request: web.Request) -> str:
        instance_id = request.match_info["id"]
        validate_instance_id(instance_id)
        return instance_id

    async def start(self, request: web.Request) -> web.Response:
        instance_id = request.match_info.get("id")
        if instance_id is not None:
            validate_instance_id(instance_id)
        data = self._unwrap(await read_json(request))
        version = request.query.get("version")  # HttpApiHandler: ?version= beats defaultVersion
        started = await self.engine.start(request.match_info["name"], instance_id, data, version)
        payload = self.urls_for(request).management_payload(started)
        return web.json_response(
            payload,
            status=202,
            headers={"Location": payload["statusQueryGetUri"], "Retry-After": "10"},
        )

    async def status(self, request: web.Request) -> web.Response:
        instance_id = self._instance_id(request)
        instance = self.engine.hub.instance(instance_id)
        if instance is None:
            return error(404, f"No instance with ID '{instance_id}' was found.")
        show_history = _flag(request, "showHistory")
        body = instance_status(
            instance,
            show_input=_flag(request, "showInput", True),
            history=self.engine.history(instance_id) if show_history else None,
            show_history_output=_flag(request, "showHistoryOutput"),
        )
        if instance.status in RUNNING:
            location = self.urls_for(request).management_payload(instance_id)
            return web.json_response(
                body,
                status=202,
                headers={"Location": location["statusQueryGetUri"], "Retry-After": "10"},
            )
        return web.json_response(body, status=200)

    def _query(self, request: web.Request, limit: int | None) -> InstanceQuery:
        token = request.headers.get(CONTINUATION) or None
        after = None
        if token:
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode()
            except ValueError as problem:
                raise HostError(f"{CONTINUATION} is not valid.") from problem
            if "|" not in after:  # garbage decodes leniently; never restart at page one
                raise HostError(f"{CONTINUATION} is not valid.")
        return InstanceQuery(
            statuses=parse_statuses(request.query.get("runtimeStatus", "")),
            created_from=_time(request, "createdTimeFrom"),
            created_to=_time(request, "createdTimeTo"),
            prefix=request.query.get("instanceIdPrefix") or None,
            limit=limit,
            after=after,
        )

    async def query(self, request: web.Request) -> web.Response:
        """One page of instances (`top`, default 100) and the token for the next, if any."""
        limit = _page_size(request)
        rows = self.engine.hub.query_instances(self._query(request, limit + 1))
        headers = {}
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            token = f"{last.created_at}|{last.id}"
            headers[CONTINUATION] = base64.urlsafe_b64encode(token.encode()).decode()
        show_input = _flag(request, "showInput", True)
        body = [instance_status(row, show_input=show_input) for row in rows]
        return web.json_response(body, headers=headers)

    async def purge_one(self, request: web.Request) -> web.Response:
        instance_id = self._instance_id(request)
        instance = self.engine.hub.instance(instance_id)
        if instance is None:
            return error(404, f"No instance with ID '{instance_id}' was found.")
        if not instance.finished:  # Azure answers 412 Precondition Failed here
            return error(
                412,
                "Only orchestrations in a terminal state can be purged, but the orchestration "
                f"with instance ID {instance_id} has status {instance.status}",
            )
        return web.json_response({"instancesDeleted": await self.engine.purge([instance_id])})

    async def purge_many(self, request: web.Request) -> web.Response:
        query = self._query(request, None)
        statuses = query.statuses or TERMINAL
        if any(status not in TERMINAL for status in statuses):
            raise HostError("Only Completed, Failed and Terminated instances can be purged.")
        rows = self.engine.hub.query_instances(
            InstanceQuery(
                statuses=statuses,
                created_from=query.created_from,
                created_to=query.created_to,
                prefix=query.prefix,
            )
        )
        if not rows:
            return error(404, "No instances matched the purge filter.")
        return web.json_response(
            {"instancesDeleted": await self.engine.purge([r.id for r in rows])}
        )

    async def raise_event(self, request: web.Request) -> web.Response:
        instance_id = self._instance_id(request)
        self.engine.require_live(instance_id)
        data = await read_json(request, required=True)
        await self.engine.raise_event(instance_id, request.match_info["event"], data)
        return web.Response(status=202)

    async def terminate(self, request: web.Request) -> web.Response:
        await self.engine.terminate(self._instance_id(request), request.query.get("reason"))
        return web.Response(status=202)

    async def suspend(self, request: web.Request) -> web.Response:
        await self.engine.suspend(self._instance_id(request), request.query.get("reason"))
        return web.Response(status=202)

    async def resume(self, request: web.Request) -> web.Response:
        await self.engine.resume(self._instance_id(request), request.query.get("reason"))
        return web.Response(status=202)

    @staticmethod
    def _entity_id(request: web.Request) -> str:
        name, key = request.match_info["name"], request.match_info["key"]
        return f"@{name.lower()}@{key}"

    async def read_entity(self, request: web.Request) -> web.Response:
        entity_id = self._entity_id(request)
        if not self.engine.hub.entity_exists(entity_id):
            raise NotFound(f"No entity with ID '{entity_id}' was found.")
        state = self.engine.hub.entity_state(entity_id)
        return web.Response(status=200, text=state or "null", content_type="application/json")

    async def signal_entity(self, request: web.Request) -> web.Response:
        """DurableClient.SignalEntityAsyncInternal refuses an entity the app does not define
        (DurableTaskExtension.ThrowIfFunctionDoesNotExist): 400 from HttpApiHandler."""
        name = request.match_info["name"].lower()
        if name not in self.engine.index.entities:
            raise HostError(unknown_function("entity", name, self.engine.index.entities))
        operation = request.query.get("op", "")
        data = self._unwrap(await read_json(request))
        await self.engine.signal_entity(self._entity_id(request), operation, data)
        return web.Response(status=202)
