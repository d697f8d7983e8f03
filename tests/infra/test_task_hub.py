"""The task hub's shape in host.json: settings fixed when a task hub is created are chosen on
purpose, and host.json names no backend, so app settings pick Azure Storage or the Durable Task
Scheduler without a second host.json."""

from __future__ import annotations

import json
import re
from typing import Any

from tree_sitter import Node

from tests.infra.bicep_tree import (
    body,
    declarations,
    find_property,
    leading,
    literal,
    lookup,
    params,
    parse_file,
    properties,
    resources,
    text,
)
from tests.infra.test_api_versions import API_VERSIONS
from tests.infra.test_bicep_structure import (
    MAIN,
    MODULES,
    backend_settings,
    main_app_settings,
    main_modules,
)
from tests.infra.test_workflows import ROOT

GUIDE = (ROOT / "docs" / "deploy.md").read_text()


def durable_task() -> dict[str, Any]:
    return json.loads((ROOT / "host.json").read_text())["extensions"]["durableTask"]


def test_partition_count_is_the_most_azure_storage_allows() -> None:
    """Azure Storage splits a task hub into partitionCount control queues, each leased by one
    instance at a time; the count cannot change once the hub exists, and 16 is the most the
    provider accepts (AzureStorageOptions.Validate in azure-functions-durable-extension:
    "PartitionCount must be an integer value between 1 and 16")."""
    assert durable_task()["storageProvider"]["partitionCount"] == 16


def test_host_json_leaves_the_backend_to_the_app_settings() -> None:
    """DurableTaskExtension.GetDurabilityProviderFactory picks the provider by
    storageProvider.type and uses Azure Storage when it is absent; the Bicep sets it through
    an AzureFunctionsJobHost__ app setting when the Durable Task Scheduler is chosen."""
    assert "type" not in durable_task()["storageProvider"]


def test_the_guide_says_why_partition_count_is_16() -> None:
    """The reason sits in a comment beside the setting, in the guide's copy of host.json."""
    blocks = re.findall(r"```jsonc\n(.*?)```", GUIDE, re.DOTALL)
    (block,) = [block for block in blocks if '"partitionCount": 16' in block]
    comment = " ".join(re.findall(r"// (.*)", block))
    assert "16 instances share orchestration work" in comment
    assert "fixed when the task hub is created" in comment


def seconds(timespan: str) -> int:
    hours, minutes, secs = (int(part) for part in timespan.split(":"))
    return hours * 3600 + minutes * 60 + secs


FLEX_GUIDANCE = (
    "https://learn.microsoft.com/azure/azure-functions/durable/"
    "durable-functions-azure-storage-provider#flex-consumption-plan"
)


def test_durable_functions_follow_microsofts_flex_consumption_advice() -> None:
    """Microsoft's Azure Storage provider guide, "Flex Consumption plan": one always-ready
    instance for the `durable` group, and a queue polling interval of 10 seconds or less (the
    default is 30). Both are applied, and the guide says why and at what cost."""
    polling = durable_task()["storageProvider"]["maxQueuePollingInterval"]
    assert seconds(polling) <= 10
    blocks = re.findall(r"```jsonc\n(.*?)```", GUIDE, re.DOTALL)
    (block,) = [block for block in blocks if '"partitionCount": 16' in block]
    assert f'"maxQueuePollingInterval": "{polling}"' in block

    functionapp = parse_file(MODULES / "functionapp.bicep")
    single_zone = declarations(functionapp, "variable_declaration")["singleZoneAlwaysReady"]
    (group,) = single_zone.named_children[-1].named_children
    assert literal(lookup(group, "name")) == "durable"
    assert literal(lookup(group, "instanceCount")) == 1

    start = GUIDE.index("### Durable Functions on Flex Consumption")
    section = " ".join(GUIDE[start : GUIDE.index("\n### ", start + 1)].split())
    assert FLEX_GUIDANCE in section
    assert "One always-ready instance for the `durable` group" in section
    assert "`maxQueuePollingInterval` of 10 seconds" in section


def test_the_bicep_carries_the_orchestration_version_host_json_declares() -> None:
    """defaultVersion is stamped on every new instance (Learn, "Orchestration versioning in
    Durable Functions"); main.bicep reads it from host.json instead of repeating it, tags the
    Function App with it and outputs it, so a deployment says which version it runs. The
    orchestrators compare versions as major.minor numbers (orchestrators.common)."""
    root = parse_file(ROOT / "infra" / "main.bicep")
    declared = text(
        declarations(root, "variable_declaration")["workflowVersion"].named_children[-1]
    )
    source, path = re.fullmatch(r"loadJsonContent\('([^']+)'\)\.([\w.]+)", declared).groups()
    loaded: Any = json.loads((ROOT / "infra" / source).read_text())
    for key in path.split("."):
        loaded = loaded[key]
    assert loaded == durable_task()["defaultVersion"]
    assert re.fullmatch(r"\d+\.\d+", loaded)
    app_tags = text(
        lookup(body(declarations(root, "module_declaration")["functionApp"]), "params.tags")
    )
    assert "'workflow-version': workflowVersion" in app_tags
    assert "workflowVersion" in declarations(root, "output_declaration")


# The Durable Task Scheduler backend ----------------------------------------------------------

SCHEDULER = MODULES / "scheduler.bicep"
DATA_CONTRIBUTOR = "0ad04412-c4d5-4796-b79c-f76d14c8d402"  # Durable Task Data Contributor
API = API_VERSIONS["Microsoft.DurableTask/schedulers"]  # test_api_versions.py says why


def resource_type(node: Node) -> str | int | bool | None:
    return literal(node.named_children[1])


def decorator_text(declaration: Node) -> str:
    return " ".join(text(node) for node in leading(declaration) if node.type == "decorators")


def test_the_backend_is_a_choice_that_defaults_to_azure_storage() -> None:
    backend = params(parse_file(MAIN))["durableBackend"]
    assert literal(backend.default) == "AzureStorage"
    assert "'AzureStorage'" in decorator_text(backend.declaration)
    assert "'DurableTaskScheduler'" in decorator_text(backend.declaration)
    module = declarations(parse_file(MAIN), "module_declaration")["scheduler"]
    assert "if (durableBackend == 'DurableTaskScheduler')" in text(module)
    _, passed = main_modules()["functionApp"]
    assert text(passed["durableTaskSchedulerEndpoint"]) == (
        "durableBackend == 'DurableTaskScheduler' ? scheduler!.outputs.endpoint : ''"
    )


def test_the_scheduler_holds_the_task_hub_host_json_names() -> None:
    root = parse_file(SCHEDULER)
    (scheduler,) = resources(root, "Microsoft.DurableTask/schedulers")
    (task_hub,) = resources(root, "Microsoft.DurableTask/schedulers/taskHubs")
    assert resource_type(scheduler) == f"Microsoft.DurableTask/schedulers@{API}"
    assert resource_type(task_hub) == f"Microsoft.DurableTask/schedulers/taskHubs@{API}"
    assert text(lookup(body(task_hub), "parent")) == "scheduler"
    assert text(lookup(body(task_hub), "name")) == "taskHubName"
    # The same name the app's TASKHUB_NAME carries, which host.json's hubName reads.
    _, passed = main_modules()["scheduler"]
    assert text(passed["taskHubName"]) == "taskHubName"
    assert text(find_property(main_app_settings(), "TASKHUB_NAME")) == "taskHubName"
    assert durable_task()["hubName"] == "%TASKHUB_NAME%"


def test_the_ip_allow_list_can_never_be_empty() -> None:
    """An empty ipAllowlist makes the scheduler refuse every caller, the app included."""
    root = parse_file(SCHEDULER)
    (scheduler,) = resources(root, "Microsoft.DurableTask/schedulers")
    assert text(lookup(body(scheduler), "properties.ipAllowlist")) == "ipAllowlist"
    for path, name in [(SCHEDULER, "ipAllowlist"), (MAIN, "schedulerIpAllowlist")]:
        declared = params(parse_file(path))[name]
        assert "@minLength(1)" in decorator_text(declared.declaration), path.name
    default = params(parse_file(MAIN))["schedulerIpAllowlist"].default
    assert [literal(item) for item in default.named_children] == ["0.0.0.0/0"]


def test_the_app_identity_is_durable_task_data_contributor_on_its_task_hub() -> None:
    root = parse_file(SCHEDULER)
    (assignment,) = resources(root, "Microsoft.Authorization/roleAssignments")
    assignment = body(assignment)
    assert text(lookup(assignment, "scope")) == "taskHub"
    assert text(lookup(assignment, "properties.principalId")) == "principalId"
    assert literal(lookup(assignment, "properties.principalType")) == "ServicePrincipal"
    roles = declarations(root, "variable_declaration")["roles"].named_children[-1]
    assert literal(find_property(roles, "durableTaskDataContributor")) == DATA_CONTRIBUTOR
    assert "roles.durableTaskDataContributor" in text(
        lookup(assignment, "properties.roleDefinitionId")
    )
    _, passed = main_modules()["scheduler"]
    assert text(passed["principalId"]) == "identity.outputs.principalId"


def test_the_app_settings_select_the_scheduler_with_the_managed_identity() -> None:
    settings = {key: value for key, value in properties(backend_settings()).items()}
    provider = "AzureFunctionsJobHost__extensions__durableTask__storageProvider__"
    assert literal(settings[f"{provider}type"]) == "azureManaged"
    connection_name = literal(settings[f"{provider}connectionStringName"])
    assert connection_name == "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"
    assert text(settings[connection_name]) == (
        "'Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;"
        "ClientID=${identityClientId}'"
    )
    root = parse_file(MODULES / "functionapp.bicep")
    chosen = declarations(root, "variable_declaration")["durableTaskSchedulerSettings"]
    assert text(chosen.named_children[-1]) == (
        "empty(durableTaskSchedulerEndpoint) ? {} : schedulerSettings"
    )
    merged = text(declarations(root, "variable_declaration")["settings"].named_children[-1])
    assert merged == "union(appSettings, platformSettings, durableTaskSchedulerSettings)"


def test_the_guide_compares_the_backends_with_microsofts_figures() -> None:
    section = GUIDE[GUIDE.index("### Choosing the task hub backend") :][:6000]
    for figure in ("~250", "~1,400", "2,000 actions per second", "500 actions per second"):
        assert figure in section, figure
    assert "durableBackend=DurableTaskScheduler" in section
