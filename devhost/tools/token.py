"""`devhost token --as NAME`: a bearer token from a running devhost --easyauth, the local
stand-in for `az account get-access-token --resource api://<client id>`."""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import cast

from devhost.app.config import ConfigError
from devhost.http.keys import keys_path
from devhost.tools.commands import hub_path


def token(args: argparse.Namespace) -> int:
    """Ask the running host's `/devhost/token` for a bearer token; print it alone."""
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
    try:
        path = keys_path(hub or hub_path(argparse.Namespace(app=Path("."), hub=None)))
        return cast(str, json.loads(path.read_text())["master"])
    except (ConfigError, OSError, ValueError, KeyError):
        return None
