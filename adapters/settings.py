"""App settings, read from the environment on every call.

Azure Functions exposes app settings (and local.settings.json under a local host) as environment
variables; reading them each time lets tests and operators change a setting without a restart.
"""

from __future__ import annotations

import os


def get(name: str, default: str | None = None) -> str | None:
    """The setting's value, or `default` when it is unset or blank."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip()


def number(name: str, default: float) -> float:
    """The setting as a number; a value that is not a number is a configuration error."""
    value = get(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"setting {name} must be a number, got {value!r}") from None
