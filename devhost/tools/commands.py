"""`devhost instances | show ID | purge | export ID…`: a task hub listed, read, pruned and
exported from the command line, with or without a host running on it. These stay clear of the
SDK and the web server, so they start at once."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devhost.app.config import ConfigError, hub_file, load_host_config, load_local_settings
from devhost.http.status import instance_status, readable_history
from devhost.hub.store import TERMINAL, InstanceQuery, TaskHub
from devhost.tools.exports import Recorded


def hub_path(args: argparse.Namespace) -> Path:
    """The hub file `--hub` names, or the app folder's (`--app`, whose settings it reads)."""
    app_dir = args.app.resolve()
    load_local_settings(app_dir)
    if args.hub:
        hub: Path = args.hub
        return hub
    return hub_file(app_dir, load_host_config(app_dir).hub_name)


def open_existing(args: argparse.Namespace) -> TaskHub:
    path = hub_path(args)
    if not path.exists():
        raise ConfigError(f"no task hub at {path}; start the app first")
    return TaskHub(path)


def list_instances(args: argparse.Namespace) -> int:
    hub = open_existing(args)
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


def show(args: argparse.Namespace) -> int:
    hub = open_existing(args)
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


def purge(args: argparse.Namespace) -> int:
    hub = open_existing(args)
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


def export(args: argparse.Namespace) -> int:
    hub = open_existing(args)
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
