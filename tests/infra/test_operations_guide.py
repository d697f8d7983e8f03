"""docs/operations.md is support's runbook: every route, CLI command, setting, function name,
deployment output, stage and telemetry name it uses must exist, so the runbook cannot drift.
tests/e2e/test_docs_run.py runs its commands against devhost; these checks need no host, and use
devhost only through its command line (`devhost.testing.command`)."""

from __future__ import annotations

import json
import re
import shlex

import pytest

from adapters.telemetry import STAGE_EVENT
from api.openapi import build_document, operations
from devhost.testing import command
from domain import claims, maintenance, shipments
from domain.workflows import ACTION_ROLES
from tests.conftest import app_functions
from tests.infra.bicep_tree import INFRA, declarations, params, parse_file

ROOT = INFRA.parent
GUIDE = (ROOT / "docs" / "operations.md").read_text()
WEBHOOKS = "/runtime/webhooks/durabletask"
SHELL_VARIABLES = {
    "RG",
    "DEPLOYMENT",
    "APP",
    "HOST",
    "AI",
    "AUTH_CLIENT_ID",
    "TOKEN",
    "DURABLE_KEY",
    "APP_ID",
    "KQL",
}
SYSTEM_KEY = "durabletask_extension"  # the Durable extension's system key, as Azure names it
# The Durable Functions HTTP API (Microsoft's "HTTP API reference"): the routes a runbook may call.
DURABLE_HTTP_API = [
    ("GET", "/instances"),
    ("GET", "/instances/{instanceId}"),
    ("DELETE", "/instances"),
    ("DELETE", "/instances/{instanceId}"),
    ("POST", "/instances/{instanceId}/raiseEvent/{eventName}"),
    ("POST", "/instances/{instanceId}/terminate"),
    ("POST", "/instances/{instanceId}/suspend"),
    ("POST", "/instances/{instanceId}/resume"),
    ("POST", "/instances/{instanceId}/rewind"),
    ("POST", "/orchestrators/{functionName}"),
    ("POST", "/orchestrators/{functionName}/{instanceId}"),
]


def commands() -> list[str]:
    """Every command line of the guide's sh code blocks (comments left out)."""
    blocks = re.findall(r"```sh\n(.*?)```", GUIDE, re.DOTALL)
    lines = (line.strip() for block in blocks for line in block.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def template_regex(path: str) -> re.Pattern[str]:
    return re.compile(
        "^"
        + re.sub(r"\{[^/]+?\}", "[^/]+", re.escape(path).replace(r"\{", "{").replace(r"\}", "}"))
        + "$"
    )


def calls(prefix: str) -> list[tuple[str, str]]:
    """(method, path) of every curl in the guide whose path starts with `prefix`."""
    found = []
    for line in commands():
        if not line.startswith("curl"):
            continue
        method = re.search(r"-X (\w+)", line)
        url = re.search(r'"https://\$HOST(/[^"?]*)', line)
        if url and url.group(1).startswith(prefix):
            found.append((method.group(1) if method else "GET", url.group(1)))
    return found


def test_every_app_route_the_guide_calls_is_a_documented_route():
    app_functions()  # importing the app registers every route's OpenAPI entry
    documented = [
        (method.upper(), template_regex(path))
        for path, operations in build_document()["paths"].items()
        for method in operations
    ]
    used = calls("/api/") + [
        ("GET", path) for path in re.findall(r"`https://\$HOST(/api/\w+)`", GUIDE)
    ]
    used += [("POST", path) for path in re.findall(r"`POST (/api/[^`]+)`", GUIDE)]
    assert len(used) >= 10
    unknown = [(m, p) for m, p in used if not any(m == dm and rx.match(p) for dm, rx in documented)]
    assert unknown == []


def test_every_durable_api_call_is_a_route_of_the_durable_http_api():
    """tests/e2e/test_docs_run.py calls each of them on devhost."""
    documented = [(method, template_regex(WEBHOOKS + path)) for method, path in DURABLE_HTTP_API]
    used = calls(WEBHOOKS)
    assert {method for method, _ in used} == {"GET", "DELETE"}  # rewinds go through the app
    unknown = [(m, p) for m, p in used if not any(m == dm and rx.match(p) for dm, rx in documented)]
    assert unknown == []
    assert f"systemKeys.{SYSTEM_KEY}" in GUIDE


def test_every_call_signs_in_and_only_the_durable_api_takes_a_key_in_its_header():
    """People sign in: App Service Authentication takes their token, on the Durable HTTP API
    too. The system key is the platform's, for the Durable HTTP API alone, and goes in the
    header: a key in a URL ends up in logs."""
    curls = [line for line in commands() if line.startswith("curl")]
    assert len(curls) >= 10
    for line in curls:
        assert '-H "Authorization: Bearer $TOKEN"' in line, line
        keyed = '-H "x-functions-key: $DURABLE_KEY"' in line
        assert keyed == (f'"https://$HOST{WEBHOOKS}' in line), line
    assert "code=" not in GUIDE
    assert 'get-access-token --resource "api://$AUTH_CLIENT_ID"' in GUIDE


PARSE_PROBE = "--docs-parse-probe"


def test_every_devhost_command_parses():
    """Each devhost command the guide shows, given to devhost's command line with one more
    argument it does not know: argparse stops before running anything, and names that argument
    alone when everything else parsed."""
    lines = [line for line in commands() if line.startswith("python -m devhost")]
    lines += re.findall(r"`(python -m devhost [^`]+)`", GUIDE)
    assert len(lines) >= 5
    for line in lines:
        args = shlex.split(line.replace("NAME", "someone").replace("R1,R2", "Workflows.Reader"))
        run = command(*args[3:], PARSE_PROBE)
        assert run.returncode == 2, (line, run.stdout, run.stderr)
        expected = f"error: unrecognized arguments: {PARSE_PROBE}"
        assert run.stderr.strip().endswith(expected), (line, run.stderr)


def test_every_setting_named_is_an_app_setting():
    example = json.loads((ROOT / "local.settings.json.example").read_text())["Values"]
    named = set(re.findall(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b", GUIDE)) - SHELL_VARIABLES
    assert "HISTORY_RETENTION_DAYS" in named
    assert named - set(example) == set()


def test_every_deployment_output_and_parameter_read_exists():
    template = parse_file(INFRA / "main.bicep")
    read = set(re.findall(r"properties\.outputs\.(\w+)\.value", GUIDE))
    outputs = declarations(template, "output_declaration")
    assert {"functionAppName", "functionAppHostName", "applicationInsightsName"} <= read
    assert read <= set(outputs)
    # The app registration's client id is a parameter of the deployment, not an output.
    parameters = set(re.findall(r"properties\.parameters\.(\w+)\.value", GUIDE))
    assert parameters == {"authClientId"}
    assert parameters <= set(params(template))


def test_the_functions_the_guide_names_are_the_apps():
    sentence = re.search(r"The function list .*? must include (.*?)\.\n\n", GUIDE, re.DOTALL)
    named = set(re.findall(r"`(\w+)`", sentence.group(1)))
    functions = {f.get_function_name() for f in app_functions()}
    assert len(named) >= 5 and named <= functions


def table_section(heading: str) -> str:
    """The guide's text under `heading` (e.g. `## Title`), up to the next heading of that level
    or higher."""
    level = heading.split(" ", 1)[0]
    return re.split(rf"\n#{{1,{len(level)}}} ", GUIDE.split(f"{heading}\n", 1)[1], maxsplit=1)[0]


def stages_in_table(heading: str) -> set[str]:
    return set(re.findall(r"^\| `(\w+)` \|", table_section(f"### {heading}"), re.MULTILINE))


def roles_named(text: str) -> set[str]:
    """The app roles `text` names in backticks (anything shaped like one, known or not)."""
    return set(re.findall(r"`([A-Z]\w+\.[A-Z]\w+)`", text))


def action_roles(text: str) -> set[str]:
    """The roles that may take the portal actions whose routes `text` names, per
    domain/workflows.py's ACTION_ROLES (route -> the Durable event it raises -> roles)."""
    app_functions()  # importing the app registers every route's OpenAPI entry
    events = {f"/api{op.path}": op.event for op in operations() if op.event}
    routes = re.findall(r"`POST (/api/[^`]+)`", text)
    assert set(routes) <= set(events), "the guide names a portal action the app does not have"
    return {str(role) for route in routes for role in ACTION_ROLES[events[route]]}


def who_acts_next() -> list[str]:
    """Every clause (split at `;`) of the stage tables' *Who acts next* column."""
    section = table_section("## What each stage means and who acts next")
    rows = re.findall(r"^\| `\w+` \|.*\| (.*) \|$", section, re.MULTILINE)
    return [clause for row in rows for clause in row.split(";")]


def test_who_acts_next_names_the_roles_that_may_take_the_actions_offered():
    clauses = who_acts_next()
    assert sum(1 for clause in clauses if "`POST /api/" in clause) >= 8
    for clause in clauses:
        assert roles_named(clause) == action_roles(clause), clause
    acting = {str(role) for roles in ACTION_ROLES.values() for role in roles}
    assert set().union(*map(roles_named, clauses)) == acting


def test_who_may_do_what_lists_each_actions_roles():
    rows = re.findall(
        r"^\| [^`|]+ \| (`POST [^|]+`) \| (.*) \|$",
        table_section("## Who may do what"),
        re.MULTILINE,
    )
    assert len(rows) == len(ACTION_ROLES)
    for route, roles in rows:
        assert roles_named(roles) == action_roles(route), route


def claim_stages() -> set[str]:
    """A claim's stages while it runs, then the one named for its outcome."""
    return {stage.value for stage in claims.Stage} | {outcome.value for outcome in claims.Outcome}


@pytest.mark.parametrize(
    ("heading", "stages"),
    [
        ("Claims", claim_stages()),
        ("Shipments", {stage.value for stage in shipments.Stage}),
        ("Maintenance orders", {stage.value for stage in maintenance.Stage}),
    ],
)
def test_every_stage_of_every_workflow_is_explained(heading: str, stages: set[str]):
    assert stages_in_table(heading) == stages


def test_the_kql_uses_the_apps_event_and_its_final_stages():
    queries = re.findall(r"```kusto\n(.*?)```", GUIDE, re.DOTALL)
    assert len(queries) >= 4
    events = set(re.findall(r'name == ["\'](\w+)["\']', GUIDE))
    assert events == {STAGE_EVENT}
    dimensions = set(re.findall(r"customDimensions\.(\w+)", GUIDE))
    assert dimensions - {"Category", "prop__instanceId", "prop__state", "prop__functionName"} == {
        "instanceId",
        "workflow",
        "stage",
    }
    (final,) = re.findall(r"stage !in \(([^)]*)\)", GUIDE)
    finals = set(re.findall(r'"(\w+)"', final))
    assert finals == {o.value for o in claims.Outcome} | {shipments.Stage.COMPLETED.value}
