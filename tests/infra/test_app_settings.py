"""local.settings.json.example is how a developer learns the app's settings: it must list every
setting the code reads, and hold nothing secret."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path

import adapters.partners

ROOT = Path(__file__).resolve().parents[2]
CODE = ["activities", "adapters", "api", "domain", "entities", "orchestrators"]
READ = re.compile(r"""settings\.(?:get|number)\(\s*["']([A-Z][A-Z0-9_]+)["']""")
CONSTANT = re.compile(r"""^[A-Z_]*SETTING\s*=\s*["']([A-Z][A-Z0-9_]+)["']""", re.MULTILINE)


def settings_read_by_code() -> set[str]:
    names = set()
    for folder in CODE:
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            names |= set(READ.findall(text)) | set(CONSTANT.findall(text))
    for module in pkgutil.iter_modules(adapters.partners.__path__):
        partner = getattr(
            importlib.import_module(f"adapters.partners.{module.name}"), "PARTNER", None
        )
        if partner:
            names.add(f"{partner.upper()}_BASE_URL")
    return names


def example() -> dict[str, str]:
    return json.loads((ROOT / "local.settings.json.example").read_text())["Values"]


def test_every_setting_the_code_reads_is_listed():
    read = settings_read_by_code()
    assert {"AUTO_APPROVAL_LIMIT", "FRAUD_THRESHOLD", "PAYMENTS_BASE_URL"} <= read
    assert read - set(example()) == set()


def test_the_example_holds_no_secret():
    for name, value in example().items():
        if (
            re.search(r"KEY|SECRET|PASSWORD|TOKEN|CONNECTION_STRING", name)
            and name != "KEY_VAULT_URL"
        ):
            assert value == "", f"{name} must stay empty in the example"
        assert "AccountKey=" not in value and "InstrumentationKey=" not in value
