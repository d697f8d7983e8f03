"""Durable client bindings that name a task hub or a connection: devhost serves one hub.

`@app.durable_client_input(client_name=..., task_hub=..., connection_name=...)` gives the
binding `taskHub` (an app setting `%NAME%` resolved, DurableClientAttribute's AutoResolve) and
`connectionName` (the app setting holding another storage account's connection). On Azure such
a client talks to that hub, in that account (DurableTaskExtension.GetClient with the
attribute; hub names compare ignoring case, DurableClientAttribute.Equals,
azure-functions-durable-extension 2024-10-23). devhost keeps one task hub in one file: a
binding naming its own hub and storage works; any other is refused at start, naming the
function and the setting, rather than failing at the first call.
"""

from __future__ import annotations

import os

from devhost.app.config import WHOLE_SETTING, ConfigError, HostConfig
from devhost.app.loader import FunctionIndex


def check_client_hubs(index: FunctionIndex, config: HostConfig) -> None:
    """ConfigError for the first durable client binding naming a hub or store devhost lacks."""
    for function, (named_hub, connection) in sorted(index.client_hubs.items()):
        hub = _resolved(named_hub)
        binding = f"function {function}: its durable client binding (task_hub={named_hub!r})"
        if hub is not None and not same_hub(hub, config.hub_name):
            raise ConfigError(other_hub_refusal(binding, hub, config.hub_name))
        if connection is not None and not same_connection(connection, config.storage_connection):
            binding = f"function {function}: its durable client binding (connection_name=)"
            raise ConfigError(
                other_connection_refusal(binding, connection, config.storage_connection)
            )


def same_hub(named: str, hub: str) -> bool:
    """Task hub names compare ignoring case (DurableClientAttribute.Equals)."""
    return named.lower() == hub.lower()


def same_connection(named: str, configured: str) -> bool:
    """Whether two connection names find the same app setting: the WebJobs SDK looks a name
    up with the `AzureWebJobs` prefix first (`Storage` is `AzureWebJobsStorage`), and app
    setting names ignore case."""

    def setting(name: str) -> str:
        lowered = name.lower()
        return lowered if lowered.startswith("azurewebjobs") else "azurewebjobs" + lowered

    return setting(named) == setting(configured)


def other_hub_refusal(where: str, named: str, hub: str) -> str:
    """Why devhost refuses another task hub, and what Azure would do with it."""
    return (
        f"{where} names the task hub '{named}', but devhost serves only '{hub}' (host.json's "
        f"durableTask.hubName). On Azure the client would act on the task hub '{named}'; run "
        "that app under its own devhost, or leave the task hub out."
    )


def other_connection_refusal(where: str, named: str, configured: str) -> str:
    """Why devhost refuses another storage connection, and what Azure would do with it."""
    return (
        f"{where} names the connection '{named}', but devhost keeps its one task hub in its "
        f"own file, for the connection '{configured}'. On Azure the client would use the "
        f"storage account in the app setting '{named}'; leave the connection out to use the "
        "app's own task hub."
    )


def _resolved(named: str | None) -> str | None:
    """A whole-value %SETTING% resolved from the app settings, as AutoResolve does."""
    if named is None:
        return None
    whole = WHOLE_SETTING.fullmatch(named)
    if whole and whole.group(1) in os.environ:
        return os.environ[whole.group(1)]
    return named
