"""The pytest plugin for a Durable Functions app on devhost: hosts, clients, clock and idle."""

from devhost.testing.plugin import (
    DevHost,
    HostFactory,
    PortTaken,
    command,
    devhost,
    devhost_factory,
    free_port,
    pytest_addoption,
    pytest_configure,
)

__all__ = [
    "DevHost",
    "HostFactory",
    "PortTaken",
    "command",
    "devhost",
    "devhost_factory",
    "free_port",
    "pytest_addoption",
    "pytest_configure",
]
