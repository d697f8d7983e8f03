"""Reading a request body strictly: JSON media type, bounded size, no duplicate keys, shallow.

Every rule here answers a client mistake with a 4xx problem instead of guessing:

- 415 unless `Content-Type` is `application/json` (a form post is not silently read as JSON);
- 413 when the body is larger than the route allows (portal actions are small; history is not
  a file store);
- 400 for a key that appears twice in one object (`{"claimId": "A", "claimId": "B"}` would
  otherwise start B) and for nesting deeper than any payload of ours (1,000 levels would raise
  RecursionError inside the parser).
"""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

from api.problems import ProblemError
from domain.views import FieldError

JSON_MEDIA_TYPE = "application/json"
MAX_BODY_BYTES = 256 * 1024
"""Default cap on a JSON body: the largest valid start (50 documents with long URLs) is ~40 KB."""

MAX_DEPTH = 32
"""Deeper than any payload model (the deepest nests four levels)."""


def read_json(req: func.HttpRequest, max_bytes: int = MAX_BODY_BYTES) -> Any:
    """The request body as JSON, or the 4xx problem that says why it is not acceptable."""
    _require_json_media_type(req)
    raw = req.get_body() or b""
    if len(raw) > max_bytes:
        raise ProblemError(
            413,
            f"The request body is {len(raw)} bytes; this route accepts at most {max_bytes}.",
            errors=[FieldError(field="body", message=f"larger than {max_bytes} bytes")],
        )
    if not raw.strip():
        raise _invalid("The request body must be a JSON object.", "missing")
    try:
        data = json.loads(raw, object_pairs_hook=_unique_keys, parse_constant=_no_constants)
    except RecursionError:
        raise _too_deep() from None
    except (ValueError, UnicodeDecodeError) as error:
        raise _invalid("The request body is not valid JSON.", str(error)) from None
    if _depth(data) > MAX_DEPTH:
        raise _too_deep()
    return data


def _require_json_media_type(req: func.HttpRequest) -> None:
    given = req.headers.get("content-type") or ""
    media_type = given.split(";", 1)[0].strip().lower()
    if media_type != JSON_MEDIA_TYPE:
        raise ProblemError(
            415,
            f"Send the body as {JSON_MEDIA_TYPE}; got {given or 'no Content-Type'}.",
            errors=[FieldError(field="Content-Type", message=f"must be {JSON_MEDIA_TYPE}")],
        )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion (the value may be deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _invalid(detail: str, message: str) -> ProblemError:
    return ProblemError(400, detail, errors=[FieldError(field="body", message=message)])


def _too_deep() -> ProblemError:
    return _invalid(
        f"The request body nests deeper than {MAX_DEPTH} levels.", f"deeper than {MAX_DEPTH}"
    )
