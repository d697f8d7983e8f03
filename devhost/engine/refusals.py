"""Why the engine turns a client operation down, in the Durable extension's own words.

The engine does what the extension's DurableClient does and refuses what it refuses, with the
same kinds of exception; the HTTP room answers each as HttpApiHandler does, with Azure's status
code (devhost/http/errors.py). The engine itself knows nothing of HTTP.
"""

from __future__ import annotations


class Refused(Exception):
    """A client operation the host turns down; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InstanceNotFound(Refused):
    """No instance has this id."""

    def __init__(self, instance_id: str) -> None:
        super().__init__(f"No instance with ID '{instance_id}' was found.")


class InstanceFinished(Refused):
    """The instance has finished, so the operation cannot change it any more."""


class InvalidArgument(Refused):
    """DurableClient's ArgumentException: the request names what the app does not have."""


class InvalidOperation(Refused):
    """DurableClient's InvalidOperationException: the instance's state does not allow it."""


class NotIdle(Refused):
    """The host did not become idle in time; the message says what was still running."""
