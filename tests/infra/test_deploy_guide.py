"""docs/deploy.md names files, deployment outputs, parameters and secrets; each must exist, so
the guide cannot drift from the templates and the code it describes."""

from __future__ import annotations

import re

from tests.infra.bicep_tree import INFRA, declarations, params, parse_file, text
from tests.infra.test_app_settings import partners

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


def test_the_guide_checks_the_region_and_prices_zone_redundancy() -> None:
    """Flex Consumption keeps at least two always-ready instances per scaling group when the
    plan is zone-redundant; this app's functions fall into the http and durable groups."""
    text = " ".join(GUIDE.split())
    assert "az functionapp list-flexconsumption-locations --zone-redundant=true" in text
    assert "at least two always-ready instances per scaling group" in text
    assert "keeps **four instances**" in text
    prod = (INFRA / "prod.bicepparam").read_text()
    assert "param zoneRedundant = true" in prod


def test_the_guide_names_the_python_the_app_runs_on() -> None:
    declared = params(parse_file(INFRA / "modules" / "functionapp.bicep"))["pythonVersion"]
    runtime = declared.default.named_children[0].text.decode()
    assert f"(FC1, Linux, Python {runtime})" in GUIDE
    assert f"### Why Python {runtime}" in GUIDE
