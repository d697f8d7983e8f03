"""Audit and protection: Key Vault's and storage's logs reach the Log Analytics workspace, delete
locks guard production's task hub and vault, and alerts fire on failed orchestrations and on Key
Vault refusing a caller.

API versions: the ones test_api_versions.py pins (and says where they were checked)."""

from __future__ import annotations

import re

from tree_sitter import Node

from tests.infra.bicep_tree import (
    INFRA,
    bicepparam_assignments,
    body,
    declarations,
    literal,
    lookup,
    params,
    parse_file,
    properties,
    resources,
    text,
)
from tests.infra.test_api_versions import API_VERSIONS
from tests.infra.test_bicep_structure import MAIN, MODULES, main_modules

DIAGNOSTICS = MODULES / "diagnostics.bicep"
LOCKS = MODULES / "locks.bicep"
ALERTS = MODULES / "alerts.bicep"


def api_version(node: Node) -> str:
    return str(literal(node.named_children[1])).split("@")[1]


def existing_parents(root: Node) -> dict[str, str]:
    """Symbolic name of each `existing` resource -> its resource type."""
    found = {}
    for node in root.named_children:
        if node.type == "resource_declaration" and any(c.type == "existing" for c in node.children):
            found[text(node.named_children[0])] = str(literal(node.named_children[1])).split("@")[0]
    return found


def log_categories(setting: Node) -> set[str]:
    """The categories a diagnostic setting enables, through a `for` over a list variable."""
    root = parse_file(DIAGNOSTICS)
    logs = lookup(body(setting), "properties.logs")
    variables = declarations(root, "variable_declaration")
    found = set()
    for match in re.finditer(r"category: '(\w+)'|for category in (\w+)", text(logs)):
        if match.group(1):
            found.add(match.group(1))
        else:
            items = variables[match.group(2)].named_children[-1].named_children
            found |= {str(literal(item)) for item in items}
    return found


def test_vault_and_every_storage_service_log_to_the_workspace() -> None:
    root = parse_file(DIAGNOSTICS)
    scopes = existing_parents(root)
    settings = {
        scopes[text(lookup(body(node), "scope"))]: node
        for node in resources(root, "Microsoft.Insights/diagnosticSettings")
    }
    assert set(settings) == {
        "Microsoft.KeyVault/vaults",
        "Microsoft.Storage/storageAccounts/blobServices",
        "Microsoft.Storage/storageAccounts/queueServices",
        "Microsoft.Storage/storageAccounts/tableServices",
    }
    for node in settings.values():
        assert api_version(node) == API_VERSIONS["Microsoft.Insights/diagnosticSettings"]
        assert text(lookup(body(node), "properties.workspaceId")) == "workspaceId"
    assert log_categories(settings["Microsoft.KeyVault/vaults"]) == {"AuditEvent"}
    changes = {"StorageWrite", "StorageDelete"}
    for service in ("queueServices", "tableServices"):
        # Reads there are the task hub polling its queues and tables: changes only.
        assert log_categories(settings[f"Microsoft.Storage/storageAccounts/{service}"]) == changes
    blob = settings["Microsoft.Storage/storageAccounts/blobServices"]
    assert log_categories(blob) == changes | {"StorageRead"}
    _, passed = main_modules()["diagnostics"]
    assert text(passed["workspaceId"]) == "monitoring.outputs.workspaceId"


def test_production_storage_and_vault_cannot_be_deleted() -> None:
    root = parse_file(LOCKS)
    scopes = existing_parents(root)
    locked = {}
    for node in resources(root, "Microsoft.Authorization/locks"):
        assert api_version(node) == API_VERSIONS["Microsoft.Authorization/locks"]
        lock = body(node)
        locked[scopes[text(lookup(lock, "scope"))]] = literal(lookup(lock, "properties.level"))
    assert locked == {
        "Microsoft.Storage/storageAccounts": "CanNotDelete",
        "Microsoft.KeyVault/vaults": "CanNotDelete",
    }
    module = declarations(parse_file(MAIN), "module_declaration")["locks"]
    assert "if (protectFromDeletion)" in text(module)
    assert literal(params(parse_file(MAIN))["protectFromDeletion"].default) is False
    assert literal(bicepparam_assignments(INFRA / "prod.bicepparam")["protectFromDeletion"]) is True
    assert "protectFromDeletion" not in bicepparam_assignments(INFRA / "dev.bicepparam")


def alert_rules() -> dict[str, dict[str, Node]]:
    root = parse_file(ALERTS)
    variables = declarations(root, "variable_declaration")
    rules = {}
    for item in variables["alerts"].named_children[-1].named_children:
        rule = properties(item)
        query = variables[text(rule["query"])].named_children[-1]
        rules[str(literal(rule["name"]))] = {**rule, "query": query}
    return rules


def test_both_alerts_query_the_workspace_every_five_minutes() -> None:
    root = parse_file(ALERTS)
    (rule,) = resources(root, "Microsoft.Insights/scheduledQueryRules")
    assert api_version(rule) == API_VERSIONS["Microsoft.Insights/scheduledQueryRules"]
    rule = body(rule)
    assert text(lookup(rule, "properties.scopes")).split() == ["[", "workspaceId", "]"]
    assert literal(lookup(rule, "properties.evaluationFrequency")) == "PT5M"
    (criterion,) = lookup(rule, "properties.criteria.allOf").named_children
    assert literal(lookup(criterion, "operator")) == "GreaterThan"
    assert literal(lookup(criterion, "threshold")) == 0
    assert set(alert_rules()) == {"failed-orchestrations", "key-vault-refusals"}
    _, passed = main_modules()["alerts"]
    assert text(passed["workspaceId"]) == "monitoring.outputs.workspaceId"
    assert text(passed["emailAddress"]) == "alertEmailAddress"


def test_failed_orchestrations_are_found_by_the_extensions_tracking_event() -> None:
    """EndToEndTraceHelper.FunctionFailed logs "{instanceId}: Function '{functionName}
    ({functionType})' failed ... State: {state}" under Host.Triggers.DurableTask; the Functions
    host stores each template value as a prop__<name> property of the trace."""
    query = text(alert_rules()["failed-orchestrations"]["query"])
    assert "AppTraces" in query
    assert 'tostring(Properties.Category) == "Host.Triggers.DurableTask"' in query
    assert 'tostring(Properties.prop__functionType) == "Orchestrator"' in query
    assert 'tostring(Properties.prop__state) == "Failed"' in query
    host = (INFRA.parent / "host.json").read_text()
    assert '"Host.Triggers.DurableTask": "Information"' in host


def test_key_vault_alert_counts_refusals_not_the_401_challenge() -> None:
    """Key Vault clients send a first request without a token and get 401 with the challenge;
    only 403 means the vault refused the caller."""
    query = text(alert_rules()["key-vault-refusals"]["query"])
    assert 'ResourceProvider == "MICROSOFT.KEYVAULT" and Category == "AuditEvent"' in query
    assert "httpStatusCode_d == 403" in query
    assert "401" not in query
