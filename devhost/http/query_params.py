"""Query string, header and body reading for the Durable HTTP API, as HttpApiHandler reads them:
its `TryGet...QueryParameterValue` helpers skip a value that does not parse rather than refuse
the request, and paged listings carry their position in `x-ms-continuation-token`."""

from __future__ import annotations

import base64
import json
import re

from aiohttp import web

from devhost.durable.clock import from_wire, to_wire
from devhost.http.errors import HostError

WHOLE_NUMBER = re.compile(r"\s*[+-]?\d+\s*")
NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)\s*")
DEFAULT_PAGE_SIZE = 100  # OrchestrationStatusQueryCondition.PageSize, EntityQuery.PageSize
CONTINUATION = "x-ms-continuation-token"
JSON_ONLY = "Only application/json request content is supported"
#: OrchestrationRuntimeStatus by number; the names are the enum's own spelling.
STATUS_NUMBERS = {
    0: "Running",
    1: "Completed",
    2: "ContinuedAsNew",
    3: "Failed",
    4: "Canceled",
    5: "Terminated",
    6: "Pending",
    7: "Suspended",
}
STATUS_NAMES = {name: name for name in STATUS_NUMBERS.values()}


def flag(request: web.Request, name: str, default: bool) -> bool:
    """`bool.TryParse`: "true" or "false" in any case; anything else leaves the default."""
    value = request.query.get(name, "").strip().lower()
    return value == "true" if value in ("true", "false") else default


def time(request: web.Request, name: str) -> str | None:
    """A date filter; one that does not parse is ignored, as `DateTime.TryParse` lets it be."""
    value = request.query.get(name)
    if not value:
        return None
    try:
        return to_wire(from_wire(value))
    except ValueError:
        return None


def seconds(request: web.Request, name: str) -> float | None:
    """HttpApiHandler.TryGetTimeSpanQueryParameterValue: a number of seconds, or nothing."""
    value = request.query.get(name, "")
    return float(value) if NUMBER.fullmatch(value) else None


def page_size(request: web.Request) -> int:
    """`top` as `int.TryParse` reads it; anything else leaves the default page of 100."""
    value = request.query.get("top", "")
    if not WHOLE_NUMBER.fullmatch(value) or int(value) < 1:
        return DEFAULT_PAGE_SIZE
    return int(value)


def statuses(raw: str) -> tuple[str, ...]:
    """`runtimeStatus` as HttpApiHandler.TryGetIEnumerableQueryParameterValue parses it:
    comma separated, each an exact (case-sensitive) enum name or number; the rest is ignored."""
    chosen: list[str] = []
    for part in (p.strip() for p in raw.split(",")):
        number = WHOLE_NUMBER.fullmatch(part)
        status = STATUS_NUMBERS.get(int(part)) if number else STATUS_NAMES.get(part)
        if status and status not in chosen:
            chosen.append(status)
    return tuple(chosen)


def continuation(request: web.Request) -> str | None:
    """The position a previous page ended at, from the request's continuation header."""
    token = request.headers.get(CONTINUATION) or None
    if token is None:
        return None
    try:
        after = base64.urlsafe_b64decode(token.encode()).decode()
    except ValueError as problem:
        raise HostError(f"{CONTINUATION} is not valid.") from problem
    if "|" not in after:  # garbage decodes leniently; never restart at page one
        raise HostError(f"{CONTINUATION} is not valid.")
    return after.partition("|")[2]


def continuation_header(position: str) -> dict[str, str]:
    token = base64.urlsafe_b64encode(f"v1|{position}".encode()).decode()
    return {CONTINUATION: token}


async def read_json(request: web.Request, required: bool = False) -> str | None:
    """The body as JSON text, compact as the extension re-serializes a parsed body
    (MessagePayloadDataConverter.Serialize: JToken.ToString(Formatting.None)); None when
    empty; HostError(400) when it is not JSON."""
    raw = await request.read()
    if not raw.strip():
        if required:
            raise HostError(JSON_ONLY)
        return None
    try:
        return json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":"))
    except (ValueError, UnicodeDecodeError) as problem:
        raise HostError(str(problem), "Invalid JSON content") from problem
