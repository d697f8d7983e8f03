"""The docs run: every ```sh block of docs/operations.md, and every local step of docs/deploy.md,
taken from the markdown and run with bash against devhost serving the app as Azure does.

The host: the app (repository root) under `devhost start --easyauth --require-keys` with
`WEBSITE_SITE_NAME` set and ACCEPT_ACTOR_FIELD=false (App Service Authentication in front, keys
required, the app refusing whatever the platform did not sign in), a manual clock, and healthy
simulators but for one outage: the payments partner fails every attempt for the claim the
runbook rewinds, until that outage is spent ("payments fixed"). Before the runbook runs, the
instances its commands name are created through the API, signed in: the claim it terminates
waits for a decision, the one it rewinds has failed at its payout, the shipment and the
maintenance order are under way. Its task hub is `.devhost/<TASKHUB_NAME>.sqlite` in the app
folder, TASKHUB_NAME unique to the run (removed afterwards), so `python -m devhost ...` run
from the app folder finds it as the runbook says, as it finds `make start`'s.

Each block runs as `bash -c 'set -euo pipefail; <block>'` from the app folder, in one session
per guide: the shell variables a block sets (`HOST`, `TOKEN`...) are there for the next, as in
a person's terminal. What stands in for Azure:

- `az` first on PATH is tests/e2e/docs_az.py. Answered from devhost: `deployment group
  list/show` (a newest failed deployment, an older successful one and a module deployment
  beside the newest successful one, whose outputs name the running host), `account
  get-access-token --resource api://<the deployment's authClientId>` (a token from
  `python -m devhost token` for support@contoso.com holding Claims.Supervisor and
  Workflows.Reader, devhost's emulated sign-in standing in for Entra ID), `functionapp keys
  list` (the host's key file), `functionapp show` (its `/admin/host/status` state),
  `functionapp config appsettings list` (the settings the host runs with) and `functionapp
  function list` (the functions the host loaded, from its start-up list: devhost serves no
  `/admin/functions`). Only recorded and checked for the arguments' form, answered empty:
  `monitor app-insights query` and `monitor metrics list` (devhost has no telemetry store or
  metrics). Any other `az` command fails the block.
- `curl` first on PATH rewrites `https://$HOST...` to devhost's `http://127.0.0.1:<port>...`
  (TLS aside, as if the name resolved to devhost), for the blocks and the scripts they run
  (scripts/smoke.sh), and fails as an unresolvable name on any other URL; within the blocks,
  `curl` is also a shell function adding `--fail-with-body` (unless the command already asks
  for `--fail`), so an answer that is not 2xx fails the block.

Each block must exit 0, and its effect is checked on the host: the set-up picked the newest
successful deployment, found the running host and its system key, and its token signs in as
support (the console answers it, and nobody unsigned); the reads return the instances they name,
the listing of claims awaiting a decision holds the waiting claim and not the failed one; the
terminate command terminated claim-CLM-1001, by support, and freed its policy lock; the rewind
re-ran the failed claim from its failed step holding its policy lock again (the payout, made
once now that payments works) and the claim completed approved; the delete removed the
terminated claim; devhost's CLI found the host's task hub from the app folder, and its purge
spared what completed minutes ago; the function list holds what the runbook says it must.

docs/deploy.md: its ```sh blocks run in order in one session; those that need Azure itself are
skipped (AZURE_ONLY says why for each, and a block matching none of them must run), their plain
`NAME=value` assignments (RG, ENV, LOCATION) kept as a person's shell keeps them, and
AUTH_CLIENT_ID exported as "Sign-in and roles" exports it. What runs: the look-up of the newest
successful deployment's outputs, the smoke test (scripts/smoke.sh with the token
`az account get-access-token` gives) and the read-only curl check. Azure-only: signing in to
Azure and registering providers, the app registration and role assignments (Microsoft Graph;
tests/infra/test_app_registration.py runs the script against a fake Graph), creating the group
and deploying the templates, the region check, Key Vault secrets, publishing (Core Tools, or the
zip that scripts/package.py builds, which tests/infra/test_package.py covers), the GitHub
identities and variables, azd, and the tear-down.

Lastly, no markdown file tells a person to put a key in a URL (`?code=`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adapters import simulator
from adapters.telemetry import STAGE_EVENT
from devhost.testing import DevHost, command
from orchestrators.claims import PARTNER_RETRY
from tests.conftest import ROOT, example_settings
from tests.e2e.conftest import App
from tests.e2e.portal import RETRIES_RUN_OUT
from tests.e2e.test_claims import claim
from tests.e2e.test_maintenance import order
from tests.e2e.test_shipments import shipment
from tests.infra.bicep_tree import INFRA, declarations, params, parse_file

OPERATIONS = ROOT / "docs" / "operations.md"
DEPLOY = ROOT / "docs" / "deploy.md"
FAKE_AZ = Path(__file__).with_name("docs_az.py")
WEBHOOKS = "/runtime/webhooks/durabletask"

RESOURCE_GROUP = "rg-workflows-dev"  # the dev group deploy.md creates
APP_NAME = "func-workflows-dev-docs"
HOST_NAME = f"{APP_NAME}.azurewebsites.net"
SUBSCRIPTION = "00000000-0000-4000-8000-000000000001"
AUTH_CLIENT_ID = "6d7a1c9e-0b1f-4e5c-9a47-3f0e2d8b5a11"  # the app registration's appId
NEWEST_SUCCEEDED = "workflows-dev-4711-1"
SUPPORT = {"name": "support@contoso.com", "roles": ["Claims.Supervisor", "Workflows.Reader"]}
INTAKE = "intake@contoso.com", "Claims.Adjuster,Shipments.Dispatcher,Maintenance.Controller"


# -- the guides' blocks --------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    guide: str
    line: int
    heading: str
    text: str

    def __str__(self) -> str:
        return f"{self.guide}:{self.line} ({self.heading})"


FENCE = re.compile(r"^( *)(`{3,})\s*([\w-]*)")


def fenced(path: Path, language: str = "sh") -> list[Block]:
    """The guide's fenced code blocks in `language`, in order, each dedented by its fence's
    indentation (blocks inside list items), with the heading they stand under."""
    blocks: list[Block] = []
    heading, fence, lines = "", None, []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if fence is None:
            if line.startswith("#"):
                heading = line.lstrip("#").strip()
            elif opening := FENCE.match(line):
                fence, lines = (len(opening[1]), opening[2], opening[3], number), []
        elif re.fullmatch(rf" *{fence[1]}`* *", line):
            if fence[2] == language:
                blocks.append(Block(path.name, fence[3], heading, "\n".join(lines) + "\n"))
            fence = None
        else:
            indent = len(line) - len(line.lstrip(" "))
            lines.append(line[min(indent, fence[0]) :])
    assert fence is None, f"{path.name}: a code fence opened at line {fence[3]} never closes"
    return blocks


def one_block(blocks: list[Block], marker: str) -> Block:
    found = [block for block in blocks if marker in block.text]
    assert len(found) == 1, f"expected one block with {marker!r}, found {len(found)}"
    return found[0]


def operations_ids() -> dict[str, Any]:
    """The instances the runbook's commands name, and what it does to which claim."""
    text = "".join(block.text for block in fenced(OPERATIONS))
    (terminated,) = set(re.findall(r"/api/workflows/claim-([\w-]+)/terminate", text))
    (rewound,) = set(re.findall(r"/api/workflows/claim-([\w-]+)/rewind", text))
    (deleted,) = set(re.findall(rf'-X DELETE .*"https://\$HOST{WEBHOOKS}/instances/([^"?]+)', text))
    assert terminated != rewound, "the runbook rewinds the claim it terminated; one cannot be both"
    claims = set(re.findall(r"(?:claim-|/api/claims/)([A-Z]+-\d+)", text))
    return {
        "claims": claims,
        "terminated": terminated,
        "rewound": rewound,
        "deleted": deleted,
        "shipments": set(re.findall(r"(?:shipment-|/api/shipments/)([A-Z]+-\d+)", text)),
        "orders": set(re.findall(r"(?:maintenance-|/api/maintenance-orders/)([A-Z]+-\d+)", text)),
    }


def json_documents(output: str) -> list[Any]:
    """The JSON values a run printed one after another (curl prints bodies back to back); lines
    that are not JSON (tsv, a CLI's text) are returned as strings."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(output):
        if output[at].isspace():
            at += 1
        elif output[at] in "{[":
            value, at = decoder.raw_decode(output, at)
            found.append(value)
        else:
            end = output.find("\n", at)
            end = len(output) if end < 0 else end
            found.append(output[at:end])
            at = end
    return found


# -- the stand-ins for Azure and the session -----------------------------------------------------

CURL = r"""#!/usr/bin/env bash
# curl where https://$DOCS_HOST reaches devhost: the URL is rewritten to its http:// address.
args=() method=GET previous=
for arg in "$@"; do
    case $previous in -X | --request) method=$arg ;; esac
    case $arg in
    "https://$DOCS_HOST" | "https://$DOCS_HOST/"*)
        arg=$DOCS_BASE_URL${arg#"https://$DOCS_HOST"}
        printf '%s %s\n' "$method" "$arg" >>"$DOCS_CURL_LOG" ;;
    http://* | https://*)
        printf 'curl: (6) Could not resolve host: %s\n' "$arg" >&2
        exit 6 ;;
    esac
    args+=("$arg") previous=$arg
done
exec "$DOCS_REAL_CURL" "${args[@]}"
"""

PRELUDE = r"""set -euo pipefail
__docs_known=" $(compgen -v | tr '\n' ' ') "
source "$DOCS_SESSION"
curl() {
    local arg
    for arg in "$@"; do
        case $arg in
        --fail | --fail-with-body | -f* | -[!-]*f*) command curl "$@"; return ;;
        esac
    done
    command curl --fail-with-body "$@"
}
"""

EPILOGUE = r"""
: >"$DOCS_SESSION.vars"
for __docs_name in $(compgen -v); do
    if [[ $__docs_name =~ ^[A-Z][A-Z0-9_]*$ && $__docs_name != BASH* ]] \
        && [[ $__docs_known != *" $__docs_name "* ]]; then
        declare -p "$__docs_name"
        printf '%s=%s\0' "$__docs_name" "${!__docs_name}" >>"$DOCS_SESSION.vars"
    fi
done >"$DOCS_SESSION.next"
"""


@dataclass
class Run:
    block: Block
    returncode: int
    stdout: str
    stderr: str
    variables: dict[str, str]

    def __str__(self) -> str:
        return (
            f"{self.block} exited {self.returncode}\n--- block\n{self.block.text}"
            f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
        )


@dataclass
class Session:
    """One terminal: blocks run one after another, each seeing the variables the earlier set."""

    folder: Path
    env: dict[str, str]
    variables: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.folder.mkdir()
        self.file = self.folder / "session.sh"
        self.file.write_text("")

    def seed(self, name: str, value: str, exported: bool = False) -> None:
        """What a person's shell holds from a step that cannot run here."""
        with self.file.open("a") as session:
            session.write(f"declare -{'x' if exported else '-'} {name}={shell_quote(value)}\n")
        self.variables[name] = value

    def run(self, block: Block, timeout: float = 60) -> Run:
        env = {**self.env, "DOCS_SESSION": str(self.file)}
        done = subprocess.run(
            ["bash", "-c", PRELUDE + block.text + EPILOGUE],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        result = Run(block, done.returncode, done.stdout, done.stderr, dict(self.variables))
        if done.returncode == 0:
            self.file.write_text(self.file.with_suffix(".sh.next").read_text())
            pairs = (self.folder / "session.sh.vars").read_text().split("\0")
            self.variables = dict(pair.split("=", 1) for pair in pairs if pair)
            result.variables = dict(self.variables)
        return result


def shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


# -- the host ------------------------------------------------------------------------------------


@dataclass
class Site:
    """The running app as the guides reach it, and the stand-ins' records."""

    host: DevHost
    app: App
    folder: Path
    env: dict[str, str]
    settings: dict[str, str]
    ids: dict[str, Any]
    policies: dict[str, str]

    def session(self, name: str) -> Session:
        return Session(self.folder / name, self.env)

    def az_calls(self, command_name: str | None = None) -> list[dict[str, Any]]:
        log = Path(self.env["DOCS_AZ_LOG"])
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return [c for c in calls if command_name in (None, c["command"])]

    def curl_calls(self) -> list[str]:
        log = Path(self.env["DOCS_CURL_LOG"])
        return log.read_text().splitlines() if log.exists() else []

    def signed_in(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def status(self, instance_id: str, token: str) -> tuple[int, dict[str, Any]]:
        """The Durable HTTP API's status, asked as support asks it (token and system key)."""
        headers = {**self.signed_in(token), "x-functions-key": self.durable_key}
        response = self.host.http.get(f"{WEBHOOKS}/instances/{instance_id}", headers=headers)
        return response.status_code, (response.json() if response.content else {})

    def history(self, instance_id: str, token: str) -> list[dict[str, Any]]:
        headers = {**self.signed_in(token), "x-functions-key": self.durable_key}
        query = {"showHistory": "true", "showHistoryOutput": "true"}
        answer = self.host.http.get(
            f"{WEBHOOKS}/instances/{instance_id}", params=query, headers=headers
        )
        assert answer.status_code in (200, 202), answer.text
        return answer.json()["historyEvents"]

    @property
    def durable_key(self) -> str:
        return self.host.keys()["systemKeys"]["durabletask_extension"]


def token(host: DevHost, name: str, roles: str) -> str:
    run = command(
        "token", "--as", name, "--roles", roles, "--url", host.base_url, "--hub", str(host.hub)
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def loaded_functions(host: DevHost) -> list[str]:
    """The functions the host lists at start, as `func start` lists them."""
    assert host.log is not None
    listing = host.log.read_text().split("Functions:", 1)[1].split("Task hub", 1)[0]
    return re.findall(r"^ {8}(\w+): ", listing, re.MULTILINE)


def deployments(hub_name: str) -> list[dict[str, Any]]:
    """The resource group's deployments: the newest successful `workflows-*` one names the
    running host; a newer failed one, an older one and a module's name other hosts."""
    known = {
        "functionAppName": APP_NAME,
        "functionAppHostName": HOST_NAME,
        "applicationInsightsName": "appi-workflows-dev",
        "keyVaultName": "kv-workflows-dev",
        "keyVaultUri": "https://kv-workflows-dev.vault.azure.net/",
        "storageAccountName": "stworkflowsdev",
        "taskHubName": hub_name,
    }
    template = parse_file(INFRA / "main.bicep")
    declared = set(declarations(template, "output_declaration"))
    assert set(known) <= declared
    assert "authClientId" in params(template)

    def deployment(name: str, state: str, time: str, outputs: dict[str, str]) -> dict[str, Any]:
        return {
            "name": name,
            "properties": {
                "provisioningState": state,
                "timestamp": time,
                "outputs": {k: {"type": "String", "value": v} for k, v in outputs.items()},
                "parameters": {
                    "environmentName": {"type": "String", "value": "dev"},
                    "authClientId": {"type": "String", "value": AUTH_CLIENT_ID},
                },
            },
        }

    current = {name: known.get(name, f"{name}-value") for name in sorted(declared)}
    stale = {**current, "functionAppName": "func-old", "functionAppHostName": "func-old.net"}
    return [
        deployment(
            "workflows-dev-manual-20250301090000", "Succeeded", "2025-03-01T09:05:00Z", stale
        ),
        deployment(NEWEST_SUCCEEDED, "Succeeded", "2025-03-02T10:00:00Z", current),
        deployment("workflows-dev-4712-1", "Failed", "2025-03-03T08:00:00Z", {}),
        deployment("functionApp", "Succeeded", "2025-03-04T08:00:00Z", {"name": "func-module"}),
    ]


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture(scope="module")
def site(devhost_factory, tmp_path_factory) -> Iterator[Site]:
    ids = operations_ids()
    folder = tmp_path_factory.mktemp("docs-run")
    hub_name = f"docsrun{os.getpid()}x{secrets.token_hex(3)}"
    made_folder = not (ROOT / ".devhost").exists()
    (ROOT / ".devhost").mkdir(exist_ok=True)
    hub = ROOT / ".devhost" / f"{hub_name}.sqlite"
    state = folder / "simulator.sqlite"
    outage = {f"payments.pay:{ids['rewound']}": PARTNER_RETRY.max_number_of_attempts}
    settings = {
        **example_settings(),
        "TASKHUB_NAME": hub_name,
        "SIMULATOR_STATE_PATH": str(state),
        "SIMULATOR_FAILURES": json.dumps(outage),
        "ACCEPT_ACTOR_FIELD": "false",
        "WEBSITE_SITE_NAME": APP_NAME,
    }
    host = None
    try:
        host = devhost_factory(
            ROOT, "--easyauth", "--require-keys", clock="manual", env=settings, hub=hub
        )
        app = App(host, state)
        policies = prepare(app, ids)
        bin_dir = folder / "bin"
        bin_dir.mkdir()
        executable(bin_dir / "az", f'#!/bin/sh\nexec "{sys.executable}" -I "{FAKE_AZ}" "$@"\n')
        executable(bin_dir / "curl", CURL)
        world = {
            "resourceGroup": RESOURCE_GROUP,
            "subscription": SUBSCRIPTION,
            "tenant": "00000000-0000-4000-8000-000000000002",
            "authClientId": AUTH_CLIENT_ID,
            "app": {
                "name": APP_NAME,
                "hostName": HOST_NAME,
                "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
                f"/providers/Microsoft.Web/sites/{APP_NAME}",
            },
            "applicationInsights": "appi-workflows-dev",
            "deployments": deployments(hub_name),
            "host": {
                "url": host.base_url,
                "hub": str(hub),
                "keysFile": str(host.keys_file),
                "devhostHome": str(ROOT),
            },
            "appSettings": settings,
            "functions": loaded_functions(host),
            "signedIn": SUPPORT,
        }
        (folder / "world.json").write_text(json.dumps(world))
        interpreter = str(Path(sys.executable).parent)
        env = {
            "PATH": os.pathsep.join([str(bin_dir), interpreter, os.environ.get("PATH", "")]),
            "HOME": os.environ.get("HOME", str(folder)),
            "LANG": "C.UTF-8",
            "TASKHUB_NAME": hub_name,  # the app setting `python -m devhost` finds the hub by
            "SMOKE_POLL_SECONDS": "0.1",  # scripts/smoke.sh polls every 2 s by default
            "DOCS_AZ_WORLD": str(folder / "world.json"),
            "DOCS_AZ_LOG": str(folder / "az.log"),
            "DOCS_CURL_LOG": str(folder / "curl.log"),
            "DOCS_HOST": HOST_NAME,
            "DOCS_BASE_URL": host.base_url,
            "DOCS_REAL_CURL": shutil.which("curl") or "/usr/bin/curl",
        }
        yield Site(host, app, folder, env, settings, ids, policies)
    finally:
        if host is not None:
            host.stop()
        for leftover in (ROOT / ".devhost").glob(f"{hub_name}.*"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        if made_folder:
            with contextlib.suppress(OSError):  # not empty: something else uses it now
                (ROOT / ".devhost").rmdir()


def prepare(app: App, ids: dict[str, Any]) -> dict[str, str]:
    """Create the instances the runbook names, signed in, and bring each where its command
    applies: the claims wait for a decision, but the one it rewinds has failed at its payout;
    the shipment and the maintenance order are under way. Returns each claim's policy."""
    host = app.host
    with host.client(headers={"Authorization": f"Bearer {token(host, *INTAKE)}"}) as intake:
        policies = {}
        for number, claim_id in enumerate(sorted(ids["claims"]), 1):
            policies[claim_id] = f"POL-DOCS-{number}"
            amount = 120.5 if claim_id == ids["rewound"] else 9000  # 9000: a person decides
            body = claim(claim_id, policies[claim_id], amount=amount)
            assert intake.post("/api/claims", json=body).status_code == 202
        for shipment_id in ids["shipments"]:
            started = intake.post("/api/shipments", json=shipment(app, shipment_id))
            assert started.status_code == 202, started.text
        for order_id in ids["orders"]:
            body = order(order_id, f"D-{order_id}")
            assert intake.post("/api/maintenance-orders", json=body).status_code == 202
        host.advance(seconds=RETRIES_RUN_OUT)  # the payout's retries run out; carriers quote

        def view(path: str) -> dict[str, Any]:
            answer = intake.get(path)
            assert answer.status_code == 200, answer.text
            return answer.json()

        for claim_id in ids["claims"]:
            got = view(f"/api/claims/{claim_id}")
            expected = ("Failed", "paying") if claim_id == ids["rewound"] else None
            expected = expected or ("Running", "awaiting_decision")
            assert (got["runtimeStatus"], got["stage"]) == expected, got
        for path in [f"/api/shipments/{s}" for s in ids["shipments"]] + [
            f"/api/maintenance-orders/{o}" for o in ids["orders"]
        ]:
            assert view(path)["runtimeStatus"] == "Running"
    return policies


# -- docs/operations.md --------------------------------------------------------------------------


def check_setup(site: Site, run: Run) -> None:
    """The set-up read the newest successful deployment's names, a token that signs in as the
    person it names, and the system key the host holds; the console the runbook names answers
    that person (no key) and nobody else."""
    names = run.variables
    assert names["DEPLOYMENT"] == NEWEST_SUCCEEDED
    assert (names["APP"], names["HOST"], names["AI"]) == (APP_NAME, HOST_NAME, "appi-workflows-dev")
    assert names["AUTH_CLIENT_ID"] == AUTH_CLIENT_ID
    assert names["DURABLE_KEY"] == site.durable_key
    me = site.host.http.get("/api/me", headers=site.signed_in(names["TOKEN"]))
    assert me.status_code == 200, me.text
    assert (me.json()["name"], me.json()["roles"]) == (SUPPORT["name"], SUPPORT["roles"])
    (console,) = set(re.findall(r"`https://\$HOST(/api/console)`", OPERATIONS.read_text()))
    assert site.host.http.get(console, headers=site.signed_in(names["TOKEN"])).status_code == 200
    assert site.host.http.get(console).status_code == 401


def check_reads(site: Site, run: Run) -> None:
    """Each read answered JSON about the instance it names; the listing of claims awaiting a
    decision holds those that do, not the failed one."""
    urls = re.findall(r'"https://\$HOST([^"]+)"', run.block.text)
    answers = json_documents(run.stdout)
    assert len(answers) == len(urls), str(run)
    for url, answer in zip(urls, answers, strict=True):
        assert isinstance(answer, dict), (url, answer)
        named = re.search(r"/(?:claims|shipments|maintenance-orders|workflows)/([\w-]+)", url)
        if named and named[1] != "stages":
            assert named[1] in json.dumps(answer), (url, answer)
        if "stage=awaiting_decision" in url:
            listed = json.dumps(answer)
            waiting = site.ids["claims"] - {site.ids["rewound"]}
            assert all(f"claim-{c}" in listed for c in waiting), answer
            assert f"claim-{site.ids['rewound']}" not in listed, answer


def check_durable_status(site: Site, run: Run) -> None:
    (answer,) = json_documents(run.stdout)
    assert answer["instanceId"] == f"claim-{site.ids['terminated']}"
    assert answer["runtimeStatus"] == "Running" and answer["historyEvents"]


def check_cli(site: Site, run: Run) -> None:
    """devhost's CLI, run from the app folder, found the running host's task hub."""
    instance_id = f"claim-{site.ids['terminated']}"
    assert run.stdout.count(instance_id) >= 2, str(run)
    assert "Running" in run.stdout, str(run)


def check_app_insights(site: Site, run: Run) -> None:
    """Recorded (devhost keeps no telemetry): the query goes to the deployment's Application
    Insights in the group, for the app's stage event of the instance."""
    (call,) = site.az_calls("monitor app-insights query")
    assert call["options"]["group"] == RESOURCE_GROUP
    assert call["options"]["app"] == run.variables["AI"]
    query = call["options"]["analytics"]
    assert f"'{STAGE_EVENT}'" in query and f"'claim-{site.ids['terminated']}'" in query


def check_terminate_and_rewind(site: Site, run: Run) -> None:
    """The first claim is terminated, by the person the token names, and its policy lock is
    free; the failed claim, rewound, holds its policy lock again, re-runs its payout (made once,
    now that payments works) and completes approved."""
    claim_id = site.ids["terminated"]
    terminated, rewound = json_documents(run.stdout)
    assert terminated["id"] == f"claim-{claim_id}"
    assert terminated["by"]["name"] == SUPPORT["name"]
    site.host.idle()  # the lock is handed on by an orchestration the route starts
    code, status = site.status(f"claim-{claim_id}", run.variables["TOKEN"])
    assert (code, status["runtimeStatus"]) == (200, "Terminated"), status
    assert "duplicate claim" in json.dumps(status["output"])
    lock = site.host.http.get(
        f"/api/locks/policy:{site.policies[claim_id]}",
        headers=site.signed_in(run.variables["TOKEN"]),
    )
    assert lock.status_code == 200 and lock.json()["holder"] is None, lock.text

    again = site.ids["rewound"]
    assert rewound["id"] == f"claim-{again}"
    assert rewound["locks"] == [f"policy:{site.policies[again]}"]
    history = site.history(f"claim-{again}", run.variables["TOKEN"])
    assert any(event.get("Reason") == "Rewound: TaskFailed" for event in history)
    payouts = simulator.ledger("payout", path=site.app.state)
    assert [p["claimId"] for p in payouts].count(again) == 1
    status = site.status(f"claim-{again}", run.variables["TOKEN"])[1]
    assert status["runtimeStatus"] == "Completed", status.get("output")
    assert status["output"]["outcome"] == "approved"


def check_delete(site: Site, run: Run) -> None:
    """The terminated claim, finished, is gone with its history."""
    assert {"instancesDeleted": 1} in json_documents(run.stdout)
    deleted = site.ids["deleted"]
    assert deleted == f"claim-{site.ids['terminated']}"
    assert site.status(deleted, run.variables["TOKEN"])[0] == 404


def check_local_purge(site: Site, run: Run) -> None:
    """devhost found the running host's task hub from the app folder and purged nothing:
    nothing there started 24 hours ago, so what completed minutes ago stays."""
    assert re.fullmatch(r"purged 0 instance\(s\)\n", run.stdout), str(run)
    headers = {**site.signed_in(run.variables["TOKEN"]), "x-functions-key": site.durable_key}
    listed = site.host.http.get(
        f"{WEBHOOKS}/instances", params={"runtimeStatus": "Completed"}, headers=headers
    )
    assert listed.status_code == 200 and listed.json(), listed.text


def check_evidence(site: Site, run: Run) -> None:
    """The app's state and settings as the host runs it, the functions the runbook says it must
    have among those the host loaded, and the metrics call's form (recorded: devhost keeps no
    metrics)."""
    answers = json_documents(run.stdout)
    app_name, host_name = run.variables["APP"], run.variables["HOST"]
    assert {"state": "Running", "host": host_name, "identity": "UserAssigned"} in answers
    settings = next(a for a in answers if isinstance(a, list))
    assert {s["name"]: s["value"] for s in settings} == {
        name: site.settings[name] for name in ("HISTORY_RETENTION_DAYS", "TASKHUB_NAME")
    }
    sentence = re.search(
        r"The function list .*? must include (.*?)\.\n\n", OPERATIONS.read_text(), re.S
    )
    required = set(re.findall(r"`(\w+)`", sentence[1]))
    listed = {
        a.split("/", 1)[1] for a in answers if isinstance(a, str) and a.startswith(app_name + "/")
    }
    assert len(required) >= 5 and required <= listed
    (metrics,) = site.az_calls("monitor metrics list")
    options = metrics["options"]
    assert (
        options["resource"] == run.variables["APP_ID"]
        and "/sites/" + app_name in options["resource"]
    )
    assert options["metric"] in {"Http5xx", "Http4xx", "Requests", "FunctionExecutionCount"}
    assert re.fullmatch(r"PT\d+[MH]", options["interval"])
    assert options["aggregation"] in {"Total", "Average", "Maximum", "Minimum", "Count"}


OPERATIONS_CHECKS: list[tuple[str, Callable[[Site, Run], None]]] = [
    ("az deployment group list", check_setup),
    ("/api/workflows/stages", check_reads),
    ("?showHistory=true", check_durable_status),
    ("python -m devhost instances", check_cli),
    ("az monitor app-insights query", check_app_insights),
    ("/terminate", check_terminate_and_rewind),
    ("-X DELETE", check_delete),
    ("python -m devhost purge", check_local_purge),
    ("az functionapp function list", check_evidence),
]


def test_every_block_of_the_operations_guide_runs_against_the_azure_like_host(site: Site):
    blocks = fenced(OPERATIONS)
    checks = {one_block(blocks, marker): check for marker, check in OPERATIONS_CHECKS}
    assert len(checks) == len(OPERATIONS_CHECKS), "two checks claim the same block"
    assert blocks[0] in checks and checks[blocks[0]] is check_setup, "the set-up comes first"
    session = site.session("operations")
    for block in blocks:
        run = session.run(block)
        assert run.returncode == 0, str(run)
        if block in checks:
            checks[block](site, run)
    # Every request went to the deployed host (rewritten to devhost), never with a key in it.
    requests = site.curl_calls()
    assert requests and all(r.split()[1].startswith(site.host.base_url) for r in requests)
    assert not any("code=" in r for r in requests)


# -- docs/deploy.md ------------------------------------------------------------------------------

AZURE_ONLY: list[tuple[str, str]] = [
    (
        r"\baz (login|account set)\b|\baz provider register",
        "signs in to Azure, registers providers",
    ),
    (r"scripts/app_registration\.py", "changes the app registration in Entra ID (Graph)"),
    (r"\baz group create\b|\baz deployment group (what-if|create)\b", "creates the group, deploys"),
    (r"list-flexconsumption-locations", "asks Azure which regions offer Flex Consumption"),
    (r"\baz keyvault\b", "writes a secret into the deployed Key Vault"),
    (r"\bfunc azure functionapp publish|config-zip", "publishes the app to Azure"),
    (r"\baz (ad|role)\b", "creates Entra ID applications and Azure role assignments"),
    (r"\bgh variable\b", "sets GitHub environment variables"),
    (r"\bazd\b", "deploys with the Azure Developer CLI"),
    (r"\baz (lock|group) delete\b", "tears the deployment down"),
]
LITERAL = re.compile(r"^(?:export )?([A-Z][A-Z0-9_]*)=([\w.:/@-]+)$", re.MULTILINE)


def azure_only(block: Block) -> str | None:
    """Why the block cannot run without Azure, or None when it runs here."""
    return next((why for pattern, why in AZURE_ONLY if re.search(pattern, block.text)), None)


def test_the_local_steps_of_the_deploy_guide_run_against_the_azure_like_host(site: Site):
    blocks = fenced(DEPLOY)
    local = [block for block in blocks if azure_only(block) is None]
    lookup = one_block(local, "DEPLOYMENT=$(az deployment group list")
    smoke = one_block(local, "scripts/smoke.sh")
    read_only = one_block(local, "/api/openapi.yaml")
    assert local == [lookup, smoke, read_only], [str(b) for b in local]

    session = site.session("deploy")
    session.seed("AUTH_CLIENT_ID", AUTH_CLIENT_ID, exported=True)  # "Sign-in and roles"
    for block in blocks:
        if azure_only(block):
            for name, value in LITERAL.findall(block.text):
                session.seed(name, value)  # ENV=dev, RG=..., LOCATION=...: a person's shell
            continue
        run = session.run(block)
        assert run.returncode == 0, str(run)
        if block == lookup:
            names = run.variables
            assert (names["DEPLOYMENT"], names["APP"], names["HOST"]) == (
                NEWEST_SUCCEEDED,
                APP_NAME,
                HOST_NAME,
            )
            assert names["VAULT_URI"] == "https://kv-workflows-dev.vault.azure.net/"
        elif block == smoke:
            summary = run.stdout.splitlines()[-1]
            assert summary.startswith("smoke test passed: claim SMOKE-"), str(run)
            assert f"approved by {SUPPORT['name']}, paid 9000" in summary
        else:
            assert run.stdout == "200\n", str(run)
    (grant,) = site.az_calls("account get-access-token")[-1:]
    assert grant["options"]["resource"] == f"api://{AUTH_CLIENT_ID}"


# -- no key in a URL -----------------------------------------------------------------------------

KEY_IN_URL = re.compile(r"[?&]code=")
NAMED = re.compile(r"`[?&]code=`")  # the parameter named, no key given


def markdown_files() -> list[Path]:
    skipped = {"node_modules", "__pycache__"}
    return sorted(
        path
        for path in ROOT.rglob("*.md")
        if not any(part.startswith(".") or part in skipped for part in path.relative_to(ROOT).parts)
    )


def devhost_manual(path: Path, text: str) -> str:
    """The part of a file that is devhost's own manual: README's "devhost" section, or a
    markdown file inside devhost/."""
    if path.relative_to(ROOT).parts[0] == "devhost":
        return text
    if path == ROOT / "README.md" and "\n## devhost\n" in text:
        return re.split(r"\n## ", text.split("\n## devhost\n", 1)[1], maxsplit=1)[0]
    return ""


def test_no_markdown_tells_a_person_to_put_a_key_in_a_url():
    """A key in a query string ends up in logs, so no guide may tell anyone to send `?code=`.
    Any `code=` in a code block, or given a value (`?code=$KEY`, `?code=<key>`), is such an
    instruction. devhost's manual may still say, as a fact of the Functions host it emulates,
    that the host accepts a key as `?code=` (the parameter named alone, `` `?code=` ``); the
    guides for people do not mention it at all."""
    files = markdown_files()
    assert {ROOT / "README.md", OPERATIONS, DEPLOY} <= set(files)
    offending = []
    for path in files:
        text = path.read_text()
        code = "".join(re.findall(r"^ *```.*?^ *```", text, re.MULTILINE | re.DOTALL))
        offending += [(path.name, "in a code block") for _ in KEY_IN_URL.finditer(code)]
        prose = re.sub(r"^ *```.*?^ *```", "", text, flags=re.MULTILINE | re.DOTALL)
        facts = len(NAMED.findall(devhost_manual(path, prose)))
        mentions = len(KEY_IN_URL.findall(prose))
        if mentions > facts:
            offending.append((path.name, f"{mentions - facts} time(s) outside devhost's manual"))
    assert offending == []
