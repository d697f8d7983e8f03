"""The HTTP face of devhost: function routes, the Durable HTTP API, admin and clock endpoints."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from devhost.app.client_hubs import check_client_hubs
from devhost.app.config import ConfigError, HostConfig
from devhost.app.loader import FunctionIndex
from devhost.durable.clock import to_wire
from devhost.engine.loop import Engine
from devhost.engine.refusals import Refused
from devhost.http.easyauth import PRINCIPAL, EasyAuth
from devhost.http.errors import HostError, answer, error
from devhost.http.keys import Keys
from devhost.http.management import ManagementApi
from devhost.http.status import Urls
from devhost.http.triggers import HttpTriggers, to_web
from devhost.worker.messages import HttpTrigger
from devhost.worker.pool import WorkerFailed, WorkerLost

log = logging.getLogger("devhost")
WEBHOOKS = "/runtime/webhooks/durabletask"
BODY_LIMIT_SETTING = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"
DEFAULT_BODY_LIMIT = 104_857_600
"""Azure's default request body limit (100 MB), overridden there by the same app setting."""


def request_body_limit() -> int:
    """The largest request body accepted, in bytes, read as the Functions host reads it."""
    configured = os.environ.get(BODY_LIMIT_SETTING, "")
    return int(configured) if configured.isdigit() and int(configured) > 0 else DEFAULT_BODY_LIMIT


def body_too_large(limit: int) -> web.Response:
    """413 with Kestrel's wording, which the Functions host answers with."""
    return error(413, f"Request body too large. The max request body size is {limit} bytes.")


@dataclass
class HostOptions:
    port: int
    require_keys: bool
    bind: str = "127.0.0.1"
    easyauth: EasyAuth | None = None


class Host:
    """Wires the engine to two HTTP listeners: the public port and a loopback RPC port."""

    def __init__(
        self,
        config: HostConfig,
        index: FunctionIndex,
        engine: Engine,
        keys: Keys,
        options: HostOptions,
    ) -> None:
        self.config = config
        self.index = index
        self.engine = engine
        self.keys = keys
        self.options = options
        self.triggers = HttpTriggers(index.http, config.route_prefix)
        self.started = time.monotonic()
        self.rpc_base_url = ""
        self.ready = False
        self.body_limit = request_body_limit()
        self._runners: list[web.AppRunner] = []

    def use_index(self, index: FunctionIndex) -> None:
        """Serve a reloaded app's functions: its routes here, the rest in the engine."""
        check_client_hubs(index, self.config)
        triggers = HttpTriggers(index.http, self.config.route_prefix)
        self.engine.use_index(index)
        self.index, self.triggers = index, triggers

    # -- assembly ----------------------------------------------------------------------------

    def urls_for(self, request: web.Request) -> Urls:
        return Urls(f"{request.scheme}://{request.host}", self.config.hub_name, self.keys.system)

    def own_urls(self) -> Urls:
        """URLs for bindings no request brings (an activity's client): the host's own address."""
        host = {"0.0.0.0": "localhost", "::": "localhost"}.get(self.options.bind, self.options.bind)
        return Urls(f"http://{host}:{self.options.port}", self.config.hub_name, self.keys.system)

    def public_app(self) -> web.Application:
        easyauth = self.options.easyauth
        # App Service Authentication runs in front of the Functions host, so its refusal comes
        # before the host's key check (`_auth` here, `http_trigger` for function routes).
        middlewares = [self._errors, *([easyauth.middleware] if easyauth else []), self._auth]
        app = web.Application(middlewares=middlewares, client_max_size=self.body_limit)
        api = ManagementApi(
            self.engine.client,
            self.urls_for,
            inputs_in_history=self.config.inputs_in_history,
            storage_connection=self.config.storage_connection,
        )
        app.add_routes(api.routes(WEBHOOKS))
        if easyauth:
            app.add_routes(easyauth.routes())
        app.add_routes(
            [
                web.get("/admin/host/status", self.host_status),
                web.get("/devhost/clock", self.clock),
                web.post("/devhost/clock/advance", self.advance_clock),
                web.get("/devhost/idle", self.wait_idle),
                web.route("*", "/{path:.*}", self.http_trigger),
            ]
        )
        return app

    def rpc_app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors], client_max_size=64 << 20)
        api = ManagementApi(
            self.engine.client,
            self.urls_for,
            inputs_in_history=self.config.inputs_in_history,
            sdk_encoded=True,
            storage_connection=self.config.storage_connection,
        )
        app.add_routes(api.routes("/durabletask"))
        return app

    # -- middleware --------------------------------------------------------------------------

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every failure becomes a JSON answer (a 404 or 410 from the Durable HTTP API has no
        body, as HttpApiHandler's have none); tracebacks stay in the host's log."""
        try:
            return await handler(request)
        except (HostError, Refused) as problem:
            return answer(problem)
        except web.HTTPException as problem:
            if problem.status < 400:
                raise
            return error(problem.status, problem.reason)
        except Exception:
            log.exception("request %s %s failed", request.method, request.path)
            return error(500, "The host failed to process the request; see its log.")

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.options.require_keys:
            level = None
            if request.path.startswith(WEBHOOKS):
                level = "system"
            elif request.path.startswith(("/admin/", "/devhost/")):
                level = "admin"
            if level and not self.keys.allows(self._given_key(request), level):
                return self._refused(request)
        return await handler(request)

    def _refused(self, request: web.Request) -> web.Response:
        """The host's answer when a key does not open an admin or webhook route
        (devhost/http/keys.py says why): 403 to a caller a key or the platform's principal
        authenticated, otherwise the Bearer challenge; no body either way."""
        authenticated = self.keys.level_of(self._given_key(request)) is not None or (
            self.options.easyauth is not None and PRINCIPAL in request.headers
        )
        if authenticated:
            return web.Response(status=403)
        return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})

    @staticmethod
    def _given_key(request: web.Request) -> str | None:
        """The key presented; the header wins over `?code=`, as in AuthenticationLevelHandler."""
        return request.headers.get("x-functions-key") or request.query.get("code")

    # -- handlers ----------------------------------------------------------------------------

    async def host_status(self, request: web.Request) -> web.Response:
        if not self.ready:
            return web.json_response({"state": "Initialized"}, status=503)
        return web.json_response(
            {
                "id": self.config.hub_name,
                "state": "Running",
                "version": "devhost",
                "processUptime": int((time.monotonic() - self.started) * 1000),
            }
        )

    async def clock(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"now": to_wire(self.engine.clock.now()), "mode": self.engine.clock.mode}
        )

    async def advance_clock(self, request: web.Request) -> web.Response:
        """Move host time forward; answers once the work the fired timers caused has run out."""
        timeout = _timeout(request)
        try:
            seconds = float((await request.json())["seconds"])
        except (ValueError, KeyError, TypeError) as problem:
            raise HostError('Body must be JSON like {"seconds": 60}.') from problem
        if not 0 <= seconds < 1e10:
            raise HostError("seconds must be a number from 0 on; the clock only moves forward.")
        now, fired = await self.engine.time.advance(seconds, timeout)
        return web.json_response({"now": to_wire(now), "fired": fired, "idle": True})

    async def wait_idle(self, request: web.Request) -> web.Response:
        """Answer once nothing is runnable or running (408 after `timeout` seconds)."""
        await self.engine.time.wait_idle(_timeout(request))
        return web.json_response({"idle": True, "now": to_wire(self.engine.clock.now())})

    async def http_trigger(self, request: web.Request) -> web.StreamResponse:
        """A function route. A path or method no route takes is a 404 and the function's
        failure, or a return value its binding cannot take, a 500, both without a body as the
        host answers them (FunctionInvocationMiddleware); the failure's reason goes to the log."""
        found = self.triggers.match(HttpTriggers.path_of(request), request.method)
        if found is None:
            # No route took it: ASP.NET's pipeline ends in an empty 404, and so does the
            # Durable HTTP API for a path or method it lacks (HttpApiHandler.HandleRequestAsync).
            return web.Response(status=404)
        function, values = found
        if self.options.require_keys and not self.keys.allows(
            self._given_key(request), function.auth_level
        ):
            return web.Response(status=401)  # the host's UnauthorizedResult (devhost/http/keys.py)
        if function.disabled and self.keys.level_of(self._given_key(request)) != "admin":
            # FunctionInvocationMiddleware.GetResultAsync: a disabled function is NotFound
            # unless the caller holds the admin level (the master key).
            return web.Response(status=404)
        binding = None
        if function.client_param:
            binding = self.urls_for(request).client_binding(self.rpc_base_url)
        workers = self.engine.workers
        try:
            with self.engine.time.outside_work():
                call = await HttpTriggers.call_for(request, values)
                reply = await workers.call(HttpTrigger(function.name, call, binding))
        except web.HTTPRequestEntityTooLarge:
            return body_too_large(self.body_limit)
        except (WorkerLost, WorkerFailed) as problem:
            reply = str(problem)
        if isinstance(reply, str):  # what the function raised, or the worker's refusal
            # The host's words for a failed invocation (FunctionExecutor, RpcException).
            log.error(
                "Exception while executing function: Functions.%s. Result: Failure Exception: %s",
                function.name,
                reply,
            )
            return web.Response(status=500)
        return to_web(reply)

    # -- listening -------------------------------------------------------------------------

    async def listen(self) -> None:
        """Open the loopback RPC port the SDK's client calls (`rpcBaseUrl`), then the public
        port; ConfigError when the public port is taken."""
        rpc = web.AppRunner(self.rpc_app(), access_log=None)
        await rpc.setup()
        self._runners.append(rpc)
        await web.TCPSite(rpc, "127.0.0.1", 0).start()
        self.rpc_base_url = f"http://127.0.0.1:{rpc.addresses[0][1]}/durabletask/"
        self.engine.use_client_binding(self.own_urls().client_binding(self.rpc_base_url))
        public = web.AppRunner(self.public_app(), access_log=None)
        await public.setup()
        self._runners.insert(0, public)
        try:
            await web.TCPSite(public, self.options.bind, self.options.port).start()
        except OSError as problem:
            await self.close()
            raise ConfigError(
                f"cannot listen on {self.options.bind}:{self.options.port}: {problem.strerror}"
            ) from None

    async def stop_taking_requests(self) -> None:
        """Close the public port; the RPC port stays open for work that is finishing."""
        if self._runners:
            await self._runners[0].shutdown()

    async def close(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        self._runners = []


def _timeout(request: web.Request) -> float:
    """The `timeout` query parameter in seconds (default 60) for waits on the host."""
    raw = request.query.get("timeout", "60")
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise HostError(f"timeout must be a number of seconds from 0 to 3600, not {raw!r}.")
    return value
