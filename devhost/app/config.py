"""What devhost reads from an app folder: host.json and local.settings.json."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devhost.app.versioning import UNVERSIONED, Versioning, VersioningError

WHOLE_SETTING = re.compile(r"%([^%]+)%")
# Azure Storage's blob container, table and queue name rules together, and at most 50
# characters (AzureStorageOptions.ValidateHubName).
HUB_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{2,49}")
DEFAULT_HUB = "TestHubName"  # DurableTaskOptions.DefaultHubName
TIMESPAN = re.compile(r"(-)?(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d+)?)")
# ScriptJobHostOptionsSetup outside Windows Consumption (Linux, Flex Consumption, dedicated):
# 30 minutes when host.json sets none, at least a second when it does, "-1" for no limit.
DEFAULT_FUNCTION_TIMEOUT = 30 * 60.0
MIN_FUNCTION_TIMEOUT = 1.0
FUNCTION_TIMEOUT_RANGE = (
    "FunctionTimeout must be greater than 00:00:01 and less than 10675199.02:48:05.4775807."
)
CONCURRENCY_LIMITS = (
    "maxConcurrentActivityFunctions",
    "maxConcurrentOrchestratorFunctions",
    "maxConcurrentEntityFunctions",
)
OVERRIDABLE_STATES = ("AnyState", "NonRunningStates")


class ConfigError(Exception):
    """The app folder cannot be run; the message says why."""


DEFAULT_MAX_ACTIONS = 100_000  # DurableTaskOptions.MaxOrchestrationActions
# AzureStorageDurabilityProviderFactory.DefaultConnectionName when storageProvider names none:
# ConnectionStringNames.Storage, which the WebJobs SDK reads as AzureWebJobsStorage.
DEFAULT_CONNECTION = "Storage"


@dataclass(frozen=True)
class Limits:
    """host.json's maxConcurrent…Functions (how much work of each kind runs at once) and
    maxOrchestrationActions (how many actions one orchestration execution may take)."""

    activities: int = 10
    orchestrations: int = 10
    entities: int = 10
    orchestration_actions: int = DEFAULT_MAX_ACTIONS


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str
    hub_name: str
    limits: Limits
    versioning: Versioning = UNVERSIONED
    replace_running: bool = False  # overridableExistingInstanceStates AnyState
    function_timeout: float | None = DEFAULT_FUNCTION_TIMEOUT  # seconds; None: no limit
    # storeInputsInOrchestrationHistory: activity and sub-orchestration inputs in history rows
    inputs_in_history: bool = False
    storage_connection: str = DEFAULT_CONNECTION  # the app setting naming the task hub's store


def hub_file(app_dir: Path, hub_name: str) -> Path:
    """Where the task hub lives unless `--hub` says otherwise: `.devhost/<hub>.sqlite`."""
    return app_dir / ".devhost" / f"{hub_name}.sqlite"


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
    try:
        versioning = Versioning.from_host_json(durable)
        limits = {name: _positive(durable, name) for name in CONCURRENCY_LIMITS}
        return HostConfig(
            route_prefix=prefix,
            hub_name=_hub_name(durable),
            limits=Limits(
                activities=limits["maxConcurrentActivityFunctions"],
                orchestrations=limits["maxConcurrentOrchestratorFunctions"],
                entities=limits["maxConcurrentEntityFunctions"],
                orchestration_actions=_max_actions(durable),
            ),
            versioning=versioning,
            replace_running=_overridable_states(durable) == "AnyState",
            function_timeout=_timeout(document.get("functionTimeout")),
            inputs_in_history=durable.get("storeInputsInOrchestrationHistory") is True,
            storage_connection=_storage_connection(durable),
        )
    except (VersioningError, ValueError) as error:
        raise ConfigError(f"{path}: {error}") from error


def _hub_name(durable: dict[str, Any]) -> str:
    """The task hub name as the extension resolves and validates it.

    A `%NAME%` reference is resolved only when it is the whole value
    (DurableTaskOptions.ResolveAppSettingOptions); a name given in host.json must satisfy
    AzureStorageOptions.ValidateHubName, which the host reports at start.
    """
    configured = durable.get("hubName")
    if configured is None:
        return DEFAULT_HUB
    name = str(configured)
    whole = WHOLE_SETTING.fullmatch(name)
    if whole and whole.group(1) in os.environ:
        name = os.environ[whole.group(1)]
    if not HUB_NAME.fullmatch(name):
        raise ValueError(
            f"Task hub name '{name}' should contain only alphanumeric characters, start with a "
            "letter, and have length between 3 and 45."
        )
    return name


def _positive(durable: dict[str, Any], name: str) -> int:
    """DurableTaskOptions.Validate: each concurrency limit a positive integer. Unset, ten per
    processor, as AzureStorageDurabilityProviderFactory sets it outside the Consumption plan
    (where it is 5 orchestrations, 10 activities, 10 entities)."""
    value = durable.get(name, 10 * (os.cpu_count() or 1))
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name[0].upper()}{name[1:]} must be a positive integer value.")
    return value


def _storage_connection(durable: dict[str, Any]) -> str:
    """storageProvider's connectionName (or the older connectionStringName)."""
    provider = durable.get("storageProvider") or {}
    named = provider.get("connectionName") or provider.get("connectionStringName")
    return str(named) if named else DEFAULT_CONNECTION


def _max_actions(durable: dict[str, Any]) -> int:
    """maxOrchestrationActions: an integer, 100,000 when unset (DurableTaskOptions)."""
    value = durable.get("maxOrchestrationActions", DEFAULT_MAX_ACTIONS)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("MaxOrchestrationActions must be an integer value.")
    return value


def _overridable_states(durable: dict[str, Any]) -> str:
    """overridableExistingInstanceStates, NonRunningStates by default (DurableTaskOptions)."""
    value = str(durable.get("overridableExistingInstanceStates", "NonRunningStates"))
    for state in OVERRIDABLE_STATES:
        if value.lower() == state.lower():
            return state
    raise ValueError(
        f"overridableExistingInstanceStates must be one of {', '.join(OVERRIDABLE_STATES)}, "
        f"not '{value}'."
    )


def _timeout(value: Any) -> float | None:
    """functionTimeout as a TimeSpan ("hh:mm:ss", "d.hh:mm:ss"), read as the Functions host reads
    it outside Windows Consumption: absent, 30 minutes; "-1", no limit; under a second, refused."""
    if value is None:
        return DEFAULT_FUNCTION_TIMEOUT
    if str(value).strip() == "-1":
        return None
    found = TIMESPAN.fullmatch(str(value).strip())
    if not found:
        raise ValueError(f"functionTimeout '{value}' is not a time span like 00:10:00.")
    negative, days, hours, minutes, seconds = found.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if negative and total == 86400:  # minus one day, "-1.00:00:00": the host's "no limit"
        return None
    if negative or total < MIN_FUNCTION_TIMEOUT:
        raise ValueError(FUNCTION_TIMEOUT_RANGE)
    return total
