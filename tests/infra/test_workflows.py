"""The GitHub workflows: CI runs the one CI entry point and compiles the Bicep; deploy logs in
with OIDC, deploys the templates with a .bicepparam and ships only the app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict[str, Any]:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(workflow, dict)
    # YAML 1.1 reads the bare key `on` as True.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def runs(workflow: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in steps(workflow))


def uses(workflow: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in steps(workflow) if step.get("uses", "").split("@")[0] == action]


@pytest.fixture(scope="module")
def ci() -> dict[str, Any]:
    return load("ci.yml")


@pytest.fixture(scope="module")
def deploy() -> dict[str, Any]:
    return load("deploy.yml")


def test_ci_runs_on_push_and_pull_request(ci: dict[str, Any]) -> None:
    assert {"push", "pull_request"} <= set(ci["on"])


def test_ci_runs_the_ci_entry_point_on_python_311(ci: dict[str, Any]) -> None:
    assert "bash .ci/run" in runs(ci)
    assert (ROOT / ".ci" / "run").is_file()
    (setup,) = uses(ci, "actions/setup-python")
    assert str(setup["with"]["python-version"]) == "3.11"
    assert uses(ci, "actions/checkout")


def test_ci_compiles_the_bicep(ci: dict[str, Any]) -> None:
    assert "az bicep build --file infra/main.bicep" in runs(ci)


def test_deploy_triggers(deploy: dict[str, Any]) -> None:
    assert "workflow_dispatch" in deploy["on"]
    after_ci = deploy["on"]["workflow_run"]
    assert after_ci["workflows"] == ["CI"] and after_ci["branches"] == ["main"]


def test_deploy_logs_in_with_oidc(deploy: dict[str, Any]) -> None:
    assert deploy["permissions"]["id-token"] == "write"
    (login,) = uses(deploy, "azure/login")
    assert {"client-id", "tenant-id", "subscription-id"} <= set(login["with"])
    assert "creds" not in login["with"] and "client-secret" not in login["with"]
    assert "publish-profile" not in str(deploy)


def test_deploy_uses_environments_and_serialises_per_environment(deploy: dict[str, Any]) -> None:
    for job in deploy["jobs"].values():
        assert job["environment"]
        assert job["concurrency"]["group"].startswith("deploy-")
        assert job["concurrency"]["cancel-in-progress"] is False


def test_deploy_runs_the_templates_with_a_bicepparam(deploy: dict[str, Any]) -> None:
    script = runs(deploy)
    assert "az deployment group create" in script
    assert "infra/main.bicep" in script
    assert ".bicepparam" in script
    options = deploy["on"]["workflow_dispatch"]["inputs"]["environment"]["options"]
    for environment in options:
        assert (ROOT / "infra" / f"{environment}.bicepparam").is_file()


def test_deploy_ships_the_app_to_flex_consumption(deploy: dict[str, Any]) -> None:
    (action,) = uses(deploy, "Azure/functions-action")
    assert action["with"]["sku"] == "flexconsumption"
    assert action["with"]["remote-build"] is True
    assert action["with"]["package"] == "app.zip"
    package_script = runs(deploy)
    assert ".funcignore" in package_script and "zip" in package_script


def test_funcignore_keeps_dev_only_folders_out_of_the_package() -> None:
    ignored = set((ROOT / ".funcignore").read_text().split())
    assert {"devhost/", "tests/", "bench/", "infra/"} <= ignored
