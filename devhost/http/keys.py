"""Function keys as the Functions host keeps them: master, a default function key and the
Durable extension's system key, stored in a file beside the task hub.

What the host answers when a key does not open a route (devhost/http/server.py follows it):

- A function's route (FunctionInvocationMiddleware.GetResultAsync): `401` with no body and no
  `WWW-Authenticate`, whatever was presented (an `UnauthorizedResult`).
- The admin API and the extensions' webhooks (`[Authorize]` policies over the ArmToken,
  WebJobsAuthLevel and Bearer schemes): when no scheme authenticated the request, a challenge,
  `401` with no body and `WWW-Authenticate: Bearer` (JwtBearerHandler.HandleChallengeAsync);
  when one did, though not to the level needed, `403` with no body (PolicyEvaluator: "If
  authentication was successful, return forbidden, otherwise challenge"). A valid key of
  another level authenticates (AuthenticationLevelHandler), and so, while App Service
  Authentication is on, does the platform's signed-in principal.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

SYSTEM_KEY = "durabletask_extension"


@dataclass(frozen=True)
class Keys:
    master: str
    function: str
    system: str
    created: bool = False

    def allows(self, given: str | None, level: str) -> bool:
        """Whether `given` opens a route of this auth level (anonymous, function, admin, system)."""
        if level == "anonymous":
            return True
        if not given:
            return False
        accepted = {self.master}
        if level == "function":
            accepted.add(self.function)
        elif level == "system":
            accepted.add(self.system)
        return any(secrets.compare_digest(given, key) for key in accepted)

    def level_of(self, given: str | None) -> str | None:
        """The level a key authenticates as (admin, function, system), None for no key."""
        if not given:
            return None
        for level, key in (("admin", self.master), ("function", self.function)):
            if secrets.compare_digest(given, key):
                return level
        return "system" if secrets.compare_digest(given, self.system) else None


def keys_path(hub: Path) -> Path:
    return hub.with_name(hub.stem + ".keys.json")


def load_or_create(path: Path) -> Keys:
    """Read the key file, creating it with fresh random keys on first use."""
    if path.exists():
        stored = json.loads(path.read_text())
        return Keys(
            stored["master"], stored["functionKeys"]["default"], stored["systemKeys"][SYSTEM_KEY]
        )
    keys = Keys(
        secrets.token_urlsafe(32),
        secrets.token_urlsafe(32),
        secrets.token_urlsafe(32),
        created=True,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "master": keys.master,
                "functionKeys": {"default": keys.function},
                "systemKeys": {SYSTEM_KEY: keys.system},
            },
            indent=2,
        )
    )
    path.chmod(0o600)
    return keys
