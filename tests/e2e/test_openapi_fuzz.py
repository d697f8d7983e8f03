"""The served OpenAPI document is complete and true: schemathesis finds nothing.

Schemathesis (a dev dependency, run offline against devhost) reads `GET /api/openapi.yaml`,
generates valid and invalid requests for every operation (coverage, fuzzing and stateful
phases, a bounded number of examples, a fixed seed) and runs all its checks: no 5xx, only
documented status codes, content types and schemas, invalid input refused, valid input
accepted, no answer without sign-in. The host runs as in Azure: keys required (the app's
routes take none: people sign in) and App Service Authentication (`--easyauth`), the caller
signed in with every app role. The few rules JSON Schema cannot express are applied to
generated valid data by tests/e2e/fuzz_hooks.py; tests/e2e/schemathesis.toml lists the answers
about an instance's state that a valid action may get. One check is left out: an undeclared
method is a 404 from the Functions host, not the 405 schemathesis expects (the methods are a
route constraint in ASP.NET routing; tests/devhost/test_http_triggers.py pins it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devhost.http.easyauth import COOKIE
from domain.roles import Role
from tests.conftest import ROOT

HERE = Path(__file__).parent
EXAMPLES = 10
SEED = 16
# Hypothesis keeps the characters each codec can encode here; building that table takes about
# 2.5 s, so it is kept with the unit tests' Hypothesis data rather than in a fresh folder each
# run. Generated examples live in memory only (--generation-database :memory:): every run starts
# from the seed and an empty example database, as it did in a fresh folder.
HYPOTHESIS_STORAGE = ROOT / ".hypothesis"


@pytest.mark.timeout(300)
def test_schemathesis_finds_nothing_against_the_served_document(start_app, tmp_path):
    host = start_app("--require-keys", "--easyauth", ACCEPT_ACTOR_FIELD="false").host
    signed_in = host.http.post(
        "/.auth/login/aad",
        data={"name": "fuzzer@example.com", "roles": "\n".join(role.value for role in Role)},
    )
    assert signed_in.status_code in (200, 302), signed_in.text
    token = host.http.cookies[COOKIE]
    command = [
        sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()",
        "--config-file", str(HERE / "schemathesis.toml"), "run",
        f"{host.base_url}/api/openapi.yaml", "--url", host.base_url,
        "--header", f"Authorization:Bearer {token}",
        "--checks", "all", "--exclude-checks", "unsupported_method",
        "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--no-shrink",
        "--workers", "1", "--generation-database", ":memory:",
    ]  # fmt: skip
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.e2e.fuzz_hooks",
        "PYTHONPATH": str(ROOT),
        "HYPOTHESIS_STORAGE_DIRECTORY": str(HYPOTHESIS_STORAGE),
    }
    run = subprocess.run(
        command,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    selected = re.search(r"Operations:\s+(\d+) selected / (\d+) total", run.stdout)
    assert selected and selected[1] == selected[2], run.stdout  # none left out
    assert run.stdout.count(f"✅ {selected[1]} passed") >= 2, run.stdout  # coverage, fuzzing
