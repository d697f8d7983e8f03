"""One set of app settings, three places: what the code reads, what local.settings.json.example
lists for a developer, and what the Bicep sets in Azure. Beyond the settings the platform itself
reads, the three must be the same set, and the example holds nothing secret."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path

import adapters.partners
from tests.infra.bicep_tree import object_keys
from tests.infra.test_bicep_structure import (
    backend_settings,
    main_app_settings,
    platform_settings,
)

ROOT = Path(__file__).resolve().parents[2]
CODE = ["activities", "adapters", "api", "domain", "entities", "jobs", "orchestrators"]
READ = re.compile(r"""settings\.(?:get|number)\(\s*["']([A-Z][A-Z0-9_]+)["']""")
CONSTANT = re.compile(r"""^[A-Z_]*SETTING\s*=\s*["']([A-Z][A-Z0-9_]+)["']""", re.MULTILINE)
HOST_REFERENCE = re.compile(r"%([A-Za-z][A-Za-z0-9_]*)%")

# Read by the Functions host and the Azure SDKs rather than by the app's code: the local host
# takes a connection string and a worker runtime, Azure an identity-based storage connection.
PLATFORM = {
    "FUNCTIONS_WORKER_RUNTIME",
    "AzureWebJobsStorage",
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "AZURE_CLIENT_ID",
    # The Durable Task Scheduler backend: the host reads host.json's storageProvider through
    # AzureFunctionsJobHost__ settings, and the extension the connection string they name.
    "DURABLE_TASK_SCHEDULER_CONNECTION_STRING",
    "AzureFunctionsJobHost__extensions__durableTask__storageProvider__type",
    "AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName",
}


# Injected by App Service into every app's environment (the app reads them to know it runs in
# Azure and that App Service Authentication is on: api/identity.py); nobody sets them.
INJECTED = {"WEBSITE_SITE_NAME", "WEBSITE_AUTH_ENABLED"}


def partners() -> set[str]:
    """The PARTNER name of every partner module (each reads <PARTNER>_BASE_URL)."""
    found = set()
    for module in pkgutil.iter_modules(adapters.partners.__path__):
        partner = getattr(
            importlib.import_module(f"adapters.partners.{module.name}"), "PARTNER", None
        )
        if partner:
            found.add(partner)
    return found


def settings_read_by_code() -> set[str]:
    names = set()
    for folder in CODE:
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            names |= set(READ.findall(text)) | set(CONSTANT.findall(text))
    names |= {f"{partner.upper()}_BASE_URL" for partner in partners()}
    names |= set(HOST_REFERENCE.findall((ROOT / "host.json").read_text()))
    return names - INJECTED


def example() -> dict[str, str]:
    return json.loads((ROOT / "local.settings.json.example").read_text())["Values"]


def set_by_bicep() -> set[str]:
    """Keys of the platform and backend settings in the app module plus the app settings
    main.bicep passes."""
    keys = object_keys(platform_settings()) | object_keys(backend_settings())
    return keys | object_keys(main_app_settings())


def test_the_scan_finds_settings_read_in_every_way():
    read = settings_read_by_code()
    assert not INJECTED & (set(example()) | set_by_bicep())  # the platform's alone
    # settings.get / settings.number, a *_SETTING constant, a partner's base URL, host.json
    assert {"FRAUD_THRESHOLD", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"} <= read
    assert {"PAYMENTS_BASE_URL", "TASKHUB_NAME"} <= read


def test_the_example_lists_exactly_what_the_code_reads():
    assert set(example()) - PLATFORM == settings_read_by_code()


def test_bicep_sets_exactly_what_the_code_reads():
    assert set_by_bicep() - PLATFORM == settings_read_by_code()


def test_platform_settings_are_set_somewhere_and_not_read_by_the_code():
    assert (set(example()) | set_by_bicep()) - settings_read_by_code() == PLATFORM


def test_the_example_holds_no_secret():
    for name, value in example().items():
        if (
            re.search(r"KEY|SECRET|PASSWORD|TOKEN|CONNECTION_STRING", name)
            and name != "KEY_VAULT_URL"
        ):
            assert value == "", f"{name} must stay empty in the example"
        assert "AccountKey=" not in value and "InstrumentationKey=" not in value
