"""The task hub's shape in host.json: settings fixed when a task hub is created are chosen on
purpose, and host.json names no backend, so app settings pick Azure Storage or the Durable Task
Scheduler without a second host.json."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.infra.bicep_tree import body, declarations, lookup, parse_file, text
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
