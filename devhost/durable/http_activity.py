"""`context.call_http` as the Durable extension records it: the built-in HTTP activity's name,
the request its TaskScheduled event stores and the response its TaskCompleted carries
(azure-functions-durable-extension 2.13.7, 2024-10-23).

The SDK sends a CallHttp action (actionType 8) whose `httpRequest` holds method, uri, content,
headers and tokenSource. OutOfProcOrchestrationShim.InvokeAPIFromAction reads it into a
DurableHttpRequest and calls DurableOrchestrationContext.CallHttpAsync, which schedules the
activity `BuiltIn::HttpActivity` (HttpOptions.HttpTaskActivityReservedName) with the request as
its one parameter: DurableTask stores the parameters array, `[request]`, as Newtonsoft writes
DurableHttpRequest (its properties in declaration order, headers through HttpHeadersConverter,
the token source through TokenSourceConverter). TaskHttpActivityShim answers with
DurableHttpResponse as JSON: `{"statusCode", "headers", "content"}`, which the SDK hands the
orchestrator as a dict.

The SDK's request has no `asynchronousPatternEnabled`, `timeout` or `retryOptions`. Newtonsoft
gives a constructor argument missing from the JSON its type's default (Newtonsoft.Json
JsonSerializerInternalReader.CreateObjectUsingCreatorWithParameters, then
ExpressionReflectionDelegateFactory: `default(bool)`), not the constructor's `= true`, so for a
Python app the extension never polls a 202: the orchestrator gets the 202 itself, with its
`Location` and `Retry-After` headers (azure-functions-durable-python issue #380, open).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

HTTP_ACTIVITY = "BuiltIn::HttpActivity"
TOKEN_SOURCE_KIND = "AzureManagedIdentity"
#: ManagedIdentityTokenSource's constructor turns these two resources into `.default` scopes.
DEFAULT_SCOPES = {
    "https://management.core.windows.net": "https://management.core.windows.net/.default",
    "https://graph.microsoft.com": "https://graph.microsoft.com/.default",
}
#: .NET's HttpContentHeaders: TaskHttpActivityShim cannot put them on the request
#: (HttpHeaders.Add refuses them), and DurableHttpResponse leaves them out of the response,
#: which it builds from HttpResponseMessage.Headers alone.
CONTENT_HEADERS = frozenset(
    {
        "allow",
        "content-disposition",
        "content-encoding",
        "content-language",
        "content-length",
        "content-location",
        "content-md5",
        "content-range",
        "content-type",
        "expires",
        "last-modified",
    }
)
#: Response headers .NET knows (System.Net.Http KnownHeaders): it names them so, whatever case
#: the server wrote them in, so an orchestrator reads `headers["Location"]` from any server.
_KNOWN_NAMES = (
    "Accept-Ranges",
    "Access-Control-Allow-Credentials",
    "Access-Control-Allow-Headers",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Origin",
    "Access-Control-Expose-Headers",
    "Access-Control-Max-Age",
    "Age",
    "Alt-Svc",
    "Cache-Control",
    "Connection",
    "Content-Security-Policy",
    "Date",
    "ETag",
    "Keep-Alive",
    "Link",
    "Location",
    "Pragma",
    "Proxy-Authenticate",
    "Referrer-Policy",
    "Refresh",
    "Retry-After",
    "Server",
    "Server-Timing",
    "Set-Cookie",
    "Strict-Transport-Security",
    "Trailer",
    "Transfer-Encoding",
    "Upgrade",
    "Vary",
    "Via",
    "Warning",
    "WWW-Authenticate",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-Powered-By",
    "X-Request-ID",
)
KNOWN_HEADERS = {name.lower(): name for name in _KNOWN_NAMES}

HeaderValues = str | list[str]


@dataclass(frozen=True)
class HttpRequest:
    """The request TaskHttpActivityShim sends, read back from the activity's input."""

    method: str
    uri: str
    headers: dict[str, list[str]]
    content: str | None
    scope: str | None  # a managed identity token's scope, when the request has a token source


def _compact(value: Any) -> str:
    """JSON as Newtonsoft writes it by default: no spaces, non-ASCII as is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def scheduled_input(sdk_request: Mapping[str, Any]) -> str:
    """The TaskScheduled Input for the SDK's `httpRequest` JSON (DurableHttpRequest.to_json)."""
    method = sdk_request.get("method")
    token = sdk_request.get("tokenSource")
    request = {
        "method": method if isinstance(method, str) else "GET",  # HttpMethodConverter
        "uri": sdk_request.get("uri"),
        "headers": _headers(sdk_request.get("headers")),
        "content": sdk_request.get("content"),
        "tokenSource": _token_source(token) if isinstance(token, Mapping) else None,
        "asynchronousPatternEnabled": False,
        "retryOptions": None,
        "timeout": None,
    }
    return _compact([request])


def _headers(given: Any) -> dict[str, HeaderValues]:
    """HttpHeadersConverter: a string is one value, an array many, anything else none; names
    ignore case (the later value wins, under the first spelling); one value is written as a
    string, any other count as an array."""
    headers: dict[str, HeaderValues] = {}
    spelling: dict[str, str] = {}
    for name, value in (given if isinstance(given, Mapping) else {}).items():
        if isinstance(value, str):
            values = [value]
        elif isinstance(value, list):
            values = [item for item in value if isinstance(item, str)]
        else:
            values = []
        headers[spelling.setdefault(name.lower(), name)] = values[0] if len(values) == 1 else values
    return headers


def _token_source(token: Mapping[str, Any]) -> dict[str, Any]:
    """TokenSourceConverter's reading and writing of a ManagedIdentityTokenSource."""
    resource = str(token.get("resource"))
    scope = DEFAULT_SCOPES.get(resource.rstrip("/"), resource)
    return {"kind": TOKEN_SOURCE_KIND, "resource": scope}


def read_request(stored: str) -> HttpRequest:
    """TaskHttpActivityShim.ReconstructDurableHttpRequest: the first element of the input."""
    request = json.loads(stored)[0]
    headers = {
        name: [value] if isinstance(value, str) else list(value)
        for name, value in request["headers"].items()
    }
    token = request.get("tokenSource")
    return HttpRequest(
        method=request["method"],
        uri=request["uri"],
        headers=headers,
        content=request.get("content"),
        scope=token["resource"] if token else None,
    )


def response_result(status: int, headers: Iterable[tuple[str, str]], content: str) -> str:
    """DurableHttpResponse as TaskHttpActivityShim returns it: the status as a number, the
    response's own headers (content headers left out) with one entry per name, and the body
    as text."""
    grouped: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        if key in CONTENT_HEADERS:
            continue
        grouped.setdefault(spelling.setdefault(key, KNOWN_HEADERS.get(key, name)), []).append(value)
    shaped = {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}
    return _compact({"statusCode": status, "headers": shaped, "content": content})
