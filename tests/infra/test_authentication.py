"""Who may call the app in Azure: the settings that make identity come from sign-in alone."""

from __future__ import annotations

from tests.infra.bicep_tree import literal, properties
from tests.infra.test_bicep_structure import platform_settings


def test_the_actor_field_is_off_in_azure_whatever_the_caller_passes() -> None:
    """The app module sets ACCEPT_ACTOR_FIELD among its platform settings, which win over the
    app settings main.bicep passes (union(appSettings, platformSettings))."""
    assert literal(properties(platform_settings())["ACCEPT_ACTOR_FIELD"]) == "false"
