"""`devhost replay-check --from URL`: the claims in flight in a running app, read through its
Durable HTTP API, replayed against the code of a checkout before that code is deployed.

devhost stands in for the deployed app as Azure serves it: App Service Authentication in front
(`--easyauth`, a bearer token from `devhost token`), the `durabletask_extension` system key
required behind it (`--require-keys`), the manual clock. The claims wait where claims wait in
production: for an adjuster's decision, for documents, and second in line for a policy lock.
A copy of the app whose claim orchestrator inserts a step before its first one is the change
DurableTask.Core would fail every one of them for (tests/e2e/test_releases.py makes it the
same way).
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from devhost.testing import DevHost, command
from tests.conftest import ROOT, example_settings
from tests.e2e.test_claims import INVOICE, claim
from tests.e2e.test_releases import app_with_claims_change

HUB = {"TASKHUB_NAME": example_settings()["TASKHUB_NAME"]}
FIRST_LINE = "    claim = ClaimRequest.model_validate(context.get_input())\n"
IN_FLIGHT = {
    "claim-CLM-WAITS": claim("CLM-WAITS", "POL-A", amount=5000),  # awaiting a decision
    "claim-CLM-DOCS": claim("CLM-DOCS", "POL-B", documents=[INVOICE]),  # awaiting documents
    "claim-CLM-FIRST": claim("CLM-FIRST", "POL-S", amount=4000),  # holds the policy lock
    "claim-CLM-SECOND": claim("CLM-SECOND", "POL-S", amount=4000),  # waits for the lock
}


@pytest.fixture(scope="module")
def azure(devhost_factory, tmp_path_factory) -> DevHost:
    state = tmp_path_factory.mktemp("simulators") / "simulator.sqlite"
    env = {
        **HUB,
        "SIMULATOR_STATE_PATH": str(state),
        "SIMULATOR_FAILURES": "",
        "ACCEPT_ACTOR_FIELD": "true",
    }
    return devhost_factory(ROOT, "--easyauth", "--require-keys", clock="manual", env=env)


@pytest.fixture(scope="module")
def token(azure: DevHost) -> str:
    """What `az account get-access-token --resource api://<client id>` gives in Azure."""
    result = command(
        "token", "--as", "grace@contoso.com", "--roles", "Claims.Supervisor",
        "--url", azure.base_url, "--hub", str(azure.hub),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def key(azure: DevHost) -> str:
    return azure.keys()["systemKeys"]["durabletask_extension"]


@pytest.fixture(scope="module")
def claims(azure: DevHost, token: str) -> list[str]:
    """The claims in flight (a finished one beside them is not listed)."""
    with azure.client(headers={"Authorization": f"Bearer {token}"}) as portal:
        for body in [*IN_FLIGHT.values(), claim("CLM-DONE", "POL-D")]:
            assert portal.post("/api/claims", json=body).status_code == 202
            azure.idle()
        azure.advance(hours=1)  # the second in line polls the lock once more
    return sorted(IN_FLIGHT)


def replay_from(azure: DevHost, app: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return command(
        "replay-check", "--app", str(app), "--from", azure.base_url, *args, env=HUB, timeout=120
    )


def test_claims_in_flight_replay_against_the_unchanged_code(azure, claims, key, token, tmp_path):
    summary = tmp_path / "summary.md"

    result = replay_from(azure, ROOT, "--key", key, "--bearer", token, "--summary", str(summary))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "claim_orchestrator: 4 in flight, 0 diverged" in result.stdout
    assert f"4 instances in flight at {azure.base_url} replayed against the current code, " in (
        result.stdout
    )
    assert "replay-check: 4 instances replayed" in result.stderr  # progress
    assert "all 4 replay against this commit" in summary.read_text()
    assert "| claim_orchestrator | 4 | 0 | 0 |" in summary.read_text()


def test_a_step_inserted_first_diverges_for_every_claim_in_flight(
    azure, claims, key, token, tmp_path
):
    app = app_with_claims_change(
        tmp_path / "app",
        FIRST_LINE,
        '    yield from _notify(context, claim, "claim_hello", "hello")\n',
        before=False,
    )
    summary = tmp_path / "summary.md"

    result = replay_from(azure, app, "--key", key, "--bearer", token, "--summary", str(summary))

    assert result.returncode == 1, result.stdout + result.stderr
    report = result.stdout
    for instance_id in claims:
        where = f"{instance_id} (claim_orchestrator, {azure.base_url})"
        assert f"{where}: diverges at sequence number 0" in report, report
    assert report.count("  history: activity 'claims_notify' with input") == 4
    assert report.count("  code:    schedules activity 'claims_notify' with input") == 4
    assert "claim_orchestrator: 4 in flight, 4 diverged" in report
    assert "CLM-DONE" not in report
    assert "**4 of 4 diverge**" in summary.read_text()


def test_a_wrong_key_is_an_error_with_the_hosts_answer(azure, claims, token):
    """Signed in, the wrong key is forbidden: 403 with no body, as the host's key check
    answers a caller the platform let through (devhost/http/keys.py). The key begins with `-`,
    as one in 64 of the host's URL-safe keys does: it is still the key, not an option."""
    result = replay_from(azure, ROOT, "--key", "-not-the-key", "--bearer", token)

    assert result.returncode == 2, result.stdout + result.stderr
    listing = f"GET {azure.base_url}/runtime/webhooks/durabletask/instances"
    assert f"replay-check: {listing} answered 403: (no body)" in result.stderr
    assert "not-the-key" not in result.stdout + result.stderr
    assert "in flight" not in result.stdout


def test_behind_sign_in_the_key_alone_is_refused(azure, claims, key):
    result = replay_from(azure, ROOT, "--key", key)

    assert result.returncode == 2, result.stdout + result.stderr
    assert "answered 401: You do not have permission to view this directory or page." in (
        result.stderr
    )


def test_the_token_comes_from_azure_cli_for_the_resource(azure, claims, key, token, tmp_path):
    """AzureCliCredential runs `az account get-access-token --output json --resource R`."""
    az = tmp_path / "az"
    az.write_text(
        "#!/bin/sh\n"
        'case "$*" in *"--resource api://workflows-app"*) ;; *) echo "bad: $*" >&2; exit 1;; '
        "esac\n"
        f'echo \'{{"accessToken": "{token}", "expires_on": 4102444800, '
        f'"expiresOn": "2100-01-01 00:00:00.000000", "tokenType": "Bearer"}}\'\n'
    )
    az.chmod(az.stat().st_mode | stat.S_IEXEC)
    path = f"{tmp_path}{os.pathsep}{os.environ['PATH']}"

    signed_in = command(
        "replay-check", "--app", str(ROOT), "--from", azure.base_url, "--key", key,
        "--azure-cli", "--resource", "api://workflows-app", env={**HUB, "PATH": path},
    )  # fmt: skip
    wrong_audience = command(
        "replay-check", "--app", str(ROOT), "--from", azure.base_url, "--key", key,
        "--azure-cli", "--resource", "api://another-app", env={**HUB, "PATH": path},
    )  # fmt: skip

    assert signed_in.returncode == 0, signed_in.stdout + signed_in.stderr
    assert wrong_audience.returncode == 2
    assert "Azure CLI gave no token for api://another-app" in wrong_audience.stderr
