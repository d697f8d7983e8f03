"""The HTTP face of devhost: function routes, the Durable HTTP API, admin and clock endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from devhost.app.config import ConfigError, HostConfig
from devhost.app.loader import FunctionIndex
from devhost.durable.clock import to_wire
from devhost.engine.loop import Engine, Gone, HostError, NotFound
from devhost.host import watch
from devhost.http.easyauth import PRINCIPAL, EasyAuth
from devhost.http.keys import Keys
from devhost.http.management import ManagementApi, error
from devhost.http.status import Urls
from devhost.http.triggers import HttpTriggers, to_web
from devhost.worker.messages import HttpTrigger
from devhost.worker.pool import WorkerFailed, WorkerLost

log = logging.getLogger("devhost")
WEBHOOKS = "/runtime/webhooks/durabletask"
SHUTDOWN_GRACE_SECONDS = 5.0
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
    watch: bool = False  # new workers when the app's code changes (devhost/host/watch.py)


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
        self.triggers = HttpTriggers(index.http)
        self.started = time.monotonic()
        self.rpc_base_url = ""
        self.ready = False
        self.body_limit = request_body_limit()

    def use_index(self, index: FunctionIndex) -> None:
        """Serve a reloaded app's functions: its routes here, the rest in the engine."""
        triggers = HttpTriggers(index.http)
        self.engine.use_index(index)
        self.index, self.triggers = index, triggers

    async def reload_app(self, changed: list[str]) -> None:
        """New workers for the edited code (watch mode); the old code serves until they have
        loaded, and goes on serving if the app no longer imports."""
        log.info("%s changed: loading the app in new workers", ", ".join(changed))
        began = time.monotonic()
        before = set(self.index.describe())
        try:
            await self.engine.workers.reload(self.use_index)
        except ConfigError as problem:
            log.error("%s — still serving the previous code", problem)
            return
        after = set(self.index.describe())
        log.info(
            "reloaded the app in %.1f s (functions added: %s; removed: %s); host.json and "
            "local.settings.json changes need a restart",
            time.monotonic() - began,
            ", ".join(sorted(name for name, _ in after - before)) or "none",
            ", ".join(sorted(name for name, _ in before - after)) or "none",
        )

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
            self.engine, self.urls_for, inputs_in_history=self.config.inputs_in_history
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
            self.engine,
            self.urls_for,
            inputs_in_history=self.config.inputs_in_history,
            sdk_encoded=True,
        )
        app.add_routes(api.routes("/durabletask"))
        return app

    # -- middleware --------------------------------------------------------------------------

    @web.middleware
    async def _errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Every failure becomes a JSON answer (a 404 or 410 from the Durable HTTP API has no
        body, as HttpApiHandler's have none); tracebacks stay in the host's log."""
        try:
            return await handler(request)
        except (NotFound, Gone) as problem:
            return web.Response(status=problem.status)
        except HostError as problem:
            return error(problem.status, problem.message, problem.summary)
        except web.HTTPException as problem:
            if problem.status < 400:
                raise
            return error(problem.status, problem.reason)
        except Exception:
            log.exception("request %s %s failed", request.method, request.path)
            return error(500, "The host failed to process the request; see its log.")

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
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
        now, fired = await self.engine.advance(seconds, timeout)
        return web.json_response({"now": to_wire(now), "fired": fired, "idle": True})

    async def wait_idle(self, request: web.Request) -> web.Response:
        """Answer once nothing is runnable or running (408 after `timeout` seconds)."""
        await self.engine.wait_idle(_timeout(request))
        return web.json_response({"idle": True, "now": to_wire(self.engine.clock.now())})

    async def http_trigger(self, request: web.Request) -> web.StreamResponse:
        prefix = f"/{self.config.route_prefix}/" if self.config.route_prefix else "/"
        path = request.path
        if not (path + "/").startswith(prefix):
            return error(404, f"No function serves {path}.")
        found = self.triggers.match(path[len(prefix) :], request.method)
        if found == "missing":
            return error(404, f"No function serves {path}.")
        if found == "method":
            refused = error(405, f"{request.method} is not allowed on {path}.")
            refused.headers["Allow"] = ", ".join(self.triggers.allowed(path[len(prefix) :]))
            return refused
        function, values = found
        if self.options.require_keys and not self.keys.allows(
            self._given_key(request), function.auth_level
        ):
            return web.Response(status=401)  # the host's UnauthorizedResult (devhost/http/keys.py)
        binding = None
        if function.client_param:
            binding = self.urls_for(request).client_binding(self.rpc_base_url)
        workers = self.engine.workers
        try:
            with self.engine.outside_work():
                call = await HttpTriggers.call_for(request, values)
                reply = await workers.call(HttpTrigger(function.name, call, binding))
        except web.HTTPRequestEntityTooLarge:
            return body_too_large(self.body_limit)
        except (WorkerLost, WorkerFailed) as problem:
            log.error("function %s did not answer: %s", function.name, problem)
            reply = str(problem)
        if isinstance(reply, str):  # what the function raised; the worker logged it
            return error(500, f"Function '{function.name}' failed; see the host's log.")
        return to_web(reply)

    # -- lifecycle ---------------------------------------------------------------------------

    async def serve(self, announce: Any) -> None:
        """Run until SIGTERM/SIGINT, then drain running activities and return."""
        rpc_runner = web.AppRunner(self.rpc_app(), access_log=None)
        await rpc_runner.setup()
        rpc_site = web.TCPSite(rpc_runner, "127.0.0.1", 0)
        await rpc_site.start()
        rpc_port = rpc_runner.addresses[0][1]
        self.rpc_base_url = f"http://127.0.0.1:{rpc_port}/durabletask/"
        self.engine.client_binding = self.own_urls().client_binding(self.rpc_base_url)
        runner = web.AppRunner(self.public_app(), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.options.bind, self.options.port).start()
        except OSError as problem:
            await runner.cleanup()
            await rpc_runner.cleanup()
            raise ConfigError(
                f"cannot listen on {self.options.bind}:{self.options.port}: {problem.strerror}"
            ) from None
        engine_task = asyncio.create_task(self.engine.run())
        stop_watching = asyncio.Event()
        watcher = None
        if self.options.watch:
            app_dir = self.engine.workers.app_dir
            watcher = asyncio.create_task(
                watch.reload_on_change(app_dir, self.reload_app, stop_watching)
            )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        self.ready = True
        announce()
        await stop.wait()
        if watcher is not None:
            stop_watching.set()  # ends the watch within its step; a reload under way is dropped
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        log.info("stopping: no new work; running activities get %ss", SHUTDOWN_GRACE_SECONDS)
        await runner.shutdown()
        await self.engine.stop(SHUTDOWN_GRACE_SECONDS)
        await engine_task
        await runner.cleanup()
        await rpc_runner.cleanup()


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
