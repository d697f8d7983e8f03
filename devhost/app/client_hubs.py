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
        if hub is not None and hub.lower() != config.hub_name.lower():
            raise ConfigError(
                f"function {function}: its durable client binding names the task hub "
                f"'{hub}' (task_hub={named_hub!r}), but devhost serves only '{config.hub_name}' "
                f"(host.json's durableTask.hubName). On Azure the client would act on the task "
                f"hub '{hub}'; run that app under its own devhost, or leave task_hub out."
            )
        if connection is not None and connection.lower() != config.storage_connection.lower():
            raise ConfigError(
                f"function {function}: its durable client binding names the connection "
                f"'{connection}' (connection_name=), but devhost keeps its one task hub in "
                f"its own file, for the connection '{config.storage_connection}'. On Azure the "
                f"client would use the storage account in the app setting '{connection}'; "
                "leave connection_name out to use the app's own task hub."
            )


def _resolved(named: str | None) -> str | None:
    """A whole-value %SETTING% resolved from the app settings, as AutoResolve does."""
    if named is None:
        return None
    whole = WHOLE_SETTING.fullmatch(named)
    if whole and whole.group(1) in os.environ:
        return os.environ[whole.group(1)]
    return named
