"""Who may call the app in Azure: App Service Authentication with Entra ID in front of every
route, and identity taken from sign-in alone (the body's `actor` field off).

The settings follow Microsoft.Web/sites/config 'authsettingsV2': `globalValidation`
(requireAuthentication, unauthenticatedClientAction Return401, excludedPaths) and
`identityProviders.azureActiveDirectory` (registration.clientId, openIdIssuer,
validation.allowedAudiences).
"""

from __future__ import annotations

import pytest

from tests.infra.bicep_tree import (
    bicepparam_assignments,
    body,
    literal,
    lookup,
    params,
    parse_file,
    properties,
    resources,
    text,
    value,
)
from tests.infra.test_bicep_structure import (
    MODULES,
    PARAM_FILES,
    main_modules,
    platform_settings,
)

APP = MODULES / "functionapp.bicep"


def authentication():
    root = parse_file(APP)
    [config] = [
        node
        for node in resources(root, "Microsoft.Web/sites/config")
        if literal(lookup(body(node), "name")) == "authsettingsV2"
    ]
    return root, body(config)


def test_every_call_needs_an_entra_id_sign_in_and_api_calls_without_one_get_401() -> None:
    root, config = authentication()
    assert text(lookup(config, "parent")) == "app"
    expected = {
        "properties.platform.enabled": True,
        "properties.globalValidation.requireAuthentication": True,
        "properties.globalValidation.unauthenticatedClientAction": "Return401",
        "properties.httpSettings.requireHttps": True,
        "properties.identityProviders.azureActiveDirectory.enabled": True,
    }
    assert {path: value(root, lookup(config, path)) for path in expected} == expected


def test_the_app_registration_and_tenant_are_parameters() -> None:
    _, config = authentication()
    aad = lookup(config, "properties.identityProviders.azureActiveDirectory")
    assert text(lookup(aad, "registration.clientId")) == "authClientId"
    assert "${authTenantId}/v2.0" in text(lookup(aad, "registration.openIdIssuer"))
    audiences = {text(node) for node in lookup(aad, "validation.allowedAudiences").named_children}
    assert {"authClientId", "'api://${authClientId}'"} <= audiences
    _, passed = main_modules()["functionApp"]
    assert text(passed["authClientId"]) == "authClientId"
    assert text(passed["authTenantId"]) == "authTenantId"


def test_only_the_console_page_is_served_without_sign_in() -> None:
    root, config = authentication()
    excluded = lookup(config, "properties.globalValidation.excludedPaths")
    assert text(excluded) == "anonymousPaths"
    default = params(root)["anonymousPaths"].default
    assert [literal(item) for item in default.named_children] == [
        "/api/console",
        "/api/console/assets/*",
    ]


@pytest.mark.parametrize("path", PARAM_FILES, ids=lambda p: p.name)
def test_every_environment_names_its_app_registration(path) -> None:
    assigned = bicepparam_assignments(path)
    assert text(assigned["authClientId"]) == "readEnvironmentVariable('AUTH_CLIENT_ID', '')"


def test_the_actor_field_is_off_in_azure_whatever_the_caller_passes() -> None:
    """The app module sets ACCEPT_ACTOR_FIELD among its platform settings, which win over the
    app settings main.bicep passes (union(appSettings, platformSettings))."""
    assert literal(properties(platform_settings())["ACCEPT_ACTOR_FIELD"]) == "false"
