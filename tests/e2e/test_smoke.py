"""scripts/smoke.sh, the post-deploy smoke test, run as an operator runs it: against devhost.

One host runs as Azure serves the app (App Service Authentication in front, keys required, the
actor field off): the script signs in with its token, as the deploy workflow's is asked for with
`az account get-access-token`, here devhost's `devhost token`; another runs a manual clock with
fraud scoring always failing, so a claim never reaches its decision stage and fails only when
the test moves the clock past its retries.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from adapters import simulator
from devhost.testing import DevHost, free_port
from tests.conftest import ROOT, example_settings

SCRIPT = ROOT / "scripts" / "smoke.sh"
CLAIM_ID = re.compile(r"claimId=(SMOKE-[0-9]+-[0-9a-f]+)")


def settings(state: Path, **overrides: str) -> dict[str, str]:
    """Every app setting at its documented default, whatever the developer's
    local.settings.json or shell says (devhost lets the environment win), and simulators with
    their own state file."""
    return {
        **example_settings(),
        "SIMULATOR_STATE_PATH": str(state),
        "SIMULATOR_FAILURES": "",
        **overrides,
    }


def smoke(url: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), url],
        env=smoke_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def smoke_env(**env: str) -> dict[str, str]:
    """The caller's environment without SMOKE_ settings, and the tests' own interpreter first on
    PATH as the script's python3: the script starts one for every JSON field it reads, and a
    version manager's shim (pyenv's is a shell script) costs ten times a plain interpreter."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SMOKE_")}
    base["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), base.get("PATH", "")])
    return {**base, "SMOKE_POLL_SECONDS": "0.2", "SMOKE_TIMEOUT_SECONDS": "30", **env}


def claim_id(output: str) -> str:
    found = CLAIM_ID.search(output)
    assert found, f"no claimId in the script's output:\n{output}"
    return found.group(1)


@pytest.fixture(scope="module")
def azure_state(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("smoke") / "simulator.sqlite"


@pytest.fixture(scope="module")
def azure_like(devhost_factory, azure_state) -> DevHost:
    """The app as Azure serves it: App Service Authentication, keys required, the actor field
    off, a real clock and healthy simulators."""
    env = settings(azure_state, ACCEPT_ACTOR_FIELD="false", WEBSITE_SITE_NAME="workflows-smoke")
    return devhost_factory(ROOT, "--easyauth", "--require-keys", env=env)


def token(host: DevHost, name: str, roles: str) -> str:
    """A token for `name`, as `az account get-access-token` gives one in Azure (here devhost's
    emulated sign-in issues it)."""
    command = [sys.executable, "-m", "devhost", "token", "--as", name, "--roles", roles]
    command += ["--url", host.base_url, "--hub", str(host.hub)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def stuck(devhost_factory, tmp_path_factory) -> DevHost:
    """A manual clock and a fraud service that always fails: claims stay in `assessing`
    (waiting for a retry timer) until the test moves the clock; then they fail."""
    state = tmp_path_factory.mktemp("smoke-stuck") / "simulator.sqlite"
    env = settings(state, SIMULATOR_FAILURES=json.dumps({"fraud.score": 1_000_000}))
    return devhost_factory(ROOT, "--clock", "manual", env=env)


def test_a_claim_goes_through_the_decision_and_is_paid(azure_like, azure_state):
    supervisor = token(azure_like, "smoke@example.com", "Claims.Supervisor")
    run = smoke(azure_like.base_url, SMOKE_ACCESS_TOKEN=supervisor)

    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stderr == ""
    assert supervisor not in run.stdout
    steps = [line for line in run.stdout.splitlines() if line.startswith("==> ")]
    assert [line[4:9] for line in steps] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    summary = run.stdout.splitlines()[-1]
    assert summary.startswith("smoke test passed: claim SMOKE-")
    business_id = claim_id(run.stdout)
    assert f"claim {business_id} approved by smoke@example.com, paid 9000" in summary

    # The app itself says the claim completed, approved by the script's decision and paid.
    headers = {"Authorization": f"Bearer {supervisor}"}
    view = azure_like.http.get(f"/api/claims/{business_id}", headers=headers)
    assert view.status_code == 200, view.text
    view = view.json()
    assert (view["runtimeStatus"], view["stage"]) == ("Completed", "approved")
    out = view["output"]
    assert out["claimId"] == business_id and out["outcome"] == "approved"
    assert out["decidedBy"]["name"] == "smoke@example.com" and out["comment"] == "smoke test"
    assert out["amountPaid"] == 9000 and f"(payout {out['payoutId']})" in summary
    payouts = simulator.ledger("payout", path=azure_state)
    assert [p["payoutId"] for p in payouts if p["claimId"] == business_id] == [out["payoutId"]]
    lock = azure_like.http.get(f"/api/locks/policy:POL-{business_id}", headers=headers)
    assert lock.status_code == 200 and lock.json()["holder"] is None, lock.text


def test_without_a_token_or_with_a_wrong_one_it_fails_on_the_first_request(azure_like):
    for env in ({}, {"SMOKE_ACCESS_TOKEN": "not-a-token"}):
        run = smoke(azure_like.base_url, **env)
        assert run.returncode == 1
        assert "HTTP 401" in run.stderr and "sign-in was refused" in run.stderr
        assert "[2/4]" not in run.stdout


def test_a_token_without_the_supervisor_role_cannot_decide(azure_like):
    adjuster = token(azure_like, "ada@contoso.com", "Claims.Adjuster")
    run = smoke(azure_like.base_url, SMOKE_ACCESS_TOKEN=adjuster)
    assert run.returncode == 1
    assert "HTTP 403" in run.stderr and "Claims.Supervisor" in run.stderr
    assert "[3/4]" in run.stdout and "[4/4]" not in run.stdout


def test_a_claim_that_never_reaches_the_decision_times_out(stuck):
    run = smoke(stuck.base_url, SMOKE_TIMEOUT_SECONDS="1")

    assert run.returncode == 1, run.stdout + run.stderr
    assert "timed out after 1 s waiting for stage awaiting_decision" in run.stderr
    assert f"claim {claim_id(run.stdout)}" in run.stderr
    assert "stage=assessing" in run.stderr
    assert "[3/4]" not in run.stdout


def test_a_failed_instance_stops_the_script_at_once(stuck):
    process = subprocess.Popen(
        ["bash", str(SCRIPT), stuck.base_url],
        env=smoke_env(SMOKE_TIMEOUT_SECONDS="60"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        business_id = claim_id(process.stdout.readline())
        path = f"/api/claims/{business_id}"
        # The script, not the host, starts the claim: poll until it has.
        stuck.wait_until(lambda: stuck.http.get(path).json().get("stage") == "assessing")
        stuck.advance(3600)  # past every retry of the failing fraud scoring: the claim fails
        out, err = process.communicate(timeout=30)  # well before the script's own 60 s
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert stuck.http.get(path).json()["runtimeStatus"] == "Failed"
    assert process.returncode == 1, out + err
    assert f"claim {business_id} is Failed at stage 'assessing'" in err
    assert "[3/4]" not in out


@pytest.fixture
def not_json() -> Iterator[str]:
    """A server that accepts anything with 202 and an HTML page."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            body = b"<html><body>Your app is up</body></html>"
            self.send_response(202)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_body_that_is_not_json_fails(not_json):
    run = smoke(not_json)

    assert run.returncode == 1
    assert "HTTP 202 with a body that is not a JSON object" in run.stderr
    assert "Your app is up" in run.stderr


def test_an_unreachable_app_fails():
    run = smoke(f"http://127.0.0.1:{free_port()}")

    assert run.returncode == 1
    assert "cannot reach the app" in run.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {}, "expected 1 argument, got 0"),
        (["http://127.0.0.1:7071", "key"], {}, "expected 1 argument, got 2"),
        (["127.0.0.1:7071"], {}, "must start with http:// or https://"),
        (["http://127.0.0.1:7071"], {"SMOKE_ACCESS_TOKEN": "a b"}, "must not contain spaces"),
        (["http://127.0.0.1:7071"], {"SMOKE_TIMEOUT_SECONDS": "soon"}, "whole seconds"),
        (["http://127.0.0.1:7071"], {"SMOKE_POLL_SECONDS": "0"}, "above 0"),
    ],
)
def test_wrong_arguments_print_the_usage_and_exit_2(args, env, message):
    run = subprocess.run(
        ["bash", str(SCRIPT), *args],
        env=smoke_env(**env),
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )

    assert run.returncode == 2
    assert message in run.stderr and "usage: smoke.sh <app-url>" in run.stderr
    assert run.stdout == ""


def test_the_script_is_executable():
    assert os.access(SCRIPT, os.X_OK)
