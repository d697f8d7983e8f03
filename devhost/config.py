"""What devhost reads from an app folder: host.json and local.settings.json."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devhost.versioning import UNVERSIONED, Versioning, VersioningError

SETTING_REFERENCE = re.compile(r"%([^%]+)%")


class ConfigError(Exception):
    """The app folder cannot be run; the message says why."""


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str
    hub_name: str
    max_activities: int
    max_orchestrators: int
    versioning: Versioning = UNVERSIONED


def load_local_settings(app_dir: Path) -> None:
    """Put local.settings.json Values into the environment, never overriding what is set."""
    path = app_dir / "local.settings.json"
    if not path.exists():
        return
    try:
        values = json.loads(path.read_text()).get("Values", {})
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path} is not valid JSON: {error}") from error
    for name, value in values.items():
        os.environ.setdefault(name, str(value))


def expand_settings(text: str) -> str:
    """Expand `%NAME%` references from the environment, as the Functions host does."""
    return SETTING_REFERENCE.sub(lambda match: os.environ.get(match.group(1), ""), text)


def load_host_config(app_dir: Path) -> HostConfig:
    path = app_dir / "host.json"
    document: dict[str, Any] = {}
    if path.exists():
        try:
            document = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path} is not valid JSON: {error}") from error
    extensions = document.get("extensions", {})
    prefix = extensions.get("http", {}).get("routePrefix", "api").strip("/")
    durable = extensions.get("durableTask", {})
    hub = expand_settings(str(durable.get("hubName", "TestHubName"))) or "TestHubName"
    try:
        versioning = Versioning.from_host_json(durable)
    except VersioningError as error:
        raise ConfigError(f"{path}: {error}") from error
    return HostConfig(
        route_prefix=prefix,
        hub_name=hub,
        max_activities=int(durable.get("maxConcurrentActivityFunctions", 10)),
        max_orchestrators=int(durable.get("maxConcurrentOrchestratorFunctions", 10)),
        versioning=versioning,
    )
