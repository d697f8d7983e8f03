"""The Durable Functions HTTP API (`/runtime/webhooks/durabletask/...`) as HttpApiHandler serves
it: its routes, status codes, headers and bodies (a 404 or 410 has no body).

The same handlers also serve the worker's RPC endpoint (`rpcBaseUrl`), which is what the SDK's
`DurableOrchestrationClient` calls from inside HTTP triggers.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from devhost.app.client_hubs import (
    other_connection_refusal,
    other_hub_refusal,
    same_connection,
    same_hub,
)
from devhost.app.config import DEFAULT_CONNECTION
from devhost.durable.clock import to_wire
from devhost.engine.checks import swapped_argument_error
from devhost.engine.client import ClientOperations
from devhost.http import query_params as q
from devhost.http.entity_api import EntityApi
from devhost.http.errors import ARGUMENTS_INCORRECT, Gone, HostError, NotFound
from devhost.http.status import RUNNING, Urls, instance_status
from devhost.hub.store import InstanceQuery

ILLEGAL_ID = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")  # DurableClient.IsInvalidCharacter
MAX_INSTANCE_ID = 256  # DurableClient.MaxInstanceIdLength
PURGEABLE = ("Completed", "Failed", "Terminated", "Canceled")  # AzureTableTrackingStore


def _argument_error(param: str, text: str) -> HostError:
    """DurableClient passes ArgumentException's two arguments the other way round."""
    return HostError(swapped_argument_error(param, text), ARGUMENTS_INCORRECT)


def validate_instance_id(instance_id: str) -> None:
    """DurableClient.StartNewAsync's rules for a caller's instance id."""
    if instance_id.startswith("@"):
        raise _argument_error("instanceId", "Orchestration instance ids must not start with @.")
    if ILLEGAL_ID.search(instance_id):
        raise _argument_error(
            "instanceId",
            "Orchestration instance ids must not contain /, \\, #, ?, or control characters.",
        )
    if len(instance_id) > MAX_INSTANCE_ID:
        raise HostError(
            f"Instance ID lengths must not exceed {MAX_INSTANCE_ID} characters.",
            ARGUMENTS_INCORRECT,
        )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _query(request: web.Request, name: str) -> str | None:
    """A query parameter as HttpApiHandler.GetClient reads it: the key ignoring case, a blank
    value as none."""
    value = next((v for k, v in request.query.items() if k.lower() == name.lower()), "")
    return value.strip() or None


class ManagementApi:
    """Request handlers over the engine's client operations; `urls_for(request)` builds
    management URLs for the caller's origin."""

    def __init__(
        self,
        client: ClientOperations,
        urls_for: Callable[[web.Request], Urls],
        inputs_in_history: bool = False,  # storeInputsInOrchestrationHistory's default
        sdk_encoded: bool = False,
        storage_connection: str = DEFAULT_CONNECTION,
    ) -> None:
        self.client = client
        self.storage_connection = storage_connection
        self.urls_for = urls_for
        self.inputs_in_history = inputs_in_history
        self.sdk_encoded = sdk_encoded

    def _unwrap(self, data: str | None) -> str | None:
        """The SDK's client JSON-encodes signal inputs before posting them as JSON, so the RPC
        endpoint receives a JSON string of JSON; devhost reads through that one extra layer.
        (Start inputs and raised events keep it, as on Azure: SDK issues #195 and #295.)"""
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
        """Every route of the API, each refusing a `?taskHub=` other than devhost's own."""
        return [
            web.route(r.method, r.path, self._in_this_hub(r.handler), **r.kwargs)
            for r in self._routes(prefix)
        ]

    def _in_this_hub(self, handler: Handler) -> Handler:
        """HttpApiHandler reads `taskHub` and `connection` from the query (keys ignoring case)
        and acts on that task hub through a client for it; hub names compare ignoring case
        (DurableClientAttribute.Equals). devhost serves one hub and refuses the others."""

        async def checked(request: web.Request) -> web.StreamResponse:
            hub = _query(request, "taskHub")
            own = self.urls_for(request).hub
            if hub is not None and not same_hub(hub, own):
                raise HostError(other_hub_refusal("The query parameter taskHub", hub, own))
            connection = _query(request, "connection")
            configured = self.storage_connection
            if connection is not None and not same_connection(connection, configured):
                where = "The query parameter connection"
                raise HostError(other_connection_refusal(where, connection, configured))
            return await handler(request)

        return checked

    def _routes(self, prefix: str) -> list[web.RouteDef]:
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
            web.post(instance + "/rewind", self.rewind),
            web.post(instance + "/restart", self.restart),
            *EntityApi(self.client, self._unwrap).routes(p),
        ]

    # -- starting and waiting ----------------------------------------------------------------

    async def start(self, request: web.Request) -> web.Response:
        """HandleStartOrchestratorRequestAsync: 202 with the management URLs, or with
        `timeout` and `pollingInterval` the outcome if the instance finishes in time.

        The body is stored as the extension stores it (JsonConvert.DeserializeObject, then
        serialized again): the SDK client's JSON string of JSON stays a JSON string."""
        instance_id = request.match_info.get("id")
        if instance_id is not None:
            validate_instance_id(instance_id)
        data = await q.read_json(request)
        version = request.query.get("version")  # HttpApiHandler: ?version= beats defaultVersion
        started = await self.client.start(request.match_info["name"], instance_id, data, version)
        return await self._check_status_or_wait(request, started)

    async def restart(self, request: web.Request) -> web.Response:
        """HandleRestartInstanceRequestAsync: the same orchestrator and input started again,
        under a new id unless `restartWithNewInstanceId=false` (DurableClient.RestartAsync)."""
        instance_id = request.match_info["id"]
        instance = self.client.hub.instance(instance_id)
        if instance is None:
            raise HostError(
                f"An orchestrastion with the instanceId {instance_id} was not found.",
                "InstanceId does not match a valid orchestration instance.",
            )
        new_id = q.flag(request, "restartWithNewInstanceId", True)
        started = await self.client.start(
            instance.name, None if new_id else instance_id, instance.input
        )
        return await self._check_status_or_wait(request, started)

    async def _check_status_or_wait(self, request: web.Request, instance_id: str) -> web.Response:
        """WaitForCompletionOrCreateCheckStatusResponseAsync when both `timeout` and
        `pollingInterval` are given; CreateCheckStatusResponse otherwise."""
        timeout = q.seconds(request, "timeout")
        interval = q.seconds(request, "pollingInterval")
        if timeout is None or interval is None:
            return self._check_status(request, instance_id)
        if interval > timeout:
            raise HostError(
                f"Total timeout {timeout:g} should be bigger than retry timeout {interval:g}",
                ARGUMENTS_INCORRECT,
            )
        deadline = time.monotonic() + timeout
        while True:
            instance = self.client.hub.instance(instance_id)
            if instance is not None and instance.finished:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self._check_status(request, instance_id)
            await asyncio.sleep(min(interval, remaining))
        if instance.status == "Completed":
            return web.Response(
                status=200, text=instance.output or "null", content_type="application/json"
            )
        return self._status_response(request, instance_id, fail_as_500=False)

    def _check_status(self, request: web.Request, instance_id: str) -> web.Response:
        """CreateCheckStatusResponseMessage: 202, Location and Retry-After 10, no rewind URL."""
        payload = self.urls_for(request).management_payload(instance_id)
        payload.pop("rewindPostUri")
        headers = {"Location": payload["statusQueryGetUri"], "Retry-After": "10"}
        return web.json_response(payload, status=202, headers=headers)

    # -- status and listing ------------------------------------------------------------------

    async def status(self, request: web.Request) -> web.Response:
        fail_as_500 = q.flag(request, "returnInternalServerErrorOnFailure", False)
        return self._status_response(request, request.match_info["id"], fail_as_500)

    def _status_response(
        self, request: web.Request, instance_id: str, fail_as_500: bool
    ) -> web.Response:
        """HandleGetStatusRequestAsync: 202 with Location (the request's own URL) and
        Retry-After 5 while the instance runs; 200 once it has finished, or 500 for a failed
        one when `returnInternalServerErrorOnFailure=true`."""
        instance = self.client.require(instance_id)
        show_history = q.flag(request, "showHistory", False)
        body = instance_status(
            instance,
            show_input=q.flag(request, "showInput", True),
            history=self.client.history(instance_id) if show_history else None,
            show_history_output=q.flag(request, "showHistoryOutput", False),
            scheduled_inputs=self.inputs_in_history,
        )
        if instance.status in RUNNING:
            headers = {"Location": str(request.url), "Retry-After": "5"}
            return web.json_response(body, status=202, headers=headers)
        failed = instance.status == "Failed" and fail_as_500
        return web.json_response(body, status=500 if failed else 200)

    def _query(self, request: web.Request, limit: int | None) -> InstanceQuery:
        return InstanceQuery(
            statuses=q.statuses(request.query.get("runtimeStatus", "")),
            created_from=q.time(request, "createdTimeFrom"),
            created_to=q.time(request, "createdTimeTo"),
            prefix=request.query.get("instanceIdPrefix") or None,
            limit=limit,
            after=q.continuation(request),
        )

    async def query(self, request: web.Request) -> web.Response:
        """One page of instances (`top`, default 100) and the token for the next, if any."""
        limit = q.page_size(request)
        rows = self.client.hub.query_instances(self._query(request, limit + 1))
        headers = {}
        if len(rows) > limit:
            rows = rows[:limit]
            headers = q.continuation_header(f"{rows[-1].created_at}|{rows[-1].id}")
        show_input = q.flag(request, "showInput", True)
        body = [instance_status(row, show_input=show_input) for row in rows]
        return web.json_response(body, headers=headers)

    # -- purge -------------------------------------------------------------------------------

    async def purge_one(self, request: web.Request) -> web.Response:
        """HandleDeleteHistoryByIdRequestAsync: any instance, whatever its status."""
        instance_id = request.match_info["id"]
        self.client.require_status(instance_id)
        return web.json_response({"instancesDeleted": await self.client.purge([instance_id])})

    async def purge_many(self, request: web.Request) -> web.Response:
        """HandleDeleteHistoryWithFiltersRequestAsync: `createdTimeFrom` is required,
        `createdTimeTo` defaults to now, and AzureTableTrackingStore.PurgeInstanceHistoryAsync
        keeps only the terminal statuses asked for; when none is left it filters on none."""
        created_from = q.time(request, "createdTimeFrom")
        if created_from is None:
            return web.json_response(
                "Please provide value for 'createdTimeFrom' parameter.", status=400
            )
        asked = q.statuses(request.query.get("runtimeStatus", ""))
        rows = self.client.hub.query_instances(
            InstanceQuery(
                statuses=tuple(status for status in asked if status in PURGEABLE),
                created_from=created_from,
                created_to=q.time(request, "createdTimeTo") or to_wire(self.client.now()),
            )
        )
        if not rows:
            raise NotFound("No instances matched the purge filter.")
        return web.json_response(
            {"instancesDeleted": await self.client.purge([r.id for r in rows])}
        )

    # -- instance operations -----------------------------------------------------------------

    def _operable(self, instance_id: str, *, gone: tuple[str, ...]) -> None:
        """404 for an unknown instance, 410 for one in a status the operation cannot change."""
        status = self.client.require_status(instance_id)
        if status in gone:
            raise Gone(f"Instance '{instance_id}' is {status}.")

    async def raise_event(self, request: web.Request) -> web.Response:
        """HandleRaiseEventRequestAsync: 410 once the instance has failed or finished."""
        instance_id = request.match_info["id"]
        self._operable(instance_id, gone=("Completed", "Failed", "Terminated", "Canceled"))
        data = await q.read_json(request, required=True)
        await self.client.raise_event(instance_id, request.match_info["event"], data)
        return web.Response(status=202)

    async def terminate(self, request: web.Request) -> web.Response:
        await self.client.terminate(request.match_info["id"], request.query.get("reason"))
        return web.Response(status=202)

    async def suspend(self, request: web.Request) -> web.Response:
        await self.client.suspend(request.match_info["id"], request.query.get("reason"))
        return web.Response(status=202)

    async def resume(self, request: web.Request) -> web.Response:
        await self.client.resume(request.match_info["id"], request.query.get("reason"))
        return web.Response(status=202)

    async def rewind(self, request: web.Request) -> web.Response:
        """HandleRewindInstanceRequestAsync: 410 for a completed or terminated instance;
        DurableClient.RewindAsync refuses (500) anything but a failed one."""
        instance_id = request.match_info["id"]
        self._operable(instance_id, gone=("Completed", "Terminated", "Canceled"))
        await self.client.rewind(instance_id, request.query.get("reason"))
        return web.Response(status=202)
