"""Shared fixtures: devhost's own pytest plugin (a real devhost process serving an app)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.register_assert_rewrite("devhost.testing")

from devhost.testing import DevHost, free_port  # noqa: E402

pytest_plugins = ["devhost.testing", "pytester"]

ROOT = Path(__file__).resolve().parent.parent


def example_settings() -> dict[str, str]:
    """local.settings.json.example's Values: what `make start` gives the app."""
    return json.loads((ROOT / "local.settings.json.example").read_text())["Values"]


RunningHost = DevHost  # the name the project's tests import

__all__ = ["ROOT", "RunningHost", "example_settings", "free_port"]
