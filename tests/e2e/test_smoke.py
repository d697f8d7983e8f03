"""scripts/smoke.sh, the post-deploy smoke test, run as an operator runs it: against devhost.

One host enforces keys as Azure does (the script must pass the function key); another runs a
manual clock with fraud scoring always failing, so a claim never reaches its decision stage and
fails only when the test moves the clock past its retries.
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
from devhost.easyauth import COOKIE
from tests.conftest import ROOT, RunningHost, example_settings, free_port

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


def smoke(url: str, key: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), url, key],
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
def keyed_state(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("smoke") / "simulator.sqlite"


@pytest.fixture(scope="module")
def keyed(devhost_factory, keyed_state) -> RunningHost:
    """The app with keys required, a real clock and healthy simulators."""
    return devhost_factory(ROOT, "--require-keys", env=settings(keyed_state))


@pytest.fixture(scope="module")
def function_key(keyed: RunningHost) -> str:
    return keyed.keys()["functionKeys"]["default"]


@pytest.fixture(scope="module")
def stuck(devhost_factory, tmp_path_factory) -> RunningHost:
    """A manual clock and a fraud service that always fails: claims stay in `assessing`
    (waiting for a retry timer) until the test moves the clock; then they fail."""
    state = tmp_path_factory.mktemp("smoke-stuck") / "simulator.sqlite"
    env = settings(state, SIMULATOR_FAILURES=json.dumps({"fraud.score": 1_000_000}))
    return devhost_factory(ROOT, "--clock", "manual", env=env)


def test_a_claim_goes_through_the_decision_and_is_paid(keyed, keyed_state, function_key):
    run = smoke(keyed.base_url, function_key)

    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stderr == ""
    assert function_key not in run.stdout
    steps = [line for line in run.stdout.splitlines() if line.startswith("==> ")]
    assert [line[4:9] for line in steps] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    summary = run.stdout.splitlines()[-1]
    assert summary.startswith("smoke test passed: claim SMOKE-")
    business_id = claim_id(run.stdout)
    assert f"claim {business_id} approved by smoke@example.com, paid 9000" in summary

    # The app itself says the claim completed, approved by the script's decision and paid.
    headers = {"x-functions-key": function_key}
    view = keyed.http.get(f"/api/claims/{business_id}", headers=headers)
    assert view.status_code == 200, view.text
    view = view.json()
    assert (view["runtimeStatus"], view["stage"]) == ("Completed", "approved")
    out = view["output"]
    assert out["claimId"] == business_id and out["outcome"] == "approved"
    assert out["decidedBy"]["name"] == "smoke@example.com" and out["comment"] == "smoke test"
    assert out["amountPaid"] == 9000 and f"(payout {out['payoutId']})" in summary
    payouts = simulator.ledger("payout", path=keyed_state)
    assert [p["payoutId"] for p in payouts if p["claimId"] == business_id] == [out["payoutId"]]
    lock = keyed.http.get(f"/api/locks/policy:POL-{business_id}", headers=headers)
    assert lock.status_code == 200 and lock.json()["holder"] is None, lock.text


def test_a_wrong_key_fails_on_the_first_request(keyed):
    run = smoke(keyed.base_url, "not-the-function-key")

    assert run.returncode == 1
    assert "HTTP 401" in run.stderr and "function key was refused" in run.stderr
    assert "[2/4]" not in run.stdout


def test_a_claim_that_never_reaches_the_decision_times_out(stuck):
    run = smoke(stuck.base_url, "any-key", SMOKE_TIMEOUT_SECONDS="1")

    assert run.returncode == 1, run.stdout + run.stderr
    assert "timed out after 1 s waiting for stage awaiting_decision" in run.stderr
    assert f"claim {claim_id(run.stdout)}" in run.stderr
    assert "stage=assessing" in run.stderr
    assert "[3/4]" not in run.stdout


def test_a_failed_instance_stops_the_script_at_once(stuck):
    process = subprocess.Popen(
        ["bash", str(SCRIPT), stuck.base_url, "any-key"],
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
    run = smoke(not_json, "key")

    assert run.returncode == 1
    assert "HTTP 202 with a body that is not a JSON object" in run.stderr
    assert "Your app is up" in run.stderr


def test_an_unreachable_app_fails():
    run = smoke(f"http://127.0.0.1:{free_port()}", "key")

    assert run.returncode == 1
    assert "cannot reach the app" in run.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {}, "expected 2 arguments, got 0"),
        (["http://127.0.0.1:7071"], {}, "expected 2 arguments, got 1"),
        (["http://127.0.0.1:7071", "key", "more"], {}, "expected 2 arguments, got 3"),
        (["127.0.0.1:7071", "key"], {}, "must start with http:// or https://"),
        (["http://127.0.0.1:7071", ""], {}, "function-key is empty"),
        (["http://127.0.0.1:7071", "key"], {"SMOKE_TIMEOUT_SECONDS": "soon"}, "whole seconds"),
        (["http://127.0.0.1:7071", "key"], {"SMOKE_POLL_SECONDS": "0"}, "above 0"),
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
    assert message in run.stderr and "usage: smoke.sh <app-url> <function-key>" in run.stderr
    assert run.stdout == ""


def test_the_script_is_executable():
    assert os.access(SCRIPT, os.X_OK)


@pytest.fixture(scope="module")
def signed_in(devhost_factory, tmp_path_factory) -> RunningHost:
    """The app as Azure serves it: keys required, App Service Authentication in front, and the
    actor field off."""
    state = tmp_path_factory.mktemp("smoke-signed-in") / "simulator.sqlite"
    env = settings(state, ACCEPT_ACTOR_FIELD="false")
    return devhost_factory(ROOT, "--require-keys", "--easyauth", env=env)


def test_behind_sign_in_the_script_decides_as_whoever_its_token_names(signed_in: RunningHost):
    key = signed_in.keys()["functionKeys"]["default"]
    refused = smoke(signed_in.base_url, key)
    assert refused.returncode == 1 and "401" in refused.stderr, refused.stdout + refused.stderr

    form = {"name": "sam@contoso.com", "roles": "Claims.Supervisor"}
    answer = signed_in.http.post("/.auth/login/aad", data=form)
    assert answer.status_code == 302, answer.text
    token = answer.cookies[COOKIE]
    run = smoke(signed_in.base_url, key, SMOKE_ACCESS_TOKEN=token)
    assert run.returncode == 0, run.stdout + run.stderr
    assert token not in run.stdout + run.stderr
    assert "approved by sam@contoso.com" in run.stdout.splitlines()[-1]
