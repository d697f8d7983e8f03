"""Shared fixtures: devhost's own pytest plugin (a real devhost process serving an app)."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import pytest

# Hypothesis loads its plugins when first imported: the only one installed is trio's (a
# dependency of the dev tools): imports in every process that nothing here uses.
# Schemathesis's subprocess inherits the setting.
os.environ.setdefault("HYPOTHESIS_NO_PLUGINS", "1")

pytest.register_assert_rewrite("devhost.testing")

pytest_plugins = ["devhost.testing", "pytester"]

ROOT = Path(__file__).resolve().parent.parent

# The files that run longest (seconds of host work each), longest first. xdist hands whole files
# to its workers in collection order (`--dist loadfile --no-loadscope-reorder` in pyproject.toml),
# so these start at once and the run does not end with one worker busy on a long file while the
# others wait. Its own default, most tests first, would start the one-test files last: the
# schemathesis run, the chaos test. Order only: a file missing here still runs.
LONG_FILES = (
    "tests/devhost/test_durability.py",
    "tests/e2e/test_locks.py",
    "tests/e2e/test_openapi_fuzz.py",
    "tests/devhost/test_azure_parity.py",
    "tests/infra/test_package.py",
    "tests/e2e/test_smoke.py",
    "tests/devhost/test_replay_check.py",
    "tests/devhost/test_watch.py",
    "tests/e2e/test_chaos.py",
    "tests/console/test_instance.py",
    "tests/devhost/test_clock.py",
    "tests/e2e/test_platform.py",
    "tests/console/test_paging.py",
    "tests/devhost/test_workers.py",
    "tests/infra/test_checkov.py",
    "tests/console/test_signed_in.py",
    "tests/e2e/test_releases.py",
    "tests/devhost/test_testing.py",
)


def example_settings() -> dict[str, str]:
    """local.settings.json.example's Values: what `make start` gives the app."""
    return json.loads((ROOT / "local.settings.json.example").read_text())["Values"]


__all__ = ["ROOT", "app_functions", "example_settings"]


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (pyproject.toml) starts one worker more than there are CPUs: much of a test's
    time goes to waiting on a host, a browser or a subprocess, and the extra worker fills it.
    On a 2-core machine the suite took 72 s with 3 workers against 82 s with 2."""
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return (len(usable) if usable else os.cpu_count() or 1) + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long files first, longest first; the rest keep their order (the sort is stable)."""
    rank = {ROOT / name: place for place, name in enumerate(LONG_FILES)}
    if missing := [str(path) for path in rank if not path.is_file()]:
        raise pytest.UsageError(f"LONG_FILES in tests/conftest.py names no file at {missing}")
    items.sort(key=lambda item: rank.get(item.path, len(rank)))


@functools.cache
def app_functions() -> tuple[Any, ...]:
    """The app's registered functions. Built once per process: the decorator library refuses a
    second `get_functions()` on the same app (it sees every name twice)."""
    import function_app

    return tuple(function_app.app.get_functions())
