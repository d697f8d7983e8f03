"""Shared fixtures: devhost's own pytest plugin (a real devhost process serving an app)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.register_assert_rewrite("devhost.testing")

from devhost.testing import DevHost, free_port  # noqa: E402

pytest_plugins = ["devhost.testing", "pytester"]

ROOT = Path(__file__).resolve().parent.parent
RunningHost = DevHost  # the name the project's tests import

__all__ = ["ROOT", "RunningHost", "free_port"]
