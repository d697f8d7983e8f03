"""Orchestration versioning: defaultVersion, versionMatchStrategy and versionFailureStrategy.

Semantics from Microsoft Learn, "Orchestration versioning in Durable Functions" (defaults
CurrentOrOlder + Reject; new orchestrations and sub-orchestrations get defaultVersion), the
extension's `DurableTaskOptions` (the same defaults) and `HttpApiHandler.
HandleStartOrchestratorRequestAsync` (`?version=` beats defaultVersion), and DurableTask.Core's
`VersioningSettings.CompareVersions` and `TaskOrchestrationDispatcher.OnProcessWorkItemAsync`
(Strict compares the strings, CurrentOrOlder refuses newer instances, Reject abandons the work
item, Fail ends the instance with "VersionMismatch: Orchestration version did not comply with
Worker Versioning").
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from devhost.app.versioning import compare_versions
from devhost.testing import DevHost, command
from tests.devhost.support import APPS, WEBHOOKS, unique

VERSIONED = APPS / "versioned"


def versioned_app(folder: Path, **durable: str) -> Path:
    """A copy of the versioned app whose host.json durableTask section is `durable`."""
    shutil.copytree(VERSIONED, folder, dirs_exist_ok=True)
    host_json = {
        "version": "2.0",
        "extensions": {"durableTask": {"hubName": "versioned", **durable}},
    }
    (folder / "host.json").write_text(json.dumps(host_json))
    return folder


def start_versioned(host: DevHost, instance_id: str, version: str | None = None) -> None:
    params = {} if version is None else {"version": version}
    url = f"{WEBHOOKS}/orchestrators/versioned_parent/{instance_id}"
    response = host.http.post(url, params=params)
    assert response.status_code == 202, response.text


def logged(host: DevHost, text: str) -> bool:
    assert host.log is not None
    return text in host.log.read_text()


@pytest.mark.parametrize(
    ("source", "other", "expected"),
    [
        ("1.0.0", "1.0.0", 0),
        ("1.1.0", "1.0.0", 1),
        ("1.0.0", "1.1.0", -1),
        ("1", "1", 0),
        ("2", "1", 1),
        ("", "1", -1),
        ("1", "", 1),
        ("", "", 0),
        (None, "", 0),
        ("1.0", "1.0.0", -1),  # System.Version: an absent build number sorts first
        ("1.10", "1.9", 1),  # parsed, so numeric
        ("10", "9", -1),  # one part is not a System.Version: compared as text
        ("V2-RELEASE", "v2-release", 0),  # text comparison ignores case
    ],
)
def test_versions_compare_as_durable_task_core_compares_them(source, other, expected):
    """The cases of DurableTask.Core.Tests VersionSettingsTests.TestVersionComparison, and
    the System.Version and ordinal-ignore-case fallbacks CompareVersions documents."""
    assert compare_versions(source, other) == expected


def test_new_instances_and_sub_orchestrations_get_the_default_version(devhost_factory, tmp_path):
    """`context.version` reads ExecutionStarted.Version (SDK 1.7.0
    `DurableOrchestrationContext._extract_version_from_history`)."""
    host = devhost_factory(versioned_app(tmp_path / "app", defaultVersion="2.0"))
    defaulted, pinned = unique("v-default"), unique("v-pinned")
    start_versioned(host, defaulted)
    start_versioned(host, pinned, version="1.5")

    assert host.wait_for(defaulted)["output"] == {
        "parent": "2.0",
        "defaultChild": "2.0",
        "pinnedChild": "0.9",
    }
    # An explicit start version is the instance's, not its children's: they get defaultVersion.
    assert host.wait_for(pinned)["output"]["parent"] == "1.5"
    assert host.wait_for(pinned)["output"]["defaultChild"] == "2.0"

    shown = command("show", defaulted, "--hub", str(host.hub))
    assert shown.returncode == 0, shown.stderr
    assert "version: 2.0" in shown.stdout


def test_without_a_default_version_instances_are_unversioned_and_none_runs_any(
    devhost_factory, tmp_path
):
    host = devhost_factory(versioned_app(tmp_path / "app", versionMatchStrategy="None"))
    instance_id = unique("v-none")
    start_versioned(host, instance_id)

    assert host.wait_for(instance_id)["output"] == {
        "parent": "",
        "defaultChild": "",
        "pinnedChild": "0.9",  # newer than this host's (no) version, run anyway under None
    }


def test_current_or_older_with_reject_leaves_newer_instances_queued_for_a_newer_host(
    devhost_factory, tmp_path
):
    """Reject abandons the work item: the instance keeps its state and runs once a host with
    a version at least as new takes the hub over (Learn: "What happens after deployment")."""
    app = versioned_app(tmp_path / "app", defaultVersion="2.0")
    hub = tmp_path / "hub.sqlite"
    old_host = devhost_factory(app, hub=hub)
    newer, older = unique("v-newer"), unique("v-older")
    start_versioned(old_host, newer, version="3.0")
    start_versioned(old_host, older, version="1.0")

    assert old_host.wait_for(older)["runtimeStatus"] == "Completed"
    old_host.idle()  # idle, though the refused work stays queued
    assert logged(old_host, f"instance {newer} has version '3.0'")
    assert old_host.wait_for(newer, statuses=("Pending",))["runtimeStatus"] == "Pending"
    # Work only another host may run does not keep this one busy: tests can still wait on idle.
    assert old_host.http.get("/devhost/idle", params={"timeout": 10}).status_code == 200
    old_host.stop()

    versioned_app(app, defaultVersion="3.0")
    new_host = devhost_factory(app, hub=hub)
    assert new_host.wait_for(newer)["output"]["parent"] == "3.0"


def test_strict_with_fail_ends_other_versions_as_durable_task_core_does(devhost_factory, tmp_path):
    app = versioned_app(
        tmp_path / "app",
        defaultVersion="2.0",
        versionMatchStrategy="Strict",
        versionFailureStrategy="Fail",
    )
    host = devhost_factory(app)
    older, same = unique("v-older"), unique("v-same")
    start_versioned(host, older, version="1.0")
    start_versioned(host, same)

    failed = host.wait_for(older)
    assert failed["runtimeStatus"] == "Failed"
    assert failed["output"] == (
        "VersionMismatch: Orchestration version did not comply with Worker Versioning"
    )
    # The children of "2.0" get "2.0", but the one pinned to "0.9" fails the same way.
    finished = host.wait_for(same)
    assert finished["runtimeStatus"] == "Failed"
    assert "VersionMismatch" in json.dumps(finished["output"])


def test_an_unknown_strategy_stops_the_host_with_the_setting_named(tmp_path):
    app = versioned_app(tmp_path / "app", versionMatchStrategy="Newest")
    result = command("start", "--app", str(app), timeout=60)
    assert result.returncode == 1
    assert "durableTask.versionMatchStrategy is 'Newest'" in result.stderr
    assert "None, Strict, CurrentOrOlder" in result.stderr
    assert "Traceback" not in result.stderr
