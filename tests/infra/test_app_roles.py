"""The app registration's roles come from domain/access.py through scripts/app_roles.py, the
file docs/deploy.md feeds to `az ad app create --app-roles`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from domain.access import Role

ROOT = Path(__file__).resolve().parents[2]


def printed() -> list[dict]:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "app_roles.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(run.stdout)


def test_every_role_becomes_an_app_role_with_a_stable_id() -> None:
    roles = printed()
    assert [role["value"] for role in roles] == [role.value for role in Role]
    assert all(role["isEnabled"] and role["description"] for role in roles)
    assert len({role["id"] for role in roles}) == len(roles)
    assert [role["id"] for role in printed()] == [role["id"] for role in roles]


def test_only_applications_are_carriers_and_only_people_certify_aircraft() -> None:
    members = {role["value"]: role["allowedMemberTypes"] for role in printed()}
    assert members["Shipments.Carrier"] == ["Application"]
    assert members["Maintenance.CertifyingInspector"] == ["User"]
    assert members["Claims.Supervisor"] == ["User", "Application"]
