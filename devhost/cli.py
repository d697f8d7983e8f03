"""`python -m devhost start | instances | show ID | purge | export ID… | replay-check | token`."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from devhost.app.config import ConfigError
from devhost.durable.clock import MODES
from devhost.hub.store import STATUSES, SYNC_MODES, TERMINAL

SECRET_OPTIONS = ("--key", "--bearer")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(_secrets_attached(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(
        level=logging.INFO, format="[%(asctime)s] %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        code: int = args.command(args)  # the subcommand's function, from set_defaults
        return code
    except ConfigError as problem:
        print(f"devhost: {problem}", file=sys.stderr)
        return 1


def _secrets_attached(argv: list[str]) -> list[str]:
    """`--key VALUE` as `--key=VALUE`: a function key or token may begin with `-` (the host's
    keys are URL-safe base64), which argparse would otherwise take for an option."""
    joined: list[str] = []
    values = iter(argv)
    for word in values:
        if word in SECRET_OPTIONS and (value := next(values, None)) is not None:
            joined.append(f"{word}={value}")
        else:
            joined.append(word)
    return joined


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
    check.add_argument("--prefix", help="instance id prefix (task hub, or --from)")
    _replay_from_options(check)
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


def _replay_from_options(check: argparse.ArgumentParser) -> None:
    remote = check.add_argument_group(
        "in flight in a running app (--from)",
        "list the app's instances through its Durable HTTP API (Running, Pending and "
        "Suspended unless --status says otherwise) and replay each one's history; exit 2 "
        "when the app cannot be reached or refuses",
    )
    remote.add_argument("--from", dest="from_url", metavar="URL", help="the app's base URL")
    remote.add_argument(
        "--key",
        help="the durabletask_extension system key, sent as x-functions-key "
        "(default: $REPLAY_CHECK_KEY)",
    )
    remote.add_argument(
        "--bearer",
        metavar="TOKEN",
        help="an access token for App Service Authentication (default: $REPLAY_CHECK_TOKEN)",
    )
    remote.add_argument(
        "--azure-cli",
        action="store_true",
        help="get the token from Azure CLI's signed-in account (azure-identity) for --resource",
    )
    remote.add_argument("--resource", metavar="api://CLIENT_ID", help="the token's audience")
    remote.add_argument("--limit", type=int, help="check at most N instances")
    remote.add_argument(
        "--version",
        action="append",
        help="an orchestration version instances in flight may carry (the API does not say "
        "which each has); each must replay under one (default: host.json's defaultVersion)",
    )
    remote.add_argument(
        "--concurrency", type=int, default=8, help="histories read at once (default 8)"
    )
    remote.add_argument(
        "--retry-for",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="keep asking while the app answers 502-504 or cannot be reached (a restart)",
    )
    remote.add_argument(
        "--summary", type=Path, metavar="FILE", help="append a markdown report (a job summary)"
    )


# Each command imports what it needs when it runs: `instances` never loads the web server or
# the SDK, and `start` loads them in the host, as preload's forkserver already has.


def _start(args: argparse.Namespace) -> int:
    from devhost.host.start import start

    return start(args)


def _instances(args: argparse.Namespace) -> int:
    from devhost.tools.commands import list_instances

    return list_instances(args)


def _show(args: argparse.Namespace) -> int:
    from devhost.tools.commands import show

    return show(args)


def _purge(args: argparse.Namespace) -> int:
    from devhost.tools.commands import purge

    return purge(args)


def _export(args: argparse.Namespace) -> int:
    from devhost.tools.commands import export

    return export(args)


def _replay_check(args: argparse.Namespace) -> int:
    if args.from_url:
        from devhost.tools.replayfrom import replay_from

        return replay_from(args)
    from devhost.tools.replaycheck import replay_check

    return replay_check(args)


def _token(args: argparse.Namespace) -> int:
    from devhost.tools.token import token

    return token(args)
