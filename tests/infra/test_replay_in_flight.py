"""The deploy workflow replays the instances in flight against the commit it deploys: in prod
before prod is touched, in dev once dev runs it (docs/releases.md). The Durable HTTP API's
system key is read at run time and masked, never printed or stored; the token is the one asked
for right after the login; the job summary lists the instances per orchestrator; a divergence,
or an app that cannot be read, stops the deploy.

scripts/replay-in-flight.sh runs here against a stand-in for an app in Azure (the webhook of
tests/devhost/test_replay_condensed.py, serving histories as the extension writes them), with a
fake `az` that hands out the key.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.devhost.test_replay_condensed import KEY, RENEWALS, Webhook
from tests.infra.test_workflows import WORKFLOWS, load, logs_in

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "replay-in-flight.sh"
PROD = "Replay the instances in flight in prod against this commit"
DEV = "Replay the instances in flight in dev on this commit"


@pytest.fixture(scope="module")
def deploy_steps() -> list[dict[str, Any]]:
    return load(WORKFLOWS / "deploy-environment.yml")["jobs"]["deploy"]["steps"]


def names(steps: list[dict[str, Any]]) -> list[str]:
    return [step.get("name", "") for step in steps]


def step(steps: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (found,) = [s for s in steps if s.get("name") == name]
    return found


def test_prod_is_replayed_before_anything_is_deployed_and_dev_once_it_runs_the_commit(
    deploy_steps,
):
    order = names(deploy_steps)
    prod, dev = step(deploy_steps, PROD), step(deploy_steps, DEV)
    assert prod["if"] == "inputs.environment == 'prod'"
    assert dev["if"] == "inputs.environment != 'prod'"
    assert (
        order.index(PROD)
        < order.index("Deploy the infrastructure")
        < order.index("Deploy the app")
        < order.index(DEV)
        < order.index("Smoke check")
    )
    for replay in (prod, dev):
        assert replay["run"] == 'bash scripts/replay-in-flight.sh "https://$APP_HOST"'
    # prod: the app that runs now; dev: the one just deployed, given time to restart.
    assert prod["env"]["APP"] == "${{ steps.running.outputs.name }}"
    assert prod["env"]["APP_HOST"] == "${{ steps.running.outputs.host }}"
    assert "NEW_CODE_RUNS" not in prod["env"] and "RETRY_FOR" not in prod["env"]
    assert dev["env"]["APP"] == "${{ steps.infra.outputs.function-app-name }}"
    assert dev["env"]["APP_HOST"] == "${{ steps.infra.outputs.function-app-host }}"
    assert dev["env"]["NEW_CODE_RUNS"] == "true" and int(dev["env"]["RETRY_FOR"]) >= 60
    assert order.index("Find the app that runs now") < order.index(PROD)
    assert "workflow-version" in step(deploy_steps, "Find the app that runs now")["run"]


def test_the_check_uses_the_token_asked_for_right_after_the_login(deploy_steps):
    token = next(s for s in deploy_steps if s.get("id") == "api-token")
    at = deploy_steps.index(token)
    assert logs_in(deploy_steps[at - 1])
    for name in (PROD, DEV):
        replay = step(deploy_steps, name)
        assert replay["env"]["ACCESS_TOKEN"] == "${{ steps.api-token.outputs.access-token }}"
        assert deploy_steps.index(replay) > at
    assert "get-access-token" not in SCRIPT.read_text()


def test_this_commits_code_and_devhost_are_installed_before_the_login(deploy_steps):
    order = names(deploy_steps)
    install = step(deploy_steps, "Install the app's dependencies and devhost")
    assert "-r requirements.txt ./devhost" in install["run"]
    (setup,) = [s for s in deploy_steps if s.get("uses", "").startswith("actions/setup-python@")]
    assert "cache" not in setup["with"]
    assert (
        deploy_steps.index(setup) < order.index(install["name"]) < order.index("Azure login (OIDC)")
    )


def test_the_key_is_read_masked_and_handed_over_in_the_environment_only():
    script = SCRIPT.read_text()
    read = script.index("az functionapp keys list")
    mask = script.index('echo "::add-mask::$key"')
    used = script.index("REPLAY_CHECK_KEY=$key")
    assert read < mask < used
    assert "--query systemKeys.durabletask_extension" in script
    assert "GITHUB_OUTPUT" not in script and "GITHUB_ENV" not in script
    assert "--key" not in script  # a command line is readable by every process on the runner
    assert '--summary "$summary"' in script and "GITHUB_STEP_SUMMARY" in script


def test_the_script_passes_shellcheck():
    shellcheck = Path(sys.executable).parent / "shellcheck"
    result = subprocess.run([str(shellcheck), str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


# -- the script, run ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def azure() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """This commit as the workflow checks it out: here, the renewals app, with the recordings
    of an older version still in flight kept under tests/histories/1.0/."""
    folder = tmp_path / "checkout"
    shutil.copytree(RENEWALS, folder)
    (folder / "tests" / "histories" / "1.0").mkdir(parents=True)
    return folder


def run(checkout: Path, url: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The script as the step runs it, with `az` answering the key and logging its calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    az = bin_dir / "az"
    az.write_text(f'#!/bin/sh\necho "$*" >> "{tmp_path}/az.log"\necho {KEY}\n')
    az.chmod(0o755)
    python = bin_dir / "python"  # the one setup-python puts first on PATH: this venv's
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    environment = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),  # devhost, as pip installs it in the workflow
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "AZURE_RESOURCE_GROUP": "rg-workflows-prod",
        "APP": "func-workflows-prod-abc",
        "ACCESS_TOKEN": "token-from-the-login",
        **env,
    }
    return subprocess.run(
        ["bash", str(SCRIPT), url],
        cwd=checkout,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_instances_in_flight_are_listed_in_the_summary_and_the_key_is_never_shown(
    azure, checkout, tmp_path
):
    Webhook.seen.clear()

    result = run(checkout, azure, tmp_path, RUNNING_VERSION="2.0")

    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "az.log").read_text().split() == [
        "functionapp", "keys", "list", "--resource-group", "rg-workflows-prod",
        "--name", "func-workflows-prod-abc", "--query", "systemKeys.durabletask_extension",
        "--output", "tsv",
    ]  # fmt: skip
    output = result.stdout + result.stderr
    assert output.count(KEY) == 1 and f"::add-mask::{KEY}" in output
    assert "(versions: 2.0 1.0)" in result.stdout
    summary = (tmp_path / "summary.md").read_text()
    assert f"### Instances in flight at {azure}" in summary
    assert "all 3 replay against this commit" in summary
    assert "| renewal | 3 | 0 | 1 |" in summary
    assert all(headers["x-functions-key"] == KEY for _, _, headers in Webhook.seen)
    assert all(
        headers["Authorization"] == "Bearer token-from-the-login" for *_, headers in Webhook.seen
    )


def test_a_divergence_fails_the_step_and_is_in_the_summary(azure, checkout, tmp_path):
    source = checkout / "function_app.py"
    source.write_text(source.read_text().replace('"insurer": "North"', '"insurer": "East"'))

    result = run(checkout, azure, tmp_path, NEW_CODE_RUNS="true")

    assert result.returncode == 1, result.stdout + result.stderr
    summary = (tmp_path / "summary.md").read_text()
    assert "**2 of 3 diverge**" in summary
    assert "renewal-P1 (renewal, " in summary and "diverges at sequence number 0" in summary


def test_an_app_that_cannot_be_read_fails_the_step(checkout, tmp_path):
    result = run(checkout, "http://127.0.0.1:9", tmp_path)

    assert result.returncode == 2
    assert "replay-check: cannot reach http://127.0.0.1:9/runtime/webhooks/durabletask" in (
        result.stderr
    )


def test_before_the_first_deployment_nothing_is_in_flight(checkout, tmp_path):
    result = run(checkout, "https://", tmp_path, APP="")

    assert result.returncode == 0, result.stderr
    assert "no instance is in flight" in (tmp_path / "summary.md").read_text()
    assert not (tmp_path / "az.log").exists()
