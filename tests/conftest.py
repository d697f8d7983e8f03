"""Shared fixtures: devhost's own pytest plugin (a real devhost process serving an app)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("devhost.testing")

from devhost.testing import DevHost, free_port  # noqa: E402

pytest_plugins = ["devhost.testing", "pytester"]

ROOT = Path(__file__).resolve().parent.parent


def example_settings() -> dict[str, str]:
    """local.settings.json.example's Values: what `make start` gives the app."""
    return json.loads((ROOT / "local.settings.json.example").read_text())["Values"]


RunningHost = DevHost  # the name the project's tests import

__all__ = ["ROOT", "RunningHost", "app_functions", "example_settings", "free_port"]


@functools.cache
def app_functions() -> tuple[Any, ...]:
    """The app's registered functions. Built once per process: the decorator library refuses a
    second `get_functions()` on the same app (it sees every name twice)."""
    import function_app

    return tuple(function_app.app.get_functions())
