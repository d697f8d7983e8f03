"""Every resource in infra/ is declared with the API version chosen for its type: the newest
generally available one the pinned Bicep compiler knows, never a preview (one exception, with
its reason), and one version per type across the files.

Source checked: github.com/Azure/bicep-types-az, generated/<provider>/<namespace>/<version>/
types.json, at commit 127544984 ("Update types from azure-rest-api-specs e03e8c1a6e", package
Azure.Bicep.Types.Az 0.2.896). That package is the one Bicep v0.46.1, the newest release in the
Bicep repository's history at the time, compiles against, so the pinned v0.47.16 knows every
version here; a version it does not know would be a BCP081 warning, which fails CI's build. For
each type the newest folder without "-preview" was taken, and each property the templates set
was looked up in that version's types.json. Newer versions generated since (Microsoft.Network
2025-09-01, Microsoft.OperationalInsights 2026-03-01) wait for a Bicep release that ships them.
"""

from __future__ import annotations

from collections import defaultdict

from tree_sitter import Node

from tests.infra.bicep_tree import (
    INFRA,
    body,
    literal,
    lookup,
    parse_file,
    properties,
    resources,
    text,
)

TEMPLATES = sorted(INFRA.rglob("*.bicep"))

API_VERSIONS = {
    "Microsoft.Authorization/locks": "2020-05-01",  # the only GA version
    "Microsoft.Authorization/roleAssignments": "2022-04-01",
    "Microsoft.DurableTask/schedulers": "2026-02-01",
    "Microsoft.DurableTask/schedulers/taskHubs": "2026-02-01",
    "Microsoft.Insights/actionGroups": "2023-01-01",  # newer ones are previews
    "Microsoft.Insights/components": "2020-02-02",
    "Microsoft.Insights/diagnosticSettings": "2021-05-01-preview",  # see PREVIEWS
    "Microsoft.Insights/scheduledQueryRules": "2026-03-01",
    "Microsoft.KeyVault/vaults": "2026-02-01",
    "Microsoft.ManagedIdentity/userAssignedIdentities": "2024-11-30",
    "Microsoft.Network/networkSecurityGroups": "2025-07-01",
    "Microsoft.Network/privateDnsZones": "2024-06-01",
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks": "2024-06-01",
    "Microsoft.Network/privateEndpoints": "2025-07-01",
    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups": "2025-07-01",
    "Microsoft.Network/virtualNetworks": "2025-07-01",
    "Microsoft.OperationalInsights/workspaces": "2025-07-01",
    "Microsoft.Storage/storageAccounts": "2026-04-01",
    "Microsoft.Storage/storageAccounts/blobServices": "2026-04-01",
    "Microsoft.Storage/storageAccounts/blobServices/containers": "2026-04-01",
    "Microsoft.Storage/storageAccounts/queueServices": "2026-04-01",
    "Microsoft.Storage/storageAccounts/tableServices": "2026-04-01",
    "Microsoft.Web/serverfarms": "2025-03-01",
    "Microsoft.Web/sites": "2025-03-01",
    "Microsoft.Web/sites/basicPublishingCredentialsPolicies": "2025-03-01",
    "Microsoft.Web/sites/config": "2025-03-01",
}

# The previews allowed, and why. Named diagnostic settings exist only in previews: the GA
# versions of Microsoft.Insights/diagnosticSettings (2015-07-01, 2016-09-01) are the legacy
# single setting whose name must be 'service' and which takes a location (their types.json).
PREVIEWS = {"Microsoft.Insights/diagnosticSettings"}


def declared_versions() -> dict[str, dict[str, set[str]]]:
    """Resource type -> API version -> the files that declare it (new or `existing`)."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in TEMPLATES:
        stack = [parse_file(path)]
        while stack:
            node = stack.pop()
            if node.type == "resource_declaration":
                declared = literal(node.named_children[1])
                assert isinstance(declared, str), f"{path.name}: {text(node)[:60]!r}"
                kind, _, version = declared.partition("@")
                found[kind][version].add(path.relative_to(INFRA).as_posix())
            stack.extend(node.named_children)
    return found


def test_every_resource_is_declared_with_an_api_version() -> None:
    versions = declared_versions()
    assert len(versions) > 20
    for kind, by_version in versions.items():
        assert "" not in by_version, f"{kind} has no API version"


def test_no_api_version_is_a_preview() -> None:
    previews = {
        kind
        for kind, by_version in declared_versions().items()
        if any("preview" in version for version in by_version)
    }
    assert previews == PREVIEWS
    assert {kind for kind, version in API_VERSIONS.items() if "preview" in version} == PREVIEWS


def test_each_resource_type_uses_the_version_chosen_for_it() -> None:
    """A new resource type is added to API_VERSIONS on purpose, after the same check."""
    declared = {kind: set(by_version) for kind, by_version in declared_versions().items()}
    assert declared == {kind: {version} for kind, version in API_VERSIONS.items()}


def test_one_version_per_resource_type_across_files() -> None:
    """The same type at two versions (an `existing` reference in one module and the
    declaration in another) would read properties under two schemas."""
    mixed = {
        kind: {version: sorted(files) for version, files in by_version.items()}
        for kind, by_version in declared_versions().items()
        if len(by_version) > 1
    }
    assert mixed == {}


def subnets() -> dict[str, Node]:
    root = parse_file(INFRA / "modules" / "network.bicep")
    (vnet,) = resources(root, "Microsoft.Network/virtualNetworks")
    declared = lookup(body(vnet), "properties.subnets")
    return {str(literal(lookup(item, "name"))): item for item in declared.named_children}


def test_the_subnets_say_whether_they_reach_the_internet() -> None:
    """From Microsoft.Network 2025-07-01 a new subnet is private (no default outbound access)
    unless defaultOutboundAccess says otherwise. The app's subnet keeps the outbound access the
    earlier API versions gave it (partners and Entra ID are on the internet and the VNet has no
    NAT gateway); the private endpoints' subnet needs none."""
    found = subnets()
    assert set(found) == {"app", "private-endpoints"}
    assert literal(lookup(found["app"], "properties.defaultOutboundAccess")) is True
    endpoints = lookup(found["private-endpoints"], "properties.defaultOutboundAccess")
    assert literal(endpoints) is False
    assert "'Microsoft.App/environments'" in text(properties(found["app"])["properties"])
