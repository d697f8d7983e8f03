"""What a failed partner call may say about itself in history and logs: little, and nothing secret.

A partner's error body is the partner's to write: some echo the request, headers and all, so
storing it would put our API key into the task hub and the logs. A failure is described by
the HTTP status, the partner's own error code when it gives one, and a short message taken
from a known field of its JSON body with anything that looks like a credential blanked out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests

MAX_MESSAGE = 120
"""Characters of the partner's message kept: enough to tell errors apart, too few to leak much."""

REDACTED = "[redacted]"
_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_CREDENTIAL = re.compile(
    r"(?i)\b(x-api-key|api[_-]?key|authorization|bearer|token|secret|password|signature|sig)"
    r"""(["']?\s*[:=]?\s*["']?)(?:(?:bearer|basic)\s+)?[^\s"',;&}]+"""
)
_OPAQUE = re.compile(r"[A-Za-z0-9+/_=-]{24,}")


def describe(response: requests.Response, secrets: Iterable[str | None] = ()) -> str:
    """`<status>[ <code>][: <message>]` for a failed response, safe to store and log."""
    body = _json(response)
    code = _first_text(body, ("code",), ("errorCode",), ("error", "code"), ("error",))
    message = _first_text(body, ("message",), ("error", "message"), ("detail",), ("title",))
    parts = [str(response.status_code)]
    if code and _CODE.fullmatch(code):
        parts.append(code)
    described = " ".join(parts)
    cleaned = redact(message or response.reason or "", secrets)
    return f"{described}: {cleaned}" if cleaned else described


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` without known secret values, credential-like pairs or long opaque tokens, capped."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _CREDENTIAL.sub(lambda match: f"{match[1]}{match[2]}{REDACTED}", text)
    text = _OPAQUE.sub(REDACTED, text)
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _first_text(body: Any, *paths: tuple[str, ...]) -> str | None:
    """The first string found at one of `paths` in a JSON object (None when there is none)."""
    for path in paths:
        value = body
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None
