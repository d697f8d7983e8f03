"""checkov's Azure policies over the Bicep templates: nothing fails beyond the skips below."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.infra.bicep_tree import INFRA

# The first test here may build the checkov virtualenv (about a minute with a warm pip cache).
pytestmark = pytest.mark.timeout(900)

# Each accepted finding, with why. The app is a public HTTP API on Flex Consumption without
# VNet integration; network isolation (VNet, private endpoints, private DNS) is a later step.
SKIPPED_CHECKS = {
    # Portals call the API over the internet with function keys.
    "CKV_AZURE_222": "Function App public network access: the API is public by design",
    "CKV_AZURE_17": "client certificates: callers authenticate with function keys / Entra ID",
    # Without VNet integration a Flex app reaches storage and Key Vault over public endpoints.
    "CKV_AZURE_35": "storage default network action Allow: no VNet integration yet",
    "CKV_AZURE_59": "storage public network access: no VNet integration yet",
    "CKV_AZURE_109": "Key Vault firewall default Allow: no VNet integration yet",
    "CKV_AZURE_189": "Key Vault public network access: no VNet integration yet",
    # App Service plan concepts that Flex Consumption replaces with per-function scaling.
    "CKV_AZURE_212": "numberOfWorkers: Flex Consumption scales instances itself",
    "CKV_AZURE_213": "health check eviction: an App Service plan feature Flex does not use",
}


def run_checkov(checkov: Path, directory: Path) -> dict:
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}  # offline: no policy metadata download
    command = [checkov, "--directory", directory, "--framework", "bicep", "--output", "json"]
    command += ["--quiet", "--compact", "--skip-download"]
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    # Exit code 1 means "some check failed"; anything else is checkov itself failing.
    assert completed.returncode in (0, 1), completed.stderr[-2000:]
    report = json.loads(completed.stdout)
    assert isinstance(report, dict), "expected one report for the one framework"
    return report


@pytest.fixture(scope="module")
def report(checkov: Path) -> dict:
    return run_checkov(checkov, INFRA)


def test_checkov_scanned_the_templates(report: dict) -> None:
    summary = report["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] >= 10
    assert summary["passed"] >= 20


def test_no_failed_checks_beyond_the_skip_list(report: dict) -> None:
    failed = {
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for check in report["results"]["failed_checks"]
        if check["check_id"] not in SKIPPED_CHECKS
    }
    assert failed == set()


def test_every_skip_is_still_needed(report: dict) -> None:
    failing = {check["check_id"] for check in report["results"]["failed_checks"]}
    assert set(SKIPPED_CHECKS) - failing == set(), "drop skips for checks that now pass"


def test_checkov_catches_a_weakened_storage_account(checkov: Path, tmp_path: Path) -> None:
    weakened = (INFRA / "modules" / "storage.bicep").read_text()
    weakened = weakened.replace("minimumTlsVersion: 'TLS1_2'", "minimumTlsVersion: 'TLS1_0'")
    weakened = weakened.replace("supportsHttpsTrafficOnly: true", "supportsHttpsTrafficOnly: false")
    (tmp_path / "storage.bicep").write_text(weakened)
    failing = {
        check["check_id"] for check in run_checkov(checkov, tmp_path)["results"]["failed_checks"]
    }
    assert {"CKV_AZURE_44", "CKV_AZURE_3"} <= failing
