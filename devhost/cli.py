"""`python -m devhost start | instances | show ID | purge | export ID… | replay-check | token`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devhost.app.config import ConfigError, load_host_config, load_local_settings
from devhost.durable.clock import MODES, from_wire, make_clock
from devhost.durable.failures import timespan
from devhost.hub.store import SYNC_MODES, TERMINAL, InstanceQuery, TaskHub

STATUSES = ("Pending", "Running", "Suspended", "Completed", "Failed", "Terminated")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="[%(asctime)s] %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        return args.command(args)
    except ConfigError as problem:
        print(f"devhost: {problem}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="devhost", description="Run a Python Durable Functions app locally."
    )
    commands = parser.add_subparsers(required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--app", type=Path, default=Path("."), help="app folder (default .)")
        sub.add_argument("--hub", type=Path, help="task hub file (default .devhost/<hub>.sqlite)")

    start = commands.add_parser("start", help="serve the app on HTTP and run its workflows")
    common(start)
    start.add_argument("--port", type=int, default=7071)
    start.add_argument("--bind", default="127.0.0.1", help="address to listen on")
    start.add_argument(
        "--clock",
        choices=MODES,
        default="real",
        help="real: wall time; manual: moved by POST /devhost/clock/advance; "
        "auto: jumps to the next timer whenever the host is idle",
    )
    start.add_argument(
        "--sync",
        choices=SYNC_MODES,
        default="full",
        help="full: every commit is on the disk before it is answered (survives a machine "
        "crash); normal: no fsync per commit, survives the host's crash or SIGKILL only (for "
        "task hubs that are thrown away, as tests' are)",
    )
    start.add_argument(
        "--require-keys",
        action="store_true",
        help="enforce function, admin and system keys as Azure does",
    )
    start.add_argument(
        "--easyauth",
        action="store_true",
        help="emulate App Service Authentication with Entra ID: sign in at /.auth/login/aad, "
        "client-sent X-MS-CLIENT-PRINCIPAL headers dropped, 401 without a session",
    )
    start.add_argument(
        "--easyauth-anonymous",
        action="append",
        default=[],
        metavar="PATH",
        help="with --easyauth, a path that needs no sign-in (Azure's excludedPaths)",
    )
    start.add_argument(
        "--easyauth-token-store",
        action="store_true",
        help="with --easyauth, turn on the token store (Azure's login.tokenStore.enabled), "
        "without which GET /.auth/me answers 404 as in Azure",
    )
    start.add_argument(
        "--watch",
        action="store_true",
        help="load the app in new workers when its Python files change (host.json and "
        "local.settings.json changes need a restart)",
    )
    start.set_defaults(command=_start)

    instances = commands.add_parser("instances", help="list orchestration instances")
    common(instances)
    instances.add_argument("--status", action="append", choices=STATUSES)
    instances.add_argument("--name", help="orchestrator function name")
    instances.add_argument("--prefix", help="instance id prefix")
    instances.add_argument("--limit", type=int, default=100)
    instances.set_defaults(command=_instances)

    show = commands.add_parser("show", help="status and history of one instance")
    common(show)
    show.add_argument("instance_id")
    show.set_defaults(command=_show)

    purge = commands.add_parser("purge", help="delete finished instances and their history")
    common(purge)
    purge.add_argument("--status", action="append", choices=TERMINAL)
    purge.add_argument(
        "--older-than",
        type=float,
        default=0.0,
        metavar="HOURS",
        help="only instances created more than HOURS ago",
    )
    purge.set_defaults(command=_purge)

    export = commands.add_parser("export", help="write instances' histories to JSON files")
    common(export)
    export.add_argument("instance_ids", nargs="+", metavar="INSTANCE_ID")
    export.add_argument("--out", type=Path, default=Path("."), help="folder (default .)")
    export.set_defaults(command=_export)

    check = commands.add_parser(
        "replay-check",
        help="replay recorded histories against the current code; exit 1 if any diverge",
    )
    common(check)
    check.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="exported histories (files or folders); without any, the task hub's instances",
    )
    check.add_argument("--status", action="append", choices=STATUSES)
    check.add_argument("--prefix", help="instance id prefix (task hub only)")
    check.set_defaults(command=_replay_check)

    token = commands.add_parser(
        "token",
        help="print a bearer token a running devhost --easyauth accepts (the local stand-in "
        "for `az account get-access-token --resource api://<client id>`)",
    )
    token.add_argument("--as", dest="name", required=True, metavar="NAME", help="who signs in")
    token.add_argument(
        "--roles", default="", metavar="R1,R2", help="app roles, comma-separated (default none)"
    )
    token.add_argument(
        "--app",
        dest="application",
        action="store_true",
        help="sign in as an application (client credentials) rather than a person",
    )
    token.add_argument("--object-id", help="the principal's object id (default: from the name)")
    token.add_argument(
        "--url", default="http://localhost:7071", help="the running devhost (default %(default)s)"
    )
    token.add_argument(
        "--key",
        help="the master key, when the host runs with --require-keys (default: read from the "
        "key file beside the hub, found as --hub or in the app folder that is the current "
        "directory)",
    )
    token.add_argument("--hub", type=Path, help="task hub file, to find its key file")
    token.set_defaults(command=_token)
    return parser


def _hub_path(args: argparse.Namespace) -> Path:
    app_dir = args.app.resolve()
    load_local_settings(app_dir)
    if args.hub:
        return args.hub
    return app_dir / ".devhost" / f"{load_host_config(app_dir).hub_name}.sqlite"


def _open_existing(args: argparse.Namespace) -> TaskHub:
    path = _hub_path(args)
    if not path.exists():
        raise ConfigError(f"no task hub at {path}; start the app first")
    return TaskHub(path)


def _start(args: argparse.Namespace) -> int:
    from devhost.engine.loop import Engine
    from devhost.http.easyauth import APP_SETTINGS, EasyAuth
    from devhost.http.keys import keys_path, load_or_create
    from devhost.http.server import Host, HostOptions
    from devhost.worker.pool import WorkerPool, thread_count, worker_count

    app_dir = args.app.resolve()
    if not (app_dir / "function_app.py").exists():
        raise ConfigError(f"no function_app.py in {app_dir}")
    load_local_settings(app_dir)
    config = load_host_config(app_dir)
    # The workers load the app meanwhile; with --easyauth they see what App Service sets.
    environment = APP_SETTINGS if args.easyauth else {}
    workers = WorkerPool(app_dir, worker_count(), thread_count(), environment)
    hub_path = args.hub or app_dir / ".devhost" / f"{config.hub_name}.sqlite"
    hub = TaskHub(hub_path, args.sync)
    keys = load_or_create(keys_path(hub_path))
    position = hub.clock_position()
    clock = make_clock(args.clock, from_wire(position) if position else None)
    index = workers.start()
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
            watch=args.watch,
        ),
    )

    def announce() -> None:
        print(_banner(host, args, hub, keys), flush=True)

    try:
        asyncio.run(host.serve(announce))
    finally:
        workers.stop()  # work still running in them runs again on the next start
        hub.close()
    return 0


def _banner(host, args, hub, keys) -> str:
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


def _instances(args: argparse.Namespace) -> int:
    hub = _open_existing(args)
    rows = hub.query_instances(
        InstanceQuery(statuses=tuple(args.status or ()), name=args.name, prefix=args.prefix)
    )
    rows = sorted(rows, key=lambda r: r.created_at, reverse=True)[: args.limit]
    table = [("ID", "NAME", "VERSION", "STATUS", "CUSTOM STATUS", "CREATED", "UPDATED")]
    table += [
        (
            r.id,
            r.name,
            r.version or "-",
            r.status,
            _short(r.custom_status),
            r.created_at[:19],
            r.updated_at[:19],
        )
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    print(f"\n{len(rows)} instance(s)")
    return 0


def _short(text: str | None, width: int = 48) -> str:
    if text is None:
        return "-"
    return text if len(text) <= width else text[: width - 1] + "…"


def _show(args: argparse.Namespace) -> int:
    from devhost.http.status import instance_status, readable_history

    hub = _open_existing(args)
    instance = hub.instance(args.instance_id)
    if instance is None:
        print(f"devhost: no instance '{args.instance_id}'", file=sys.stderr)
        return 1
    status = instance_status(instance)
    for field in ("instanceId", "name", "runtimeStatus", "createdTime", "lastUpdatedTime"):
        print(f"{field:>16}: {status[field]}")
    # Azure's status payload leaves the version out (HttpApiHandler.ConvertFrom); the hub has it.
    print(f"{'version':>16}: {instance.version or '-'}")
    for field in ("input", "customStatus", "output"):
        print(f"{field:>16}: {json.dumps(status[field])}")
    print("\nHistory:")
    history = hub.history(instance.id)
    for event in readable_history(
        history, with_output=True, with_input=True, scheduled_inputs=True
    ):
        details = {k: v for k, v in event.items() if k not in ("EventType", "Timestamp")}
        summary = ", ".join(f"{k}={_short(json.dumps(v), 60)}" for k, v in details.items())
        print(f"  {event['Timestamp'][:23]}  {event['EventType']:<34} {summary}")
    return 0


def _purge(args: argparse.Namespace) -> int:
    hub = _open_existing(args)
    cutoff = datetime.now(UTC) - timedelta(hours=args.older_than)
    rows = hub.query_instances(
        InstanceQuery(
            statuses=tuple(args.status or TERMINAL),
            created_to=cutoff.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        )
    )
    with hub.transaction():
        for row in rows:
            hub.delete_instance(row.id)
    print(f"purged {len(rows)} instance(s)")
    return 0


def _export(args: argparse.Namespace) -> int:
    from devhost.tools.replaycheck import Recorded

    hub = _open_existing(args)
    instances = [(i, hub.instance(i)) for i in args.instance_ids]
    missing = [i for i, instance in instances if instance is None]
    if missing:
        print(f"devhost: no instance {', '.join(repr(i) for i in missing)}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    for instance_id, instance in instances:
        assert instance is not None
        recorded = Recorded(instance_id, instance.name, hub.history(instance_id))
        path = args.out / f"{_file_name(instance_id)}.json"
        document = recorded.to_export(instance.status, instance.version)
        path.write_text(json.dumps(document, indent=1) + "\n")
        print(path)
    return 0


def _file_name(instance_id: str) -> str:
    """Instance ids may hold characters some file systems refuse (`:` in child ids)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in instance_id)


def _replay_check(args: argparse.Namespace) -> int:
    from devhost.app.loader import load_app
    from devhost.tools.replaycheck import ExportError, Recorded, check, exports_in

    app_dir = args.app.resolve()
    load_local_settings(app_dir)
    index = load_app(app_dir)
    logging.getLogger().setLevel(logging.WARNING)  # replays re-run the app's own log lines
    if args.paths:
        try:
            recorded = list(exports_in(args.paths))
        except ExportError as problem:
            raise ConfigError(str(problem)) from problem
    else:
        hub = _open_existing(args)
        query = InstanceQuery(statuses=tuple(args.status or ()), prefix=args.prefix)
        rows = [(row, hub.history(row.id)) for row in hub.query_instances(query)]
        recorded = [Recorded(row.id, row.name, events) for row, events in rows if events]
    diverged = [d for d in (check(index.orchestrators, r) for r in recorded) if d]
    for divergence in diverged:
        print(divergence.describe() + "\n")
    print(
        f"replay-check: {len(recorded)} histories replayed against the current code, "
        f"{len(diverged)} diverged"
    )
    return 1 if diverged else 0


def _token(args: argparse.Namespace) -> int:
    """Ask the running host's `/devhost/token` for a bearer token; print it alone."""
    import urllib.error
    import urllib.parse
    import urllib.request

    body = {
        "name": args.name,
        "roles": [role.strip() for role in args.roles.split(",") if role.strip()],
        "application": args.application,
    }
    if args.object_id:
        body["objectId"] = args.object_id
    key = args.key or _master_key(args.hub)
    url = args.url.rstrip("/") + "/devhost/token"
    request = urllib.request.Request(
        url + (f"?{urllib.parse.urlencode({'code': key})}" if key else ""),
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            print(json.loads(answer.read())["accessToken"])
            return 0
    except urllib.error.HTTPError as refused:
        status, text = refused.code, refused.read().decode(errors="replace")[:300]
    except (urllib.error.URLError, OSError) as problem:
        raise ConfigError(f"cannot reach devhost at {args.url}: {problem}") from None
    if status == 404:
        raise ConfigError(f"{url} answered 404: is devhost running there with --easyauth?")
    if status in (401, 403):
        raise ConfigError(
            f"{url} answered {status}: the host runs with --require-keys; pass --key with its "
            "master key, or --hub to find the key file"
        )
    raise ConfigError(f"{url} answered {status}: {text}")


def _master_key(hub: Path | None) -> str | None:
    """The master key from the key file beside `hub` (default: the task hub of the app folder
    that is the current directory), or None when there is none."""
    from devhost.http.keys import keys_path

    try:
        path = keys_path(hub or _hub_path(argparse.Namespace(app=Path("."), hub=None)))
        return json.loads(path.read_text())["master"]
    except (ConfigError, OSError, ValueError, KeyError):
        return None
