"""checkov's Azure policies over the Bicep templates: nothing fails, and every check that does not
apply is skipped in the template itself, next to the resource, with its reason."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infra.bicep_tree import INFRA
from tests.infra.conftest import CHECKOV_ENVIRONMENT

# The first test here may build the checkov virtualenv (seconds with uv, more on a slow index).
pytestmark = pytest.mark.timeout(900)

# The form of such a skip, inside the resource's body:
#   // checkov:skip=CKV_AZURE_222: portals call the HTTP API over the internet


def run_checkov(checkov: list[Path], directory: Path) -> dict:
    command = [*checkov, "--directory", directory, "--framework", "bicep", "--output", "json"]
    command += ["--compact", "--skip-download"]
    completed = subprocess.run(
        command, capture_output=True, text=True, env=CHECKOV_ENVIRONMENT, timeout=300
    )
    # Exit code 1 means "some check failed"; anything else is checkov itself failing.
    assert completed.returncode in (0, 1), completed.stderr[-2000:]
    # A check that crashes on an expression it cannot read counts as neither passed nor failed.
    assert "Failed to run check" not in completed.stderr, completed.stderr[-2000:]
    report = json.loads(completed.stdout)
    assert isinstance(report, dict), "expected one report for the one framework"
    return report


def weakened_storage() -> str:
    """infra's storage account with TLS 1.0 allowed and plain HTTP let through."""
    weakened = (INFRA / "modules" / "storage.bicep").read_text()
    weakened = weakened.replace("minimumTlsVersion: 'TLS1_2'", "minimumTlsVersion: 'TLS1_0'")
    return weakened.replace("supportsHttpsTrafficOnly: true", "supportsHttpsTrafficOnly: false")


@pytest.fixture(scope="module")
def report(checkov: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One checkov run (starting it is most of its time) over a copy of infra/ and, beside it
    in weakened/, a storage template that must fail."""
    root = tmp_path_factory.mktemp("checkov")
    shutil.copytree(INFRA, root / "infra")
    (root / "weakened").mkdir()
    (root / "weakened" / "storage.bicep").write_text(weakened_storage())
    return run_checkov(checkov, root)


def results(report: dict, outcome: str, folder: str) -> list[dict]:
    """The `outcome` checks ("passed", "failed", "skipped") on templates under `folder`."""
    checks = report["results"][f"{outcome}_checks"]
    return [check for check in checks if check["file_path"].startswith(f"/{folder}/")]


def test_checkov_scanned_the_templates(report: dict) -> None:
    summary = report["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] >= 10
    assert len(results(report, "passed", "infra")) >= 20


def test_no_check_fails(report: dict) -> None:
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for check in results(report, "failed", "infra")
    ]
    assert failed == []


def test_every_skip_gives_its_reason_in_the_template(report: dict) -> None:
    skipped = results(report, "skipped", "infra")
    assert skipped, "the Function App's public endpoint is a deliberate, documented skip"
    for check in skipped:
        reason = check["check_result"]["suppress_comment"].strip()
        where = f"{check['check_id']} on {check['resource']} ({check['file_path']})"
        assert reason != "No comment provided" and len(reason.split()) >= 4, where
        source = (INFRA.parent / check["file_path"].lstrip("/")).read_text()
        assert f"checkov:skip={check['check_id']}: {reason}" in source, where


def test_checkov_catches_a_weakened_storage_account(report: dict) -> None:
    failing = {check["check_id"] for check in results(report, "failed", "weakened")}
    assert {"CKV_AZURE_44", "CKV_AZURE_3"} <= failing
