"""Print the app roles of the Entra ID app registration, from the one place they are declared.

    python scripts/app_roles.py > app-roles.json
    az ad app create ... --app-roles @app-roles.json      (docs/deploy.md, "Sign-in and roles")

Each role of domain/access.py becomes an app role whose `value` is what the `roles` claim
carries. Ids are derived from the value, so running `az ad app update --app-roles` again
updates the same roles instead of replacing them. Who may hold a role: people, except the
carrier role (applications only) and the claims supervisor role, which an application may also
hold so the dev deployment's smoke test can decide its claim.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.access import APPLICATION_ONLY, ROLE_DESCRIPTIONS, Role

ALSO_APPLICATIONS = frozenset({Role.CLAIMS_SUPERVISOR})


def member_types(role: Role) -> list[str]:
    if role in APPLICATION_ONLY:
        return ["Application"]
    return ["User", "Application"] if role in ALSO_APPLICATIONS else ["User"]


def app_roles() -> list[dict[str, Any]]:
    """The `appRoles` of the app registration, in the Microsoft Graph shape."""
    return [
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:workflows:app-role:{role.value}")),
            "allowedMemberTypes": member_types(role),
            "description": ROLE_DESCRIPTIONS[role],
            "displayName": role.value,
            "isEnabled": True,
            "value": role.value,
        }
        for role in Role
    ]


if __name__ == "__main__":
    json.dump(app_roles(), sys.stdout, indent=2)
    print()
