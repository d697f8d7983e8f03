"""Function keys as the Functions host keeps them: master, a default function key and the
Durable extension's system key, stored in a file beside the task hub."""

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
