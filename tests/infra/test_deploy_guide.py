"""docs/deploy.md names files, deployment outputs, parameters and secrets; each must exist, so
the guide cannot drift from the templates and the code it describes."""

from __future__ import annotations

import re

import yaml
from tree_sitter import Node

from tests.conftest import app_functions
from tests.infra.bicep_tree import (
    INFRA,
    declarations,
    literal,
    lookup,
    params,
    parse_file,
    text,
)
from tests.infra.test_app_settings import partners
from tests.infra.test_bicep_structure import single_resource
from tests.infra.test_workflows import WORKFLOWS

ROOT = INFRA.parent
GUIDE = (ROOT / "docs" / "deploy.md").read_text()
NUMBERS = {5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}


def test_the_files_the_guide_uses_exist() -> None:
    paths = set(
        re.findall(
            r"(?:infra|scripts|\.github/workflows)/[\w./-]+\.(?:bicepparam|bicep|sh|yml)\b", GUIDE
        )
    )
    assert {"infra/main.bicep", "infra/dev.bicepparam", "scripts/smoke.sh"} <= paths
    missing = {path for path in paths if not (ROOT / path).is_file()}
    assert missing == set()


def test_the_outputs_the_guide_reads_are_deployment_outputs() -> None:
    read = set(re.findall(r"properties\.outputs\.(\w+)\.value", GUIDE))
    assert {"functionAppName", "functionAppHostName", "keyVaultName"} <= read
    assert read <= set(declarations(parse_file(INFRA / "main.bicep"), "output_declaration"))


def test_the_parameters_the_guide_names_exist() -> None:
    table = re.findall(r"^\| `(\w+)`", GUIDE, re.MULTILINE)
    listed = set(table) | set(re.findall(r"--parameters (\w+)=", GUIDE))
    assert {"taskHubName", "privateNetworking", "secretsOfficerPrincipalId"} <= listed
    assert listed <= set(params(parse_file(INFRA / "main.bicep")))


def test_the_guide_names_every_partner_secret_as_the_app_reads_it() -> None:
    named = set(re.findall(r"\b([a-z]+)-api-key\b", GUIDE))
    assert named == partners()


def test_the_guide_sets_up_the_variables_the_deploy_workflow_reads() -> None:
    workflow = (ROOT / ".github" / "workflows" / "deploy-environment.yml").read_text()
    read = set(re.findall(r"\bvars\.(\w+)", workflow))
    assert read == set(re.findall(r"gh variable set (\w+)", GUIDE))


def test_the_guide_lets_the_deployer_assign_exactly_the_roles_the_templates_assign() -> None:
    """The condition on Role Based Access Control Administrator lists role definition ids; a
    template that assigns one more role would fail to deploy, one fewer leaves a grant open."""
    (listed,) = re.findall(r'^\s*ROLES="([^"]+)"', GUIDE, re.MULTILINE)
    allowed = {role.strip() for role in listed.split(",")}
    assigned = set()
    for module in ("rbac.bicep", "scheduler.bicep"):
        roles = declarations(parse_file(INFRA / "modules" / module), "variable_declaration")
        assigned |= set(re.findall(r"'([0-9a-f-]{36})'", text(roles["roles"])))
    assert allowed == assigned
    assert f"exactly the {NUMBERS[len(assigned)]} role definitions" in " ".join(GUIDE.split())


def scale_groups() -> set[str]:
    """The app's Flex Consumption scale groups (Microsoft's "Azure Functions Flex Consumption
    plan hosting", per-function scaling): HTTP triggers scale together as `http`, orchestration,
    activity and entity triggers as `durable`, Event Grid blob triggers as `blob`, and every
    other function alone as `function:<name>`."""
    grouped = {
        "httpTrigger": "http",
        "orchestrationTrigger": "durable",
        "activityTrigger": "durable",
        "entityTrigger": "durable",
    }
    groups = set()
    for function in app_functions():
        trigger = function.get_trigger()
        if trigger.type == "blobTrigger" and getattr(trigger, "source", None) == "EventGrid":
            groups.add("blob")
        else:
            groups.add(grouped.get(trigger.type, f"function:{function.get_function_name()}"))
    return groups


def functionapp_variable(name: str) -> Node:
    root = parse_file(INFRA / "modules" / "functionapp.bicep")
    return declarations(root, "variable_declaration")[name].named_children[-1]


def always_ready(name: str) -> dict[str, int]:
    """An always-ready list of functionapp.bicep: group -> instances."""
    declared = functionapp_variable(name)
    if declared.type == "for_statement":  # [for group in scaleGroups: {...}]
        count = literal(lookup(body_of_for(declared), "instanceCount"))
        assert isinstance(count, int)
        return {group: count for group in declared_scale_groups()}
    found = {}
    for item in declared.named_children:
        count = literal(lookup(item, "instanceCount"))
        assert isinstance(count, int)
        found[str(literal(lookup(item, "name")))] = count
    return found


def body_of_for(node: Node) -> Node:
    value = node.child_by_field_name("body") or node.named_children[-1]
    assert value.type == "object", text(node)
    return value


def declared_scale_groups() -> set[str]:
    return {str(literal(item)) for item in functionapp_variable("scaleGroups").named_children}


def test_the_bicep_names_every_scale_group_of_the_app() -> None:
    assert {"http", "durable"} <= scale_groups()
    assert declared_scale_groups() == scale_groups()


def test_always_ready_instances_match_what_the_guide_prices() -> None:
    """Zone-redundant, the platform keeps at least two always-ready instances per scale group
    whatever is configured, bills them, and accepts no fewer than two in the configuration
    (Microsoft's "Reliability in Azure Functions" and "Flex Consumption plan hosting"): the
    Bicep configures exactly those. Otherwise one, for `durable` (test_task_hub.py)."""
    zone_redundant = always_ready("zoneRedundantAlwaysReady")
    assert zone_redundant == {group: 2 for group in scale_groups()}
    assert always_ready("singleZoneAlwaysReady") == {"durable": 1}
    _, app = single_resource(INFRA / "modules" / "functionapp.bicep", "Microsoft.Web/sites")
    chosen = lookup(app, "properties.functionAppConfig.scaleAndConcurrency.alwaysReady")
    assert text(chosen) == "zoneRedundant ? zoneRedundantAlwaysReady : singleZoneAlwaysReady"

    guide = " ".join(GUIDE.split())
    instances = sum(zone_redundant.values())
    assert f"keeps **{NUMBERS[instances]} instances**" in guide
    assert f"costs {NUMBERS[instances]} always-ready instances (below)" in guide
    assert "at least two always-ready instances per scaling group" in guide
    for group in scale_groups():
        assert f"`{group}`" in guide, group
    assert "az functionapp list-flexconsumption-locations --zone-redundant=true" in guide
    prod = (INFRA / "prod.bicepparam").read_text()
    assert "param zoneRedundant = true" in prod


def test_the_guide_registers_every_provider_the_templates_deploy_to() -> None:
    """A resource type whose namespace is not registered fails the deployment with
    MissingSubscriptionRegistration (the Durable Task Scheduler did)."""
    (listed,) = re.findall(r"^for ns in (.*?); do$", GUIDE, re.MULTILINE | re.DOTALL)
    registered = {name.lower() for name in listed.replace("\\", " ").split()}
    assert 'az provider register --namespace "$ns" --wait' in GUIDE
    used = set()
    for path in [*INFRA.glob("*.bicep"), *(INFRA / "modules").glob("*.bicep")]:
        for kind in re.findall(r"^resource \w+ '([\w.]+)/", path.read_text(), re.MULTILINE):
            used.add(kind.lower())
    assert "microsoft.durabletask" in used
    assert used <= registered, used - registered
    # Flex Consumption's VNet integration delegates its subnet to Microsoft.App/environments.
    assert "microsoft.app" in registered


DEPLOYMENT_PREFIX = "workflows-"


def shell_commands(source: str, command: str) -> list[str]:
    """Each `command ...` with its continuation lines joined."""
    joined = source.replace("\\\n", " ")
    return [match.group(0) for match in re.finditer(rf"{re.escape(command)}[^\n]*", joined)]


def option(command: str, *names: str) -> str:
    (value,) = [
        match.group(1)
        for name in names
        for match in re.finditer(rf"(?:^|\s){re.escape(name)}[ =](\"[^\"]*\"|\S+)", command)
    ]
    return value.strip('"')


def test_the_outputs_are_read_from_deployments_the_deploys_create() -> None:
    """CI names each deployment per run (workflows-<env>-<run>-<attempt>); a look-up by a fixed
    name (`-n workflows`) finds nothing. Every deployment the guide or a workflow creates starts
    with one prefix, and every look-up reads the newest successful deployment with it."""
    scripts: list[tuple[str, dict[str, str]]] = [(GUIDE, {})]
    for path in WORKFLOWS.glob("*.yml"):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            scripts += [(step.get("run", ""), job.get("env", {})) for step in job.get("steps", [])]
    created = []
    for source, env in scripts:
        for command in shell_commands(source, "az deployment group create"):
            name = option(command, "--name", "-n")
            # A workflow passes the name through its job's env.
            created.append(env[name.removeprefix("$")] if name.startswith("$") else name)
    assert len(created) >= 4
    for name in created:
        assert name.startswith(DEPLOYMENT_PREFIX), name

    (lookup_query,) = re.findall(r"^DEPLOYMENT=\$\(az deployment group list (.*)\)$", GUIDE, re.M)
    assert f"starts_with(name, '{DEPLOYMENT_PREFIX}')" in lookup_query
    assert "properties.provisioningState == 'Succeeded'" in lookup_query
    assert "sort_by(" in lookup_query and "&properties.timestamp)[-1].name" in lookup_query
    shown = [
        option(command, "--name", "-n")
        for source in (GUIDE, *(path.read_text() for path in WORKFLOWS.glob("*.yml")))
        for command in shell_commands(source, "az deployment group show")
    ]
    assert len(shown) >= 5
    assert set(shown) == {"$DEPLOYMENT"}


def test_the_guide_names_the_python_the_app_runs_on() -> None:
    declared = params(parse_file(INFRA / "modules" / "functionapp.bicep"))["pythonVersion"]
    runtime = declared.default.named_children[0].text.decode()
    assert f"(FC1, Linux, Python {runtime})" in GUIDE
    assert f"### Why Python {runtime}" in GUIDE
