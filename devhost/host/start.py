"""`devhost start`: the host process, assembled and run until SIGTERM or Ctrl-C.

The order matters. The worker processes start first, before the host opens the task hub,
binds a socket or starts a thread, so on Linux they may be forked (devhost/worker/pool.py); they
load the app while the hub opens. Then the engine and the HTTP listeners; the banner, as
`func start` prints it, once the host accepts work. On a stop the public port closes first,
running work gets its grace, and the RPC port closes last, since that work may still call it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import signal
import time
from collections.abc import Callable

from devhost.app.client_hubs import check_client_hubs
from devhost.app.config import (
    ConfigError,
    HostConfig,
    hub_file,
    load_host_config,
    load_local_settings,
)
from devhost.app.loader import FunctionIndex
from devhost.durable.clock import from_wire, make_clock
from devhost.durable.failures import timespan
from devhost.engine.loop import Engine
from devhost.host import watch
from devhost.http.easyauth import APP_SETTINGS, EasyAuth
from devhost.http.keys import Keys, keys_path, load_or_create
from devhost.http.server import Host, HostOptions
from devhost.hub.store import TaskHub
from devhost.worker.pool import WorkerPool, thread_count, worker_count

log = logging.getLogger("devhost")
SHUTDOWN_GRACE_SECONDS = 5.0


def start(args: argparse.Namespace) -> int:
    """Run the host `args` describe (the `start` command's flags) until it is stopped."""
    app_dir = args.app.resolve()
    if not (app_dir / "function_app.py").exists():
        raise ConfigError(f"no function_app.py in {app_dir}")
    load_local_settings(app_dir)
    config = load_host_config(app_dir)
    # The workers load the app meanwhile; with --easyauth they see what App Service sets.
    environment = APP_SETTINGS if args.easyauth else {}
    workers = WorkerPool(app_dir, worker_count(), thread_count(), environment)
    try:
        hub = TaskHub(args.hub or hub_file(app_dir, config.hub_name), args.sync)
        try:
            _run(args, config, workers, hub)
        finally:
            hub.close()
    finally:
        workers.stop()  # work still running in them runs again on the next start
    return 0


def _run(args: argparse.Namespace, config: HostConfig, workers: WorkerPool, hub: TaskHub) -> None:
    keys = load_or_create(keys_path(hub.path))
    position = hub.clock_position()
    clock = make_clock(args.clock, from_wire(position) if position else None)
    index = workers.start()
    report_refused(index)
    check_client_hubs(index, config)
    engine = Engine(
        hub,
        index,
        clock,
        workers,
        config.limits,
        config.versioning,
        replace_running=config.replace_running,
        function_timeout=config.function_timeout,
    )
    host = Host(
        config,
        index,
        engine,
        keys,
        HostOptions(
            port=args.port,
            require_keys=args.require_keys,
            bind=args.bind,
            easyauth=EasyAuth(args.easyauth_anonymous, token_store=args.easyauth_token_store)
            if args.easyauth
            else None,
        ),
    )

    def announce() -> None:
        print(_banner(host, args, hub, keys), flush=True)

    asyncio.run(serve(host, announce, watching=args.watch))


async def serve(host: Host, announce: Callable[[], None], *, watching: bool = False) -> None:
    """Run until SIGTERM/SIGINT, then drain running activities and return."""
    engine = host.engine
    await host.listen()
    engine_task = asyncio.create_task(engine.run())
    stop_watching = asyncio.Event()
    watcher = None
    if watching:
        app_dir = engine.workers.app_dir
        reload = functools.partial(reload_app, host)
        watcher = asyncio.create_task(watch.reload_on_change(app_dir, reload, stop_watching))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    host.ready = True
    announce()
    await stop.wait()
    if watcher is not None:
        stop_watching.set()  # ends the watch within its step; a reload under way is dropped
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    log.info("stopping: no new work; running activities get %ss", SHUTDOWN_GRACE_SECONDS)
    await host.stop_taking_requests()
    await engine.stop(SHUTDOWN_GRACE_SECONDS)
    await engine_task
    await host.close()


async def reload_app(host: Host, changed: list[str]) -> None:
    """New workers for the edited code (watch mode); the old code serves until they have
    loaded, and goes on serving if the app no longer imports."""
    log.info("%s changed: loading the app in new workers", ", ".join(changed))
    began = time.monotonic()
    before = set(host.index.describe())
    try:
        await host.engine.workers.reload(host.use_index)
    except ConfigError as problem:
        log.error("%s — still serving the previous code", problem)
        return
    report_refused(host.index)
    after = set(host.index.describe())
    log.info(
        "reloaded the app in %.1f s (functions added: %s; removed: %s); host.json and "
        "local.settings.json changes need a restart",
        time.monotonic() - began,
        ", ".join(sorted(name for name, _ in after - before)) or "none",
        ", ".join(sorted(name for name, _ in before - after)) or "none",
    )


def report_refused(index: FunctionIndex) -> None:
    """Log each function the host leaves out, in the host's words
    (ScriptHostLoggerExtension: "The '{functionName}' function is in error: {errorMessage}")."""
    for function in index.left_out:
        log.error(
            "The '%s' function is in error: %s (left out; on Azure too, while the rest of the "
            "app runs)",
            function.name,
            function.problem,
        )


def _banner(host: Host, args: argparse.Namespace, hub: TaskHub, keys: Keys) -> str:
    """What `func start` prints once it serves, and what this host does differently."""
    base = f"http://localhost:{args.port}"
    prefix = f"/{host.config.route_prefix}" if host.config.route_prefix else ""
    lines = ["", "Functions:", ""]
    for function in host.index.http:
        methods = ",".join(sorted(function.methods)) if function.methods else "ALL"
        lines.append(f"        {function.name}: [{methods}] {base}{prefix}/{function.route}")
        lines.append("")
    for name, kind in host.index.describe():
        if kind != "http":
            lines += [f"        {name}: {kind}", ""]
    if host.index.left_out:
        lines += ["Functions in error, left out as on Azure:", ""]
        for refused in host.index.left_out:
            lines += [f"        {refused.name}: {refused.problem}", ""]
    if host.index.disabled:
        names = ", ".join(host.index.disabled)
        lines += [f"Disabled by AzureWebJobs.<name>.Disabled: {names}", ""]
    commits = "fsynced" if hub.sync == "full" else f"not fsynced, sync {hub.sync}"
    lines.append(
        f"Task hub '{host.config.hub_name}' in {hub.path} (clock: {args.clock}, "
        f"keys {'required' if args.require_keys else 'not checked'}, commits {commits})"
    )
    limit = host.config.function_timeout
    lines.append(
        f"Activities and entity batches time out after {timespan(limit)} (functionTimeout)"
        if limit is not None
        else "Activities and entity batches run without a time limit (functionTimeout -1)"
    )
    if keys.created:
        lines.append(
            f"New keys written beside the hub: master={keys.master} "
            f"function={keys.function} durabletask_extension={keys.system}"
        )
    if args.easyauth:
        store = "on" if args.easyauth_token_store else "off, /.auth/me answers 404"
        lines.append(
            f"App Service Authentication emulated: sign in at {base}/.auth/login/aad, or send "
            f"`Authorization: Bearer $(python -m devhost token --as NAME)` (token store {store})"
        )
    if args.watch:
        lines.append(f"Watching {args.app.resolve()} for changes to Python files")
    lines.append(f"Host started on {base}")
    return "\n".join(lines)
