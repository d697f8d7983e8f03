"""What a reviewer checks in the templates: wiring between files, identity-only access,
hardened storage, Key Vault and Function App, and the settings the code reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from tree_sitter import Node

from tests.infra.bicep_tree import (
    INFRA,
    bicepparam_assignments,
    body,
    declarations,
    find_property,
    leading,
    lint_disabled,
    literal,
    lookup,
    object_keys,
    params,
    parse_file,
    properties,
    resources,
    text,
    using_target,
    value,
)

MAIN = INFRA / "main.bicep"
MODULES = INFRA / "modules"
PARAM_FILES = sorted(INFRA.glob("*.bicepparam"))
TEMPLATES = sorted(INFRA.rglob("*.bicep"))

ROLE_IDS = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}

# Settings the app code and the Functions host read.
REQUIRED_APP_SETTINGS = {
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "KEY_VAULT_URL",
    "TASKHUB_NAME",
    "AUTO_APPROVAL_LIMIT",
}

# Text that only appears when a key or a key-bearing connection string is in play.
SECRET_PATTERNS = [
    r"AccountKey=",
    r"SharedAccessKey=",
    r"SharedAccessSignature=",
    r"InstrumentationKey=",
    r"listKeys\(",
    r"listAccountSas\(",
    r"listServiceSas\(",
    r"-----BEGIN",
]


def module_file(declaration_path: str) -> Path:
    return (MAIN.parent / declaration_path).resolve()


def main_modules() -> dict[str, tuple[Path, dict[str, Node]]]:
    """Each module in main.bicep: the file it points at and the params it passes."""
    root = parse_file(MAIN)
    found: dict[str, tuple[Path, dict[str, Node]]] = {}
    for name, node in declarations(root, "module_declaration").items():
        target = literal(node.named_children[1])
        assert isinstance(target, str), f"module {name} path is not a plain string"
        passed = properties(lookup(body(node), "params"))
        found[name] = (module_file(target), passed)
    return found


def single_resource(path: Path, type_prefix: str) -> tuple[Node, Node]:
    """The file's root and the body of its one declared resource of that type."""
    root = parse_file(path)
    declared = resources(root, type_prefix)
    assert len(declared) == 1, f"expected one {type_prefix} in {path.name}, got {len(declared)}"
    return root, body(declared[0])


def test_main_uses_modules_that_exist() -> None:
    modules = main_modules()
    assert len(modules) >= 5
    for name, (path, _) in modules.items():
        assert path.is_file(), f"module {name} points at missing {path}"
        assert path.parent == MODULES.resolve()


def test_every_module_file_is_used() -> None:
    used = {path for path, _ in main_modules().values()}
    assert {path.resolve() for path in MODULES.glob("*.bicep")} == used


@pytest.mark.parametrize("name", sorted(main_modules()))
def test_module_params_match_the_module(name: str) -> None:
    path, passed = main_modules()[name]
    declared = params(parse_file(path))
    unknown = set(passed) - set(declared)
    assert not unknown, f"{name} passes params the module does not declare: {unknown}"
    required = {param for param, spec in declared.items() if spec.default is None}
    missing = required - set(passed)
    assert not missing, f"{name} leaves required params unset: {missing}"


@pytest.mark.parametrize("path", PARAM_FILES, ids=lambda path: path.name)
def test_param_file_matches_main(path: Path) -> None:
    assert using_target(path) == "./main.bicep"
    assigned = bicepparam_assignments(path)
    declared = params(parse_file(MAIN))
    unknown = set(assigned) - set(declared)
    assert not unknown, f"{path.name} sets params main.bicep does not declare: {unknown}"
    required = {name for name, spec in declared.items() if spec.default is None}
    assert required <= set(assigned), f"{path.name} leaves {required - set(assigned)} unset"
    environment = assigned["environmentName"]
    if path.stem == "main":  # azd's: the name of the azd environment
        assert text(environment) == "readEnvironmentVariable('AZURE_ENV_NAME', 'dev')"
    else:
        assert literal(environment) == path.stem


@pytest.mark.parametrize(
    "path", TEMPLATES + PARAM_FILES, ids=lambda path: path.relative_to(INFRA).as_posix()
)
def test_no_keys_or_secrets_in_infra(path: Path) -> None:
    source = path.read_text()
    for pattern in SECRET_PATTERNS:
        assert not re.search(pattern, source), f"{path.name} contains {pattern!r}"
    # A connection-string AzureWebJobsStorage would carry the account key.
    assert not re.search(r"\bAzureWebJobsStorage\b(?!__)", source)


@pytest.mark.parametrize("path", PARAM_FILES, ids=lambda path: path.name)
def test_param_files_set_no_secret_values(path: Path) -> None:
    secretish = re.compile(r"(?i)secret|password|key$|token|connectionstring")
    named = [
        name
        for name in bicepparam_assignments(path)
        if secretish.search(name) and not name.endswith("PrincipalId")
    ]
    assert named == []


def test_storage_is_reached_only_with_entra_id() -> None:
    root, storage = single_resource(MODULES / "storage.bicep", "Microsoft.Storage/storageAccounts")
    expected = {
        "properties.allowSharedKeyAccess": False,
        "properties.allowBlobPublicAccess": False,
        "properties.supportsHttpsTrafficOnly": True,
        "properties.minimumTlsVersion": "TLS1_2",
        "properties.defaultToOAuthAuthentication": True,
    }
    actual = {path: value(root, lookup(storage, path)) for path in expected}
    assert actual == expected


def test_deployment_container_is_private() -> None:
    root, container = single_resource(
        MODULES / "storage.bicep", "Microsoft.Storage/storageAccounts/blobServices/containers"
    )
    assert value(root, lookup(container, "properties.publicAccess")) == "None"


def test_key_vault_uses_rbac_and_cannot_be_purged() -> None:
    root, vault = single_resource(MODULES / "keyvault.bicep", "Microsoft.KeyVault/vaults")
    expected = {
        "properties.enableRbacAuthorization": True,
        "properties.enableSoftDelete": True,
        "properties.enablePurgeProtection": True,
        "properties.enabledForTemplateDeployment": False,
    }
    actual = {path: value(root, lookup(vault, path)) for path in expected}
    assert actual == expected
    assert "accessPolicies" not in properties(lookup(vault, "properties"))


def test_plan_is_flex_consumption_on_linux() -> None:
    root, plan = single_resource(MODULES / "functionapp.bicep", "Microsoft.Web/serverfarms")
    assert value(root, lookup(plan, "sku.name")) == "FC1"
    assert value(root, lookup(plan, "sku.tier")) == "FlexConsumption"
    assert value(root, lookup(plan, "properties.reserved")) is True


def test_function_app_is_hardened_python_312() -> None:
    root, app = single_resource(MODULES / "functionapp.bicep", "Microsoft.Web/sites")
    expected = {
        "kind": "functionapp,linux",
        "identity.type": "UserAssigned",
        "properties.httpsOnly": True,
        "properties.siteConfig.minTlsVersion": "1.2",
        "properties.functionAppConfig.runtime.name": "python",
        "properties.functionAppConfig.runtime.version": "3.12",
        "properties.functionAppConfig.deployment.storage.type": "blobContainer",
        "properties.functionAppConfig.deployment.storage.authentication.type": (
            "UserAssignedIdentity"
        ),
    }
    actual = {path: value(root, lookup(app, path)) for path in expected}
    assert actual == expected
    scale = properties(lookup(app, "properties.functionAppConfig.scaleAndConcurrency"))
    assert {"maximumInstanceCount", "instanceMemoryMB"} <= set(scale)


def test_no_site_config_that_flex_consumption_rejects() -> None:
    """Flex Consumption refuses these (ARM error 51021 "... for Flex Consumption sites is
    invalid"): the runtime lives in functionAppConfig, and there is no FTP endpoint."""
    _, app = single_resource(MODULES / "functionapp.bicep", "Microsoft.Web/sites")
    site_config = properties(lookup(app, "properties.siteConfig"))
    assert not {"ftpsState", "linuxFxVersion", "alwaysOn"} & set(site_config)
    settings = object_keys(platform_settings()) | object_keys(main_app_settings())
    settings |= object_keys(backend_settings())
    rejected = {
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_EXTENSION_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
    }
    assert not rejected & settings


def test_basic_auth_publishing_is_off() -> None:
    root = parse_file(MODULES / "functionapp.bicep")
    policies = resources(root, "Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    allowed = {
        value(root, lookup(body(node), "name")): value(root, lookup(body(node), "properties.allow"))
        for node in policies
    }
    assert allowed == {"ftp": False, "scm": False}


def platform_settings() -> Node:
    functionapp = parse_file(MODULES / "functionapp.bicep")
    return declarations(functionapp, "variable_declaration")["platformSettings"].named_children[-1]


def backend_settings() -> Node:
    """The settings functionapp.bicep adds when the task hub lives in a Durable Task Scheduler."""
    functionapp = parse_file(MODULES / "functionapp.bicep")
    variables = declarations(functionapp, "variable_declaration")
    return variables["schedulerSettings"].named_children[-1]


def main_app_settings() -> Node:
    """The object main.bicep passes as the app's own settings."""
    _, passed = main_modules()["functionApp"]
    assert text(passed["appSettings"]) == "appSettings"
    return declarations(parse_file(MAIN), "variable_declaration")["appSettings"].named_children[-1]


def test_app_settings_include_what_the_host_needs() -> None:
    keys = set(properties(platform_settings())) | set(properties(main_app_settings()))
    missing = REQUIRED_APP_SETTINGS - keys
    assert not missing, f"app settings lack {missing}"


def test_app_settings_point_at_identity_and_vault() -> None:
    platform = platform_settings()
    credential = find_property(platform, "AzureWebJobsStorage__credential")
    assert credential is not None and literal(credential) == "managedidentity"
    client_id = find_property(platform, "AzureWebJobsStorage__clientId")
    assert client_id is not None and text(client_id) == "identityClientId"
    vault_url = find_property(main_app_settings(), "KEY_VAULT_URL")
    assert vault_url is not None and text(vault_url) == "keyVault.outputs.uri"


def test_telemetry_goes_through_entra_id_only() -> None:
    root, insights = single_resource(MODULES / "monitoring.bicep", "Microsoft.Insights/components")
    assert value(root, lookup(insights, "properties.DisableLocalAuth")) is True
    assert value(root, lookup(insights, "properties.WorkspaceResourceId")) is None  # an id
    auth = find_property(platform_settings(), "APPLICATIONINSIGHTS_AUTHENTICATION_STRING")
    assert auth is not None
    assert text(auth) == "'ClientId=${identityClientId};Authorization=AAD'"


def test_site_resolves_key_vault_references_as_its_identity() -> None:
    _, app = single_resource(MODULES / "functionapp.bicep", "Microsoft.Web/sites")
    assert text(lookup(app, "properties.keyVaultReferenceIdentity")) == "identityId"


@pytest.mark.parametrize("check", ["taskHubNameIsValid", "livePartnersWhereRequired"])
def test_deploy_time_checks_reject_false(check: str) -> None:
    """Checks Bicep has no decorator for reach the app module as parameters that only accept
    true, and main.bicep passes each its computed result."""
    declared = params(parse_file(MODULES / "functionapp.bicep"))[check].declaration
    decorators = " ".join(text(node) for node in leading(declared) if node.type == "decorators")
    assert re.search(r"@allowed\(\[\s*true\s*\]\)", decorators)
    _, passed = main_modules()["functionApp"]
    assert check in passed and literal(passed[check]) is None  # an expression, not a constant


@pytest.mark.parametrize("path", [INFRA / "dev.bicepparam", INFRA / "prod.bicepparam"])
def test_task_hub_names_are_valid_and_per_environment(path: Path) -> None:
    name = literal(bicepparam_assignments(path)["taskHubName"])
    assert isinstance(name, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9]{2,44}", name)
    assert path.stem in name


def test_production_is_private_and_uses_live_partners() -> None:
    prod = bicepparam_assignments(INFRA / "prod.bicepparam")
    assert literal(prod["privateNetworking"]) is True
    assert literal(prod["requireLivePartners"]) is True
    dev = bicepparam_assignments(INFRA / "dev.bicepparam")
    assert literal(dev["requireLivePartners"]) is False


@pytest.mark.parametrize("module", ["storage.bicep", "keyvault.bicep"])
def test_storage_and_vault_are_private_unless_told_otherwise(module: str) -> None:
    declared = params(parse_file(MODULES / module))
    assert literal(declared["publicNetworkAccess"].default) == "Disabled"
    assert literal(declared["networkDefaultAction"].default) == "Deny"
    _, passed = main_modules()[module.removesuffix(".bicep").replace("keyvault", "keyVault")]
    assert text(passed["networkDefaultAction"]) == "privateNetworking ? 'Deny' : 'Allow'"
    assert text(passed["publicNetworkAccess"]).startswith("privateNetworking")


def test_private_networking_reaches_every_task_hub_service_and_the_vault() -> None:
    root = parse_file(MODULES / "network.bicep")
    endpoints = declarations(root, "variable_declaration")["endpoints"].named_children[-1]
    groups = {literal(lookup(item, "name")) for item in endpoints.named_children}
    assert groups == {"blob", "queue", "table", "vault"}
    (vnet,) = resources(root, "Microsoft.Network/virtualNetworks")
    assert "'Microsoft.App/environments'" in text(body(vnet))
    for kind in ("privateEndpoints", "privateDnsZones", "privateDnsZones/virtualNetworkLinks"):
        (declared,) = resources(root, f"Microsoft.Network/{kind}")
        assert declared.named_children[-1].type == "for_statement", kind
    module = declarations(parse_file(MAIN), "module_declaration")["network"]
    assert "if (privateNetworking)" in text(module)
    _, passed = main_modules()["functionApp"]
    assert "network!.outputs.appSubnetId" in text(passed["virtualNetworkSubnetId"])
    _, app = single_resource(MODULES / "functionapp.bicep", "Microsoft.Web/sites")
    assert "virtualNetworkSubnetId" in text(lookup(app, "properties.virtualNetworkSubnetId"))


def granted_roles(path: Path, principal: str) -> set[str]:
    """Role definition ids that rbac.bicep assigns to `principal` (the param's name)."""
    root = parse_file(path)
    variables = declarations(root, "variable_declaration")
    role_ids = {
        key: literal(node)
        for key, node in properties(variables["roles"].named_children[-1]).items()
    }
    loop_roles = [
        text(node) for node in variables["storageRoles"].named_children[-1].named_children
    ]
    granted: set[str] = set()
    for node in resources(root, "Microsoft.Authorization/roleAssignments"):
        assignment = body(node)
        if text(lookup(assignment, "properties.principalId")) != principal:
            continue
        reference = text(lookup(assignment, "properties.roleDefinitionId"))
        names = re.findall(r"roles\.(\w+)", reference)
        if re.search(r"\broleId\b", reference):
            names += [item.removeprefix("roles.") for item in loop_roles]
        granted.update(str(role_ids[name]) for name in names)
    return granted


def test_identity_gets_the_durable_storage_vault_and_telemetry_roles() -> None:
    granted = granted_roles(MODULES / "rbac.bicep", "principalId")
    missing = {name for name, role_id in ROLE_IDS.items() if role_id not in granted}
    assert not missing, f"the app identity is not granted {missing}"


def test_main_outputs_what_deploy_needs_and_no_secret() -> None:
    outputs = declarations(parse_file(MAIN), "output_declaration")
    wanted = {"functionAppName", "functionAppHostName", "applicationInsightsName", "keyVaultUri"}
    assert wanted <= set(outputs)
    for name, node in outputs.items():
        assert not re.search(r"(?i)key$|secret|password|connectionstring", name)
        assert not re.search(r"(?i)connectionString|listKeys", text(node)), name


def test_azd_deploys_the_api_service_to_the_tagged_app() -> None:
    manifest = yaml.safe_load((INFRA.parent / "azure.yaml").read_text())
    assert manifest["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    (service,) = manifest["services"].items()
    name, spec = service
    assert spec == {"project": ".", "language": "python", "host": "function"}
    tag = declarations(parse_file(MAIN), "variable_declaration")["azdServiceTag"]
    assert literal(find_property(tag, "azd-service-name")) == name
    assert (INFRA / "main.bicepparam").is_file()


def referenced_identifiers(root: Node) -> set[str]:
    """Identifiers used as values: not declaration names, object keys or member names."""
    used: set[str] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        parent = node.parent
        is_declared_name = parent is not None and parent.type.endswith("_declaration")
        is_declared_name = is_declared_name and parent.named_children[0] == node
        is_key = parent is not None and parent.type == "object_property"
        is_key = is_key and parent.named_children[0] == node
        if node.type == "identifier" and not (is_declared_name or is_key):
            used.add(text(node))
        stack.extend(node.named_children)
    return used


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: path.relative_to(INFRA).as_posix())
def test_every_param_and_variable_is_used(path: Path) -> None:
    root = parse_file(path)
    declared = {
        name
        for name, node in declarations(root, "parameter_declaration").items()
        if not lint_disabled(node, "no-unused-params")
    }
    declared |= set(declarations(root, "variable_declaration"))
    unused = declared - referenced_identifiers(root)
    assert not unused, f"{path.name} declares unused {unused}"


@pytest.mark.parametrize("module", ["rbac.bicep", "scheduler.bicep"])
def test_role_assignment_names_are_deterministic(module: str) -> None:
    """guid(scope, principal, role): a redeploy finds the same assignment instead of failing
    on a duplicate or piling up new ones."""
    root = parse_file(MODULES / module)
    assignments = resources(root, "Microsoft.Authorization/roleAssignments")
    assert len(assignments) >= (4 if module == "rbac.bicep" else 1)
    for node in assignments:
        name = text(lookup(body(node), "name"))
        assert re.fullmatch(r"guid\(\w+\.id, \w+, (roles\.\w+|roleId)\)", name), name
